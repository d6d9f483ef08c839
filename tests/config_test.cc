#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "config/node_config.h"

namespace cg::config {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kNode[] = R"([node]
side = "sz"
node_id = "sz-node-1"
)";
constexpr char kSigning[] = R"(
[signing]
key_file = "keys/sz-signing.json"
)";
constexpr char kPseudonym[] = R"(
[pseudonym]
key_file = "keys/pseudonym.key"
)";
constexpr char kPublicKey[] = "YVhb4UPIBp4chNAwj2yAM+pq5RoC3C5PVgzpwnoVtpM=";

// A valid configuration with `signing_lines` added to its [signing] table and
// `tail` appended.
std::string Config(const std::string& signing_lines, const std::string& tail = "") {
  return std::string(kNode) + kSigning + signing_lines + kPseudonym + tail;
}

// The smallest valid configuration followed by `tail`.
std::string Minimal(const std::string& tail = "") { return Config("", tail); }

// The 1-based line of the first occurrence of `needle` in `text`, as a string.
std::string LineOf(const std::string& text, const std::string& needle) {
  const size_t at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  return std::to_string(1 + std::count(text.begin(), text.begin() + at, '\n'));
}

StatusOr<NodeConfig> Parse(const std::string& text) { return ParseNodeConfig(text, "node.toml"); }

// Each role name mapped to itself: [api.roles] when the file has none.
std::map<std::string, Role, std::less<>> DefaultRoles() {
  return {{"agency", Role::kAgency},
          {"firm", Role::kFirm},
          {"bank", Role::kBank},
          {"peer", Role::kPeer},
          {"operator", Role::kOperator}};
}

// Checks the code, and that the message is one line holding `expected`.
void ExpectError(const StatusOr<NodeConfig>& result, StatusCode code, const std::string& expected) {
  ASSERT_FALSE(result.ok()) << "expected an error holding: " << expected;
  EXPECT_EQ(result.status().code(), code) << result.status().ToString();
  EXPECT_THAT(result.status().message(), HasSubstr(expected));
  EXPECT_THAT(result.status().message(), Not(HasSubstr("\n")));
}

std::chrono::system_clock::time_point Utc(std::chrono::year_month_day day,
                                          std::chrono::hours hour = std::chrono::hours{0}) {
  return std::chrono::sys_days{day} + hour;
}

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/config_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = std::filesystem::path(pattern).lexically_normal();
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string Write(const std::string& name, const std::string& text) {
    const std::filesystem::path path = dir_ / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path);
    out << text;
    EXPECT_TRUE(out.flush()) << path;
    return path.string();
  }

  std::filesystem::path dir_;
};

TEST(ShippedExamplesTest, ShenzhenExampleLoads) {
  auto config = LoadNodeConfig(CG_SOURCE_DIR "/config/examples/sz-node.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->node.side, Side::kShenzhen);
  EXPECT_EQ(config->node.node_id, "sz-node-1");
  EXPECT_THAT(config->signing.key_file, EndsWith("/config/examples/keys/sz-signing.json"));
  EXPECT_TRUE(std::filesystem::path(config->signing.key_file).is_absolute());
  EXPECT_EQ(config->signing.passphrase_env, "CG_KEY_PASSPHRASE");
  EXPECT_EQ(config->signing.passphrase_file, "");
  EXPECT_EQ(config->signing.validity_days, 30);
  EXPECT_THAT(config->pseudonym.key_file, EndsWith("/config/examples/keys/pseudonym.key"));
  ASSERT_EQ(config->trust.size(), 1u);
  const TrustedNodeConfig& peer = config->trust[0];
  EXPECT_EQ(peer.node_id, "hk-node-1");
  EXPECT_EQ(peer.side, Side::kHongKong);
  EXPECT_EQ(peer.base_url, "https://hk-node-1.example.hk:8443");
  EXPECT_THAT(peer.ca_file, EndsWith("/config/examples/tls/hk-ca.pem"));
  EXPECT_THAT(peer.keys_file, EndsWith("/config/examples/trust/hk-node-1.json"));
  ASSERT_EQ(peer.keys.size(), 1u);
  EXPECT_EQ(peer.keys[0].key_id, "f84ea3a2c048b5fb08586549370952bd");
  // 2026-01-01T00:00:00+08:00 is 16:00 UTC the day before.
  using std::chrono::December;
  using namespace std::chrono_literals;
  EXPECT_EQ(peer.keys[0].not_before, Utc(2025y / December / 31, 16h));
  EXPECT_EQ(peer.keys[0].not_after, Utc(2026y / December / 31, 16h));
  EXPECT_EQ(config->log.level, LogLevel::kInfo);
  EXPECT_EQ(config->log.format, LogFormat::kText);
  EXPECT_THAT(config->store.url, StartsWith("sqlite:/"));
  EXPECT_THAT(config->store.url, EndsWith("/config/examples/node.db"));
  ASSERT_TRUE(config->api.has_value());
  EXPECT_EQ(config->api->listen.host, "127.0.0.1");
  EXPECT_EQ(config->api->listen.port, 8443);
  EXPECT_THAT(config->api->cert_file, EndsWith("/config/examples/tls/server.pem"));
  EXPECT_THAT(config->api->key_file, EndsWith("/config/examples/tls/server.key"));
  ASSERT_EQ(config->api->client_ca_files.size(), 1u);
  EXPECT_THAT(config->api->client_ca_files[0], EndsWith("/config/examples/tls/ca.pem"));
  EXPECT_EQ(config->api->threads, 2);
  EXPECT_EQ(config->api->roles, DefaultRoles());
  EXPECT_EQ(FormatListenAddress(config->admin.listen), "127.0.0.1:9464");
  // The example shows every limit at its default.
  EXPECT_EQ(config->limits, LimitsConfig());
  EXPECT_THAT(config->audit.file, EndsWith("/config/examples/audit.log"));
  EXPECT_EQ(config->policy.consent_required_purposes,
            (std::vector<std::string>{"loan-application", "credit-review"}));
  EXPECT_FALSE(config->policy.default_audience_required);
}

TEST(ShippedExamplesTest, HongKongExampleLoads) {
  auto config = LoadNodeConfig(CG_SOURCE_DIR "/config/examples/hk-node.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->node.side, Side::kHongKong);
  EXPECT_EQ(config->node.node_id, "hk-node-1");
  EXPECT_EQ(config->signing.passphrase_env, "");
  EXPECT_THAT(config->signing.passphrase_file,
              EndsWith("/config/examples/secrets/hk-signing.passphrase"));
  EXPECT_EQ(config->signing.validity_days, kDefaultValidityDays);
  EXPECT_TRUE(config->policy.consent_required_for_peers);
  EXPECT_THAT(config->peer.cert_file, EndsWith("/config/examples/tls/peer-client.pem"));
  EXPECT_EQ(config->peer.timestamp_window_seconds, 120);
  EXPECT_EQ(config->peer.sync_interval_seconds, 600);
  ASSERT_EQ(config->trust.size(), 1u);
  const TrustedNodeConfig& peer = config->trust[0];
  EXPECT_EQ(peer.node_id, "sz-node-1");
  EXPECT_EQ(peer.side, Side::kShenzhen);
  EXPECT_EQ(peer.keys_file, "");
  ASSERT_EQ(peer.keys.size(), 2u);
  using namespace std::chrono_literals;
  using std::chrono::July;
  EXPECT_EQ(peer.keys[0].not_before, Utc(2026y / July / 1));
  EXPECT_FALSE(peer.keys[0].not_after.has_value());
  EXPECT_EQ(peer.keys[1].key_id, "");
  EXPECT_EQ(peer.keys[1].not_after, Utc(2026y / July / 1));
  EXPECT_EQ(config->log.format, LogFormat::kJson);
  EXPECT_THAT(config->store.url, EndsWith("/config/examples/data/hk-node.db"));
  ASSERT_TRUE(config->api.has_value());
  EXPECT_EQ(config->api->listen.host, "::1");
  EXPECT_EQ(config->api->listen.port, 8444);
  EXPECT_EQ(config->api->client_ca_files.size(), 2u);
  EXPECT_EQ(config->api->threads, 4);
  const std::map<std::string, Role, std::less<>> roles = {{"Credit Agency", Role::kAgency},
                                                          {"Member Firm", Role::kFirm},
                                                          {"Partner Bank", Role::kBank},
                                                          {"SZ Gateway", Role::kPeer},
                                                          {"Operations", Role::kOperator}};
  EXPECT_EQ(config->api->roles, roles);
  EXPECT_EQ(config->admin.listen.port, 9465);
  EXPECT_EQ(config->limits.max_body_bytes, 262144);
  EXPECT_EQ(config->limits.client_rate_per_second, 200);
  EXPECT_EQ(config->limits.client_burst, 400);
  EXPECT_EQ(config->limits.max_header_bytes, kMaxHeaderBytesRange.default_value);
  EXPECT_THAT(config->audit.file, EndsWith("/config/examples/logs/audit.log"));
  EXPECT_EQ(config->policy.consent_required_purposes, std::vector<std::string>{"loan-application"});
  EXPECT_TRUE(config->policy.default_audience_required);
}

TEST(NodeConfigTest, MinimalConfigTakesTheDefaults) {
  auto config = Parse(Minimal());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->signing.passphrase_env, kDefaultPassphraseEnv);
  EXPECT_EQ(config->signing.passphrase_file, "");
  EXPECT_EQ(config->signing.validity_days, kDefaultValidityDays);
  EXPECT_TRUE(config->trust.empty());
  EXPECT_EQ(config->log.level, kDefaultLogLevel);
  EXPECT_EQ(config->log.format, kDefaultLogFormat);
  // Without a base directory, relative paths stay relative (to the working directory).
  EXPECT_EQ(config->signing.key_file, "keys/sz-signing.json");
  EXPECT_EQ(config->store.url, "sqlite:node.db");
  EXPECT_FALSE(config->api.has_value());
  EXPECT_EQ(config->admin.listen.host, kDefaultAdminHost);
  EXPECT_EQ(config->admin.listen.port, kDefaultAdminPort);
  EXPECT_EQ(config->limits, LimitsConfig());
  EXPECT_EQ(config->limits.max_header_bytes, 8192);
  EXPECT_EQ(config->limits.max_body_bytes, 1048576);
  EXPECT_EQ(config->limits.header_read_timeout_ms, 10000);
  EXPECT_EQ(config->limits.body_read_timeout_ms, 30000);
  EXPECT_EQ(config->limits.idle_timeout_ms, 30000);
  EXPECT_EQ(config->limits.handshake_timeout_ms, 10000);
  EXPECT_EQ(config->limits.max_connections, 1024);
  EXPECT_EQ(config->limits.max_pipelined, 16);
  EXPECT_EQ(config->limits.client_rate_per_second, 1000);
  EXPECT_EQ(config->limits.client_burst, 2000);
  EXPECT_EQ(config->limits.shutdown_grace_ms, 10000);
  EXPECT_EQ(config->audit.file, "audit.log");
  EXPECT_TRUE(config->policy.consent_required_purposes.empty());
  EXPECT_FALSE(config->policy.default_audience_required);
}

TEST(NodeConfigTest, ParseJoinsRelativePathsToTheBaseDirectory) {
  auto config = ParseNodeConfig(Minimal("[[trust]]\nnode_id = \"hk-1\"\nside = \"hk\"\n"
                                        "keys_file = \"/etc/cg/hk.json\"\n"
                                        "ca_file = \"./tls/../tls/ca.pem\"\n"),
                                "node.toml", "/srv/cg");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->signing.key_file, "/srv/cg/keys/sz-signing.json");
  EXPECT_EQ(config->trust[0].keys_file, "/etc/cg/hk.json");
  EXPECT_EQ(config->trust[0].ca_file, "/srv/cg/tls/ca.pem");
}

TEST(NodeConfigTest, NamesEachValueOfTheEnums) {
  EXPECT_EQ(SideName(Side::kShenzhen), "sz");
  EXPECT_EQ(SideName(Side::kHongKong), "hk");
  EXPECT_EQ(LogLevelName(LogLevel::kWarn), "warn");
  EXPECT_EQ(LogFormatName(LogFormat::kJson), "json");
}

TEST_F(ConfigFileTest, ResolvesRelativePathsAgainstTheConfigDirectory) {
  const std::string path = Write("etc/node.toml", Minimal());
  auto config = LoadNodeConfig(path);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->signing.key_file, (dir_ / "etc/keys/sz-signing.json").string());
  EXPECT_EQ(config->pseudonym.key_file, (dir_ / "etc/keys/pseudonym.key").string());
  // The defaults of [store] and [audit] live next to the configuration.
  EXPECT_EQ(config->store.url, "sqlite:" + (dir_ / "etc/node.db").string());
  EXPECT_EQ(config->audit.file, (dir_ / "etc/audit.log").string());
}

TEST_F(ConfigFileTest, MissingFileIsNotFoundAndNamesThePath) {
  const std::string path = (dir_ / "absent.toml").string();
  ExpectError(LoadNodeConfig(path), StatusCode::kNotFound, path);
}

TEST_F(ConfigFileTest, DirectoryIsInvalidArgument) {
  ExpectError(LoadNodeConfig(dir_.string()), StatusCode::kInvalidArgument, dir_.string());
}

TEST_F(ConfigFileTest, ErrorsNameTheFileAsGiven) {
  const std::string text = Minimal("[log]\nlevel = \"loud\"\n");
  const std::string path = Write("node.toml", text);
  ExpectError(LoadNodeConfig(path), StatusCode::kInvalidArgument,
              path + ":" + LineOf(text, "level =") + ":1: log.level");
}

TEST(NodeConfigTest, SyntaxErrorGivesTheLine) {
  const std::string text = Minimal("[log]\nlevel = \"info\ncolour = 1\n");
  ExpectError(Parse(text), StatusCode::kInvalidArgument,
              "node.toml:" + LineOf(text, "level =") + ":");
  ExpectError(Parse(text), StatusCode::kInvalidArgument, "not valid TOML");
}

TEST(NodeConfigTest, RedefinedKeyIsASyntaxError) {
  const std::string text = Minimal("[log]\nlevel = \"info\"\nlevel = \"warn\"\n");
  ExpectError(Parse(text), StatusCode::kInvalidArgument,
              "node.toml:" + LineOf(text, "level = \"warn\"") + ":");
}

TEST(NodeConfigTest, UnknownTopLevelKey) {
  const std::string text = "colour = \"red\"\n" + Minimal();
  ExpectError(Parse(text), StatusCode::kInvalidArgument, "node.toml:1:1: colour: unknown key");
  ExpectError(Parse(text), StatusCode::kInvalidArgument,
              "allowed here: node, signing, pseudonym, trust, log, store, api, admin, limits, "
              "audit, policy");
}

TEST(NodeConfigTest, NodeKeysAtTopLevelAreUnknown) {
  const std::string text = "side = \"sz\"\n" + Minimal();
  ExpectError(Parse(text), StatusCode::kInvalidArgument, "node.toml:1:1: side: unknown key");
}

TEST(NodeConfigTest, UnknownKeyInSigning) {
  const std::string bad =
      std::string(kNode) + "\n[signing]\nkey_file = \"k.json\"\nvalidity = 30\n" + kPseudonym;
  ExpectError(Parse(bad), StatusCode::kInvalidArgument,
              "node.toml:" + LineOf(bad, "validity =") + ":1: signing.validity: unknown key");
}

TEST(NodeConfigTest, UnknownKeyInDottedSubTable) {
  const std::string bad =
      std::string(kNode) + "\n[signing]\nkey_file = \"k.json\"\nhsm.slot = 1\n" + kPseudonym;
  ExpectError(Parse(bad), StatusCode::kInvalidArgument,
              "node.toml:" + LineOf(bad, "hsm.slot") + ":1: signing.hsm: unknown key");
}

TEST(NodeConfigTest, UnknownKeyInTrustKey) {
  const std::string text = Minimal(R"(
[[trust]]
node_id = "hk-node-1"
side = "hk"
keys_file = "trust/hk-node-1.json"

[[trust]]
node_id = "hk-node-2"
side = "hk"
[[trust.key]]
public_key = "YVhb4UPIBp4chNAwj2yAM+pq5RoC3C5PVgzpwnoVtpM="
  fingerprint = "ab"
)");
  ExpectError(
      Parse(text), StatusCode::kInvalidArgument,
      "node.toml:" + LineOf(text, "fingerprint") + ":3: trust[1].key[0].fingerprint: unknown key");
}

TEST(NodeConfigTest, ReportsTheFirstUnknownKeyInFileOrder) {
  const std::string text = Minimal("[log]\nzzz = 1\naaa = 2\n");
  ExpectError(Parse(text), StatusCode::kInvalidArgument,
              "node.toml:" + LineOf(text, "zzz") + ":1: log.zzz: unknown key");
}

TEST(NodeConfigTest, WrongTypeNamesTheKeyAndBothTypes) {
  const std::string text = Config("validity_days = \"thirty\"\n");
  ExpectError(Parse(text), StatusCode::kInvalidArgument,
              "node.toml:" + LineOf(text, "validity_days") +
                  ":1: signing.validity_days: must be an integer, got a string");
}

TEST(NodeConfigTest, WrongTypeForATable) {
  const std::string text = "signing = \"keys/sz.json\"\n" + std::string(kNode) + kPseudonym;
  ExpectError(Parse(text), StatusCode::kInvalidArgument,
              "node.toml:1:1: signing: must be a table ([signing]), got a string");
}

TEST(NodeConfigTest, TrustMustBeAnArrayOfTables) {
  const std::string text = Minimal("[trust]\nnode_id = \"hk-1\"\n");
  ExpectError(Parse(text), StatusCode::kInvalidArgument,
              "trust: must be an array of tables ([[trust]]), got a table");
}

TEST(NodeConfigTest, OutOfRangeNamesTheKeyAndTheRange) {
  for (const char* days : {"0", "367", "-5"}) {
    const std::string text = Config(std::string("validity_days = ") + days + "\n");
    ExpectError(Parse(text), StatusCode::kInvalidArgument,
                "node.toml:" + LineOf(text, "validity_days") +
                    ":1: signing.validity_days: must be between 1 and 366, got " + days);
  }
  for (const char* days : {"1", "366"}) {
    auto config = Parse(Config(std::string("validity_days = ") + days + "\n"));
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    EXPECT_EQ(config->signing.validity_days, std::stoi(days));
  }
}

TEST(NodeConfigTest, MissingRequiredKeyNamesItAndItsTable) {
  const std::string text = std::string("[node]\nside = \"sz\"\n") + kSigning + kPseudonym;
  ExpectError(Parse(text), StatusCode::kInvalidArgument,
              "node.toml:1:1: node.node_id: required key is missing");
}

TEST(NodeConfigTest, MissingRequiredKeyInTrustKey) {
  const std::string text =
      Minimal("[[trust]]\nnode_id = \"hk-1\"\nside = \"hk\"\n[[trust.key]]\nkey_id = \"" +
              std::string(32, 'a') + "\"\n");
  ExpectError(Parse(text), StatusCode::kInvalidArgument,
              "node.toml:" + LineOf(text, "[[trust.key]]") +
                  ":1: trust[0].key[0].public_key: required key is missing");
}

TEST(NodeConfigTest, MissingRequiredTable) {
  ExpectError(Parse(std::string(kNode) + kPseudonym), StatusCode::kInvalidArgument,
              "node.toml: signing: required table [signing] is missing");
  ExpectError(Parse(""), StatusCode::kInvalidArgument, "node: required table [node] is missing");
}

TEST(NodeConfigTest, BadSide) {
  const std::string text =
      std::string("[node]\nside = \"cn\"\nnode_id = \"sz-1\"\n") + kSigning + kPseudonym;
  ExpectError(Parse(text), StatusCode::kInvalidArgument,
              "node.toml:2:1: node.side: must be one of \"sz\", \"hk\"; got \"cn\"");
}

TEST(NodeConfigTest, BadNodeId) {
  for (const std::string& id : std::vector<std::string>{"", "SZ-1", "sz_1", std::string(65, 'a')}) {
    const std::string text =
        "[node]\nside = \"sz\"\nnode_id = \"" + id + "\"\n" + kSigning + kPseudonym;
    ExpectError(Parse(text), StatusCode::kInvalidArgument,
                "node.toml:3:1: node.node_id: must be 1 to 64 characters of a-z, 0-9 and '-'");
  }
  const std::string longest =
      "[node]\nside = \"sz\"\nnode_id = \"" + std::string(64, 'a') + "\"\n" + kSigning + kPseudonym;
  EXPECT_TRUE(Parse(longest).ok());
}

TEST(NodeConfigTest, DuplicateTrustNodeId) {
  const std::string text = Minimal(R"(
[[trust]]
node_id = "hk-node-1"
side = "hk"
keys_file = "a.json"

[[trust]]
node_id = "hk-node-1"
side = "hk"
keys_file = "b.json"
)");
  ExpectError(
      Parse(text), StatusCode::kInvalidArgument,
      "node.toml:" + LineOf(text, "node_id = \"hk-node-1\"\nside = \"hk\"\nkeys_file = \"b") +
          ":1: trust[1].node_id: \"hk-node-1\" is already trusted by trust[0]");
}

TEST(NodeConfigTest, PassphraseSources) {
  auto from_file =
      ParseNodeConfig(Config("passphrase_file = \"secrets/pass\"\n"), "node.toml", "/srv/cg");
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  EXPECT_EQ(from_file->signing.passphrase_env, "");
  EXPECT_EQ(from_file->signing.passphrase_file, "/srv/cg/secrets/pass");

  auto from_env = Parse(Config("passphrase_env = \"SZ_PASS\"\n"));
  ASSERT_TRUE(from_env.ok()) << from_env.status().ToString();
  EXPECT_EQ(from_env->signing.passphrase_env, "SZ_PASS");
  EXPECT_EQ(from_env->signing.passphrase_file, "");

  const std::string both = Config("passphrase_env = \"A\"\npassphrase_file = \"p\"\n");
  ExpectError(Parse(both), StatusCode::kInvalidArgument,
              "node.toml:" + LineOf(both, "passphrase_file") +
                  ":1: signing.passphrase_file: conflicts with signing.passphrase_env");
  ExpectError(Parse(Config("passphrase_env = \"1BAD-NAME\"\n")), StatusCode::kInvalidArgument,
              "signing.passphrase_env: must be an environment variable name");
  ExpectError(Parse(Config("passphrase_file = \"\"\n")), StatusCode::kInvalidArgument,
              "signing.passphrase_file: must be a path, got an empty string");
}

TEST(NodeConfigTest, TrustEntryNeedsAKeySource) {
  const std::string text = Minimal("[[trust]]\nnode_id = \"hk-1\"\nside = \"hk\"\n");
  ExpectError(Parse(text), StatusCode::kInvalidArgument,
              "node.toml:" + LineOf(text, "[[trust]]") +
                  ":1: trust[0]: needs keys_file or at least one [[trust.key]]");
}

TEST(NodeConfigTest, TrustEntryFieldsAreChecked) {
  const std::string head = "[[trust]]\nnode_id = \"hk-1\"\nside = \"hk\"\nkeys_file = \"k.json\"\n";
  ExpectError(Parse(Minimal(head + "base_url = \"http://hk.example\"\n")),
              StatusCode::kInvalidArgument,
              "trust[0].base_url: must be an https:// URL, got \"http://hk.example\"");
  ExpectError(Parse(Minimal("[[trust]]\nnode_id = \"hk-1\"\nkeys_file = \"k.json\"\n")),
              StatusCode::kInvalidArgument, "trust[0].side: required key is missing");
  ExpectError(Parse(Minimal(head + "ca_file = 3\n")), StatusCode::kInvalidArgument,
              "trust[0].ca_file: must be a string, got an integer");
}

TEST(NodeConfigTest, InlineKeysAreParsedButNotDecoded) {
  auto with_second_key = [](const std::string& public_key) {
    return Minimal(std::string(R"([[trust]]
node_id = "hk-1"
side = "hk"
[[trust.key]]
key_id = "f84ea3a2c048b5fb08586549370952bd"
public_key = ")") + kPublicKey +
                   R"("
not_before = 2026-03-01T08:00:00+08:00
[[trust.key]]
public_key = ")" + public_key +
                   "\"\n");
  };
  // Only the characters are checked: any base64, of any length, passes.
  const std::string bad = with_second_key("not base64 (spaces)");
  ExpectError(
      Parse(bad), StatusCode::kInvalidArgument,
      "node.toml:" + LineOf(bad, "not base64") + ":1: trust[0].key[1].public_key: must be base64");

  const std::string text = with_second_key("bm90LWEta2V5");
  auto config = Parse(text);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->trust[0].keys.size(), 2u);
  const TrustedKeyConfig& first = config->trust[0].keys[0];
  EXPECT_EQ(first.public_key_base64, kPublicKey);
  using namespace std::chrono_literals;
  using std::chrono::March;
  EXPECT_EQ(first.not_before, Utc(2026y / March / 1));
  EXPECT_FALSE(first.not_after.has_value());
  EXPECT_EQ(first.origin, "node.toml:" + LineOf(text, "[[trust.key]]") + ":1: trust[0].key[0]");
  EXPECT_EQ(config->trust[0].origin, "node.toml:" + LineOf(text, "[[trust]]") + ":1: trust[0]");
  EXPECT_EQ(config->trust[0].keys[1].public_key_base64, "bm90LWEta2V5");
}

TEST(NodeConfigTest, InlineKeyFieldsAreChecked) {
  const std::string head = std::string("[[trust]]\nnode_id = \"hk-1\"\nside = \"hk\"\n") +
                           "[[trust.key]]\npublic_key = \"" + kPublicKey + "\"\n";
  ExpectError(Parse(Minimal(head + "key_id = \"F84EA3A2C048B5FB08586549370952BD\"\n")),
              StatusCode::kInvalidArgument,
              "trust[0].key[0].key_id: must be 32 lower-case hex characters");
  ExpectError(Parse(Minimal(head + "key_id = \"f84e\"\n")), StatusCode::kInvalidArgument,
              "trust[0].key[0].key_id: must be 32 lower-case hex characters");
  ExpectError(Parse(Minimal(head + "not_before = 2026-01-01T00:00:00\n")),
              StatusCode::kInvalidArgument,
              "trust[0].key[0].not_before: must be a date-time with a UTC offset");
  ExpectError(Parse(Minimal(head + "not_before = 2026-01-01\n")), StatusCode::kInvalidArgument,
              "trust[0].key[0].not_before: must be a date-time with a UTC offset, such as "
              "2026-01-01T00:00:00Z, got a date");
  ExpectError(Parse(Minimal(head + "not_before = 2027-01-01T00:00:00Z\n"
                                   "not_after = 2027-01-01T08:00:00+08:00\n")),
              StatusCode::kInvalidArgument,
              "trust[0].key[0].not_after: must be later than not_before");
  ExpectError(Parse(Minimal(head + "not_after = 9999-01-01T00:00:00Z\n")),
              StatusCode::kInvalidArgument, "trust[0].key[0].not_after: is outside the years");
  ExpectError(Parse(Minimal(std::string("[[trust]]\nnode_id = \"hk-1\"\nside = \"hk\"\n") +
                            "[[trust.key]]\npublic_key = \"\"\n")),
              StatusCode::kInvalidArgument, "trust[0].key[0].public_key: must be base64");
}

TEST(NodeConfigTest, LogSection) {
  auto config = Parse(Minimal("[log]\nlevel = \"debug\"\nformat = \"json\"\n"));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->log.level, LogLevel::kDebug);
  EXPECT_EQ(config->log.format, LogFormat::kJson);
  ExpectError(Parse(Minimal("[log]\nlevel = \"verbose\"\n")), StatusCode::kInvalidArgument,
              "log.level: must be one of \"trace\", \"debug\", \"info\", \"warn\", \"error\"; "
              "got \"verbose\"");
  ExpectError(Parse(Minimal("[log]\nformat = \"xml\"\n")), StatusCode::kInvalidArgument,
              "log.format: must be one of \"text\", \"json\"; got \"xml\"");
}

TEST(NodeConfigTest, EchoedValuesStayOnOneLine) {
  const std::string text =
      "[node]\nside = \"sz\\nhk\"\nnode_id = \"sz-1\"\n" + std::string(kSigning) + kPseudonym;
  ExpectError(Parse(text), StatusCode::kInvalidArgument, "got \"sz\\x0ahk\"");
}

// [api] with its required keys, followed by `lines`.
std::string Api(const std::string& lines = "") {
  return "[api]\ncert_file = \"tls/server.pem\"\nkey_file = \"tls/server.key\"\n"
         "client_ca_files = [\"tls/ca.pem\"]\n" +
         lines;
}

TEST(StoreConfigTest, Urls) {
  auto relative = ParseNodeConfig(Minimal("[store]\nurl = \"sqlite:data/../db/node.db\"\n"),
                                  "node.toml", "/srv/cg");
  ASSERT_TRUE(relative.ok()) << relative.status().ToString();
  EXPECT_EQ(relative->store.url, "sqlite:/srv/cg/db/node.db");

  auto absolute = ParseNodeConfig(Minimal("[store]\nurl = \"sqlite:/var/lib/cg/node.db\"\n"),
                                  "node.toml", "/srv/cg");
  ASSERT_TRUE(absolute.ok()) << absolute.status().ToString();
  EXPECT_EQ(absolute->store.url, "sqlite:/var/lib/cg/node.db");

  auto memory =
      ParseNodeConfig(Minimal("[store]\nurl = \"sqlite::memory:\"\n"), "node.toml", "/srv/cg");
  ASSERT_TRUE(memory.ok()) << memory.status().ToString();
  EXPECT_EQ(memory->store.url, "sqlite::memory:");

  auto by_default = ParseNodeConfig(Minimal(), "node.toml", "/srv/cg");
  ASSERT_TRUE(by_default.ok()) << by_default.status().ToString();
  EXPECT_EQ(by_default->store.url, "sqlite:/srv/cg/node.db");
}

TEST(StoreConfigTest, PostgresqlIsNotSupportedYet) {
  for (const char* url : {"postgresql://cg@db.example/cg", "postgres://db/cg"}) {
    const std::string text = Minimal("[store]\nurl = \"" + std::string(url) + "\"\n");
    ExpectError(Parse(text), StatusCode::kInvalidArgument,
                "node.toml:" + LineOf(text, "url =") +
                    ":1: store.url: PostgreSQL stores are not supported yet");
  }
}

TEST(StoreConfigTest, BadUrls) {
  for (const char* url : {"sqlite:", "sqlite://node.db", "node.db", "mysql://db/cg", ""}) {
    const std::string text = Minimal("[store]\nurl = \"" + std::string(url) + "\"\n");
    ExpectError(Parse(text), StatusCode::kInvalidArgument,
                "node.toml:" + LineOf(text, "url =") +
                    ":1: store.url: must be sqlite:PATH (such as sqlite:node.db) or "
                    "sqlite::memory:, got \"" +
                    url + "\"");
  }
  ExpectError(Parse(Minimal("[store]\nurl = 1\n")), StatusCode::kInvalidArgument,
              "store.url: must be a string, got an integer");
  ExpectError(Parse(Minimal("[store]\npath = \"x\"\n")), StatusCode::kInvalidArgument,
              "store.path: unknown key (allowed here: url)");
  ExpectError(Parse("store = \"sqlite:x\"\n" + Minimal()), StatusCode::kInvalidArgument,
              "store: must be a table ([store]), got a string");
}

TEST(ApiConfigTest, FullTable) {
  auto config = ParseNodeConfig(Minimal(R"([api]
listen = "0.0.0.0:9443"
cert_file = "tls/server.pem"
key_file = "/etc/cg/server.key"
client_ca_files = ["tls/ca.pem", "tls/../tls/banks.pem"]
threads = 8
[api.roles]
"Partner Bank" = "bank"
agency = "agency"
)"),
                                "node.toml", "/srv/cg");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_TRUE(config->api.has_value());
  const ApiConfig& api = *config->api;
  EXPECT_EQ(api.listen, (ListenAddress{"0.0.0.0", 9443}));
  EXPECT_EQ(api.cert_file, "/srv/cg/tls/server.pem");
  EXPECT_EQ(api.key_file, "/etc/cg/server.key");
  EXPECT_EQ(api.client_ca_files,
            (std::vector<std::string>{"/srv/cg/tls/ca.pem", "/srv/cg/tls/banks.pem"}));
  EXPECT_EQ(api.threads, 8);
  const std::map<std::string, Role, std::less<>> roles = {{"Partner Bank", Role::kBank},
                                                          {"agency", Role::kAgency}};
  EXPECT_EQ(api.roles, roles);
}

TEST(ApiConfigTest, Defaults) {
  auto config = Parse(Minimal(Api()));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_TRUE(config->api.has_value());
  EXPECT_EQ(config->api->listen, (ListenAddress{"127.0.0.1", 8443}));
  EXPECT_EQ(config->api->threads, kApiThreadsRange.default_value);
  EXPECT_EQ(config->api->roles, DefaultRoles());
}

TEST(ApiConfigTest, RequiredKeys) {
  for (const char* key : {"cert_file", "key_file", "client_ca_files"}) {
    std::string text = Minimal(Api());
    const size_t at = text.find(std::string(key) + " =", text.find("[api]"));
    text.erase(at, text.find('\n', at) + 1 - at);
    ExpectError(
        Parse(text), StatusCode::kInvalidArgument,
        "node.toml:" + LineOf(text, "[api]") + ":1: api." + key + ": required key is missing");
  }
  // A roles table alone still makes an [api] that needs its files.
  ExpectError(Parse(Minimal("[api.roles]\nbank = \"bank\"\n")), StatusCode::kInvalidArgument,
              "api.cert_file: required key is missing");
}

TEST(ApiConfigTest, ClientCaFiles) {
  const std::string head = "[api]\ncert_file = \"s.pem\"\nkey_file = \"s.key\"\nclient_ca_files = ";
  ExpectError(Parse(Minimal(head + "[]\n")), StatusCode::kInvalidArgument,
              "api.client_ca_files: must name at least one CA file");
  ExpectError(Parse(Minimal(head + "\"ca.pem\"\n")), StatusCode::kInvalidArgument,
              "api.client_ca_files: must be an array of strings, got a string");
  const std::string wrong_element = Minimal(head + "[\"ca.pem\", 3]\n");
  ExpectError(Parse(wrong_element), StatusCode::kInvalidArgument,
              "node.toml:" + LineOf(wrong_element, "client_ca_files") +
                  ":30: api.client_ca_files[1]: must be a string, got an integer");
  ExpectError(Parse(Minimal(head + "[\"ca.pem\", \"\"]\n")), StatusCode::kInvalidArgument,
              "api.client_ca_files[1]: must be a path, got an empty string");
}

TEST(ApiConfigTest, Threads) {
  for (const char* threads : {"0", "65", "-1"}) {
    const std::string text = Minimal(Api("threads = " + std::string(threads) + "\n"));
    ExpectError(Parse(text), StatusCode::kInvalidArgument,
                "node.toml:" + LineOf(text, "threads") +
                    ":1: api.threads: must be between 1 and 64, got " + threads);
  }
  for (int threads : {1, 64}) {
    auto config = Parse(Minimal(Api("threads = " + std::to_string(threads) + "\n")));
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    EXPECT_EQ(config->api->threads, threads);
  }
  ExpectError(Parse(Minimal(Api("threads = 2.5\n"))), StatusCode::kInvalidArgument,
              "api.threads: must be an integer, got a floating-point number");
}

TEST(ApiConfigTest, UnknownKey) {
  const std::string text = Minimal(Api("port = 8443\n"));
  ExpectError(Parse(text), StatusCode::kInvalidArgument,
              "node.toml:" + LineOf(text, "port =") +
                  ":1: api.port: unknown key (allowed here: listen, cert_file, key_file, "
                  "client_ca_files, threads, handler_threads, roles)");
}

TEST(ApiConfigTest, ListenAddresses) {
  const std::vector<std::pair<std::string, ListenAddress>> good = {
      {"127.0.0.1:0", {"127.0.0.1", 0}},
      {"0.0.0.0:65535", {"0.0.0.0", 65535}},
      {"[::1]:8443", {"::1", 8443}},
      {"[::]:1", {"::", 1}},
      {"[2001:db8::7]:443", {"2001:db8::7", 443}},
      {"localhost:8443", {"localhost", 8443}},
      {"api-1.sz.example.cn:443", {"api-1.sz.example.cn", 443}}};
  for (const auto& [written, expected] : good) {
    auto config = Parse(Minimal(Api("listen = \"" + written + "\"\n")));
    ASSERT_TRUE(config.ok()) << written << ": " << config.status().ToString();
    EXPECT_EQ(config->api->listen, expected) << written;
    EXPECT_EQ(FormatListenAddress(config->api->listen), written);
  }
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"127.0.0.1", "the port is missing"},
      {"127.0.0.1:65536", "the port must be a number from 0 to 65535"},
      {"127.0.0.1:-1", "the port must be a number from 0 to 65535"},
      {"127.0.0.1:", "the port must be a number from 0 to 65535"},
      {"127.0.0.1:http", "the port must be a number from 0 to 65535"},
      {"127.0.0.1:000008443", "the port must be a number from 0 to 65535"},
      {"::1:8443", "an IPv6 address must be in brackets, as in [::1]:8443"},
      {"[::1]8443", "an IPv6 address is written [address]:port"},
      {"[::1]", "an IPv6 address is written [address]:port"},
      {"[127.0.0.1]:1", "not an IPv6 address in brackets"},
      {"[zz::1]:1", "not an IPv6 address in brackets"},
      {":8443", "the host is missing"},
      {"256.1.1.1:1", "not an IPv4 address"},
      {"1.2.3:1", "not an IPv4 address"},
      {"host_name:1", "the host is neither an IP address nor a host name"},
      {"-bad.example:1", "the host is neither an IP address nor a host name"},
      {"a..example:1", "the host is neither an IP address nor a host name"},
      {"https://x:1", "not a URL"}};
  for (const auto& [written, problem] : bad) {
    const std::string text = Minimal(Api("listen = \"" + written + "\"\n"));
    ExpectError(Parse(text), StatusCode::kInvalidArgument,
                "node.toml:" + LineOf(text, "listen =") +
                    ":1: api.listen: must be host:port, such as 127.0.0.1:8443 or [::1]:8443 (" +
                    problem + "), got \"" + written + "\"");
  }
  ExpectError(Parse(Minimal(Api("listen = 8443\n"))), StatusCode::kInvalidArgument,
              "api.listen: must be a string, got an integer");
}

TEST(ApiConfigTest, Roles) {
  const std::string custom =
      Minimal(Api("[api.roles]\n\"Credit Agency\" = \"agency\"\n"
                  "ops = \"operator\"\n\"SZ Gateway\" = \"peer\"\n"));
  auto config = Parse(custom);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const std::map<std::string, Role, std::less<>> roles = {
      {"Credit Agency", Role::kAgency}, {"ops", Role::kOperator}, {"SZ Gateway", Role::kPeer}};
  EXPECT_EQ(config->api->roles, roles);

  const std::string bad_role = Minimal(Api("[api.roles]\nbank = \"banker\"\n"));
  ExpectError(Parse(bad_role), StatusCode::kInvalidArgument,
              "node.toml:" + LineOf(bad_role, "bank = ") +
                  ":8: api.roles.bank: must be one of \"agency\", \"firm\", \"bank\", \"peer\", "
                  "\"operator\"; got \"banker\"");
  ExpectError(Parse(Minimal(Api("[api.roles]\n\"Partner Bank\" = \"Bank\"\n"))),
              StatusCode::kInvalidArgument, "api.roles.\"Partner Bank\": must be one of");
  ExpectError(Parse(Minimal(Api("[api.roles]\nbank = 1\n"))), StatusCode::kInvalidArgument,
              "api.roles.bank: must be a string, got an integer");
  ExpectError(Parse(Minimal(Api("[api.roles]\n"))), StatusCode::kInvalidArgument,
              "api.roles: must map at least one organizational unit to a role");
  ExpectError(Parse(Minimal(Api("roles = [\"bank\"]\n"))), StatusCode::kInvalidArgument,
              "api.roles: must be a table ([api.roles]), got an array");
  ExpectError(Parse(Minimal(Api("[api.roles]\n\"\" = \"bank\"\n"))), StatusCode::kInvalidArgument,
              "api.roles.\"\": an organizational unit must not be empty");
  ExpectError(Parse(Minimal(Api("[api.roles]\n\"a\\tb\" = \"bank\"\n"))),
              StatusCode::kInvalidArgument,
              "api.roles.\"a\\x09b\": an organizational unit is 1 to 64 characters");
  ExpectError(Parse(Minimal(Api("[api.roles]\n\"" + std::string(65, 'o') + "\" = \"bank\"\n"))),
              StatusCode::kInvalidArgument, "an organizational unit is 1 to 64 characters");
}

TEST(AdminConfigTest, Listen) {
  auto config = Parse(Minimal("[admin]\nlisten = \"[::1]:9100\"\n"));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->admin.listen, (ListenAddress{"::1", 9100}));
  ExpectError(Parse(Minimal("[admin]\nlisten = \"9100\"\n")), StatusCode::kInvalidArgument,
              "admin.listen: must be host:port");
  ExpectError(Parse(Minimal("[admin]\nmetrics = true\n")), StatusCode::kInvalidArgument,
              "admin.metrics: unknown key (allowed here: listen)");
}

TEST(AdminConfigTest, MustDifferFromTheApi) {
  const std::string same =
      Minimal(Api("listen = \"127.0.0.1:9000\"\n") + "[admin]\nlisten = \"127.0.0.1:9000\"\n");
  ExpectError(Parse(same), StatusCode::kInvalidArgument,
              "node.toml:" + std::to_string(std::stoi(LineOf(same, "[admin]")) + 1) +
                  ":1: admin.listen: must differ "
                  "from api.listen");
  ExpectError(Parse(Minimal(Api("listen = \"127.0.0.1:9464\"\n"))), StatusCode::kInvalidArgument,
              "the default admin.listen 127.0.0.1:9464 is api.listen too");
  // Port 0 picks a free port for each: no conflict.
  EXPECT_TRUE(
      Parse(Minimal(Api("listen = \"127.0.0.1:0\"\n") + "[admin]\nlisten = \"127.0.0.1:0\"\n"))
          .ok());
  EXPECT_TRUE(Parse(Minimal(Api("listen = \"0.0.0.0:9464\"\n"))).ok());
}

struct LimitCase {
  const char* key;
  IntRange range;
  int64_t LimitsConfig::*field;
};

const LimitCase kLimitCases[] = {
    {"max_header_bytes", kMaxHeaderBytesRange, &LimitsConfig::max_header_bytes},
    {"max_body_bytes", kMaxBodyBytesRange, &LimitsConfig::max_body_bytes},
    {"header_read_timeout_ms", kHeaderReadTimeoutMsRange, &LimitsConfig::header_read_timeout_ms},
    {"body_read_timeout_ms", kBodyReadTimeoutMsRange, &LimitsConfig::body_read_timeout_ms},
    {"idle_timeout_ms", kIdleTimeoutMsRange, &LimitsConfig::idle_timeout_ms},
    {"handshake_timeout_ms", kHandshakeTimeoutMsRange, &LimitsConfig::handshake_timeout_ms},
    {"max_connections", kMaxConnectionsRange, &LimitsConfig::max_connections},
    {"max_pipelined", kMaxPipelinedRange, &LimitsConfig::max_pipelined},
    {"client_rate_per_second", kClientRatePerSecondRange, &LimitsConfig::client_rate_per_second},
    {"client_burst", kClientBurstRange, &LimitsConfig::client_burst},
    {"shutdown_grace_ms", kShutdownGraceMsRange, &LimitsConfig::shutdown_grace_ms},
};

TEST(LimitsConfigTest, DefaultsAreInRange) {
  const LimitsConfig defaults;
  for (const LimitCase& limit : kLimitCases) {
    EXPECT_LE(limit.range.min, limit.range.default_value) << limit.key;
    EXPECT_LE(limit.range.default_value, limit.range.max) << limit.key;
    EXPECT_EQ(defaults.*limit.field, limit.range.default_value) << limit.key;
  }
}

TEST(LimitsConfigTest, EachKeyTakesItsRange) {
  for (const LimitCase& limit : kLimitCases) {
    for (int64_t value : {limit.range.min, limit.range.max}) {
      auto config = Parse(
          Minimal("[limits]\n" + std::string(limit.key) + " = " + std::to_string(value) + "\n"));
      ASSERT_TRUE(config.ok()) << config.status().ToString();
      EXPECT_EQ(config->limits.*limit.field, value) << limit.key;
      // The other limits keep their defaults.
      LimitsConfig expected;
      expected.*limit.field = value;
      EXPECT_EQ(config->limits, expected) << limit.key;
    }
    for (int64_t value : {limit.range.min - 1, limit.range.max + 1}) {
      const std::string text =
          Minimal("[limits]\n" + std::string(limit.key) + " = " + std::to_string(value) + "\n");
      ExpectError(Parse(text), StatusCode::kInvalidArgument,
                  "node.toml:" + LineOf(text, limit.key) + ":1: limits." + limit.key +
                      ": must be between " + std::to_string(limit.range.min) + " and " +
                      std::to_string(limit.range.max) + ", got " + std::to_string(value));
    }
    ExpectError(Parse(Minimal("[limits]\n" + std::string(limit.key) + " = \"1\"\n")),
                StatusCode::kInvalidArgument,
                "limits." + std::string(limit.key) + ": must be an integer, got a string");
  }
}

TEST(LimitsConfigTest, UnknownKey) {
  const std::string text = Minimal("[limits]\nmax_body = 10\n");
  ExpectError(Parse(text), StatusCode::kInvalidArgument,
              "node.toml:" + LineOf(text, "max_body") + ":1: limits.max_body: unknown key");
}

TEST(AuditConfigTest, File) {
  auto config =
      ParseNodeConfig(Minimal("[audit]\nfile = \"logs/audit.log\"\n"), "node.toml", "/srv/cg");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->audit.file, "/srv/cg/logs/audit.log");
  auto by_default = ParseNodeConfig(Minimal(), "node.toml", "/srv/cg");
  ASSERT_TRUE(by_default.ok()) << by_default.status().ToString();
  EXPECT_EQ(by_default->audit.file, "/srv/cg/audit.log");
  ExpectError(Parse(Minimal("[audit]\nfile = \"\"\n")), StatusCode::kInvalidArgument,
              "audit.file: must be a path, got an empty string");
  ExpectError(Parse(Minimal("[audit]\nfile = true\n")), StatusCode::kInvalidArgument,
              "audit.file: must be a string, got a boolean");
  ExpectError(Parse(Minimal("[audit]\nrotate = true\n")), StatusCode::kInvalidArgument,
              "audit.rotate: unknown key (allowed here: file)");
}

TEST(PolicyConfigTest, Keys) {
  auto config =
      Parse(Minimal("[policy]\nconsent_required_purposes = [\"loan-application\", "
                    "\"kyc-2\"]\ndefault_audience_required = true\n"));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->policy.consent_required_purposes,
            (std::vector<std::string>{"loan-application", "kyc-2"}));
  EXPECT_TRUE(config->policy.default_audience_required);

  auto empty = Parse(Minimal("[policy]\nconsent_required_purposes = []\n"));
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->policy.consent_required_purposes.empty());
}

TEST(PolicyConfigTest, BadValues) {
  for (const std::string& purpose : std::vector<std::string>{
           "", "Loan", "loan_application", "loan application", std::string(65, 'a')}) {
    const std::string text =
        Minimal("[policy]\nconsent_required_purposes = [\"kyc\", \"" + purpose + "\"]\n");
    ExpectError(Parse(text), StatusCode::kInvalidArgument,
                "node.toml:" + LineOf(text, "consent_required_purposes") +
                    ":37: policy.consent_required_purposes[1]: must be 1 to 64 characters of "
                    "a-z, 0-9 and '-'");
  }
  EXPECT_TRUE(
      Parse(Minimal("[policy]\nconsent_required_purposes = [\"" + std::string(64, 'a') + "\"]\n"))
          .ok());
  ExpectError(Parse(Minimal("[policy]\nconsent_required_purposes = [\"kyc\", \"kyc\"]\n")),
              StatusCode::kInvalidArgument,
              "policy.consent_required_purposes[1]: \"kyc\" is listed twice");
  ExpectError(Parse(Minimal("[policy]\nconsent_required_purposes = [\"kyc\", 1]\n")),
              StatusCode::kInvalidArgument,
              "policy.consent_required_purposes[1]: must be a string, got an integer");
  ExpectError(Parse(Minimal("[policy]\nconsent_required_purposes = \"kyc\"\n")),
              StatusCode::kInvalidArgument,
              "policy.consent_required_purposes: must be an array of strings, got a string");
  const std::string not_bool = Minimal("[policy]\ndefault_audience_required = \"yes\"\n");
  ExpectError(Parse(not_bool), StatusCode::kInvalidArgument,
              "node.toml:" + LineOf(not_bool, "default_audience") +
                  ":1: policy.default_audience_required: must be a boolean (true or false), got "
                  "a string");
  ExpectError(Parse(Minimal("[policy]\nconsent_required = [\"kyc\"]\n")),
              StatusCode::kInvalidArgument,
              "policy.consent_required: unknown key (allowed here: consent_required_purposes, "
              "default_audience_required, consent_required_for_peers)");
  ExpectError(Parse(Minimal("[policy]\nconsent_required_for_peers = 1\n")),
              StatusCode::kInvalidArgument,
              "policy.consent_required_for_peers: must be a boolean (true or false)");
}

TEST(PeerConfigTest, DefaultsAndValues) {
  auto config = Parse(Minimal(""));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->peer.cert_file.empty());
  EXPECT_EQ(config->peer.timestamp_window_seconds,
            config::kPeerTimestampWindowSecondsRange.default_value);
  EXPECT_EQ(config->peer.sync_interval_seconds,
            config::kPeerSyncIntervalSecondsRange.default_value);
  config =
      Parse(Minimal("[peer]\ncert_file = \"tls/peer.pem\"\nkey_file = \"tls/peer.key\"\n"
                    "attempts = 1\ntimestamp_window_seconds = 60\nsync_interval_seconds = 0\n"));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_THAT(config->peer.cert_file, ::testing::EndsWith("tls/peer.pem"));
  EXPECT_EQ(config->peer.attempts, 1);
  EXPECT_EQ(config->peer.timestamp_window_seconds, 60);
  EXPECT_EQ(config->peer.sync_interval_seconds, 0);
}

TEST(PeerConfigTest, BadValues) {
  ExpectError(Parse(Minimal("[peer]\ncert_file = \"tls/peer.pem\"\n")),
              StatusCode::kInvalidArgument, "cert_file and key_file go together");
  ExpectError(Parse(Minimal("[peer]\nattempts = 0\n")), StatusCode::kInvalidArgument,
              "peer.attempts: must be between 1 and 10");
  ExpectError(Parse(Minimal("[peer]\ntimestamp_window_seconds = 1\n")),
              StatusCode::kInvalidArgument, "peer.timestamp_window_seconds");
  ExpectError(Parse(Minimal("[peer]\nsync_every = 5\n")), StatusCode::kInvalidArgument,
              "peer.sync_every: unknown key");
}

TEST(NodeConfigTest, NamesRolesAndChecksPurposes) {
  EXPECT_EQ(RoleName(Role::kAgency), "agency");
  EXPECT_EQ(RoleName(Role::kOperator), "operator");
  EXPECT_TRUE(IsPurpose("loan-application"));
  EXPECT_FALSE(IsPurpose("Loan"));
  EXPECT_FALSE(IsPurpose(""));
  EXPECT_EQ(FormatListenAddress({"::1", 0}), "[::1]:0");
}

}  // namespace
}  // namespace cg::config
