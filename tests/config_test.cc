#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/node_config.h"

namespace cg::config {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

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
              "allowed here: node, signing, pseudonym, trust, log");
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

}  // namespace
}  // namespace cg::config
