// `credit-gateway init`, run as the real binary (CG_BINARY): the node directory it
// makes, checked with `credit-gateway config check` and with the `openssl` command
// line (OPENSSL_BIN), which verifies the certificates independently of our code.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/node_config.h"
#include "gateway/store.h"
#include "tests/test_process.h"

namespace cg {
namespace {

using test::ProcessResult;
using test::ReadWholeFile;
using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;
using ::testing::HasSubstr;
using ::testing::Not;
using Args = std::vector<std::string>;

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;
constexpr const char* kRoles[] = {"agency", "firm", "bank", "peer", "operator"};

ProcessResult Run(const Args& args) { return test::RunProcess(args); }

// credit-gateway with `args`, and nothing from the caller's CG_* environment.
ProcessResult Cli(const Args& args) {
  Args argv = {CG_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv);
}

ProcessResult OpenSsl(const Args& args) {
  Args argv = {OPENSSL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv);
}

// `init` with the cheap key derivation, so the tests stay fast.
ProcessResult Init(const std::string& dir, const std::string& side, Args extra = {}) {
  Args args = {"init", "--side", side, "--dir", dir, "--kdf", "interactive"};
  args.insert(args.end(), extra.begin(), extra.end());
  return Cli(args);
}

AssertionResult Succeeded(const ProcessResult& r) {
  if (r.exited() && r.exit_code == kExitOk) return AssertionSuccess();
  return AssertionFailure() << "expected exit 0; " << r.Describe();
}

// Exit 2, `message` on stderr.
AssertionResult FailsWith(const ProcessResult& r, std::string_view message) {
  if (r.exited() && r.exit_code == kExitUsage && r.stderr_text.find(message) != std::string::npos) {
    return AssertionSuccess();
  }
  return AssertionFailure() << "expected exit 2 mentioning '" << message << "'; " << r.Describe();
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

class InitTest : public ::testing::Test {
 protected:
  std::string Node(const std::string& name = "node") const { return tmp_.File(name); }

  test::TempDir tmp_;
};

TEST_F(InitTest, CreatesTheFilesWithTheirModes) {
  const std::string node = Node();
  const ProcessResult r = Init(node, "sz");
  ASSERT_TRUE(Succeeded(r));
  for (const char* secret_dir : {"keys", "secrets"}) {
    EXPECT_EQ(ModeOf(node + "/" + secret_dir), 0700u) << secret_dir;
  }
  for (const char* secret :
       {"keys/signing.json", "keys/pseudonym.key", "secrets/signing.passphrase", "tls/ca.key",
        "tls/server.key", "node.db"}) {
    EXPECT_EQ(ModeOf(node + "/" + secret), 0600u) << secret;
  }
  for (const char* pub : {"node.toml", "tls/ca.pem", "tls/server.pem"}) {
    EXPECT_EQ(ModeOf(node + "/" + pub), 0644u) << pub;
  }
  for (const char* role : kRoles) {
    EXPECT_EQ(ModeOf(node + "/tls/clients/" + role + ".pem"), 0644u) << role;
    EXPECT_EQ(ModeOf(node + "/tls/clients/" + role + ".key"), 0600u) << role;
  }
  // The passphrase is generated: one line of 64 hex characters.
  const std::string passphrase = ReadWholeFile(node + "/secrets/signing.passphrase");
  EXPECT_THAT(passphrase, ::testing::MatchesRegex("[0-9a-f]{64}\n"));
  // It says what it made and what to run next.
  EXPECT_THAT(r.stdout_text, HasSubstr("initialised Shenzhen node sz-node-1"));
  EXPECT_THAT(r.stdout_text, HasSubstr("credit-gateway serve --config " + node + "/node.toml"));
  EXPECT_THAT(r.stdout_text, HasSubstr("curl --cacert " + node + "/tls/ca.pem --cert " + node +
                                       "/tls/clients/bank.pem --key " + node +
                                       "/tls/clients/bank.key https://127.0.0.1:8443/v1/"));
  // The passphrase is never printed.
  EXPECT_THAT(r.stdout_text, Not(HasSubstr(passphrase.substr(0, 64))));
}

TEST_F(InitTest, ConfigCheckAcceptsTheNode) {
  const std::string node = Node();
  ASSERT_TRUE(Succeeded(Init(node, "sz")));
  const ProcessResult check = Cli({"config", "check", "--config", node + "/node.toml"});
  ASSERT_TRUE(Succeeded(check));
  EXPECT_THAT(check.stdout_text, HasSubstr("node.toml: OK"));
  EXPECT_THAT(check.stdout_text, HasSubstr("sz-node-1 (sz)"));

  auto config = config::LoadNodeConfig(node + "/node.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->node.node_id, "sz-node-1");
  EXPECT_EQ(config->store.url, "sqlite:" + node + "/node.db");
  ASSERT_TRUE(config->api.has_value());
  EXPECT_EQ(config->api->listen, (config::ListenAddress{"127.0.0.1", 8443}));
  EXPECT_EQ(config->api->cert_file, node + "/tls/server.pem");
  EXPECT_EQ(config->api->key_file, node + "/tls/server.key");
  EXPECT_EQ(config->api->client_ca_files, std::vector<std::string>{node + "/tls/ca.pem"});
  EXPECT_EQ(config->api->roles.size(), std::size(kRoles));
  EXPECT_EQ(config->admin.listen, (config::ListenAddress{"127.0.0.1", 9464}));
  EXPECT_EQ(config->audit.file, node + "/audit.log");
  EXPECT_EQ(config->signing.passphrase_file, node + "/secrets/signing.passphrase");
  EXPECT_TRUE(config->trust.empty());
  // The [[trust]] example is there, commented out.
  EXPECT_THAT(ReadWholeFile(node + "/node.toml"),
              HasSubstr("# [[trust]]\n# node_id = \"hk-node-1\""));

  // The store exists with its schema.
  auto store = gateway::Store::Open(config->store.url);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_GT((*store)->schema_version(), 0);
  auto rows = (*store)->CountRows(mapping::FeedKind::kSzGrades);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, 0u);
}

TEST_F(InitTest, OpensslVerifiesEveryCertificate) {
  const std::string node = Node();
  ASSERT_TRUE(Succeeded(Init(node, "sz")));
  const std::string ca = node + "/tls/ca.pem";
  const ProcessResult server =
      OpenSsl({"verify", "-CAfile", ca, "-purpose", "sslserver", node + "/tls/server.pem"});
  ASSERT_TRUE(Succeeded(server));
  EXPECT_THAT(server.stdout_text, HasSubstr("server.pem: OK"));
  const ProcessResult server_ext = OpenSsl({"x509", "-noout", "-in", node + "/tls/server.pem",
                                            "-ext", "extendedKeyUsage,subjectAltName"});
  ASSERT_TRUE(Succeeded(server_ext));
  EXPECT_THAT(server_ext.stdout_text, HasSubstr("TLS Web Server Authentication"));
  EXPECT_THAT(server_ext.stdout_text, HasSubstr("DNS:localhost"));
  EXPECT_THAT(server_ext.stdout_text, HasSubstr("IP Address:127.0.0.1"));

  const ProcessResult ca_ext =
      OpenSsl({"x509", "-noout", "-in", ca, "-ext", "basicConstraints,keyUsage"});
  ASSERT_TRUE(Succeeded(ca_ext));
  EXPECT_THAT(ca_ext.stdout_text, HasSubstr("Basic Constraints: critical\n    CA:TRUE"));
  EXPECT_THAT(ca_ext.stdout_text, HasSubstr("Certificate Sign, CRL Sign"));

  for (const char* role : kRoles) {
    SCOPED_TRACE(role);
    const std::string pem = node + "/tls/clients/" + role + ".pem";
    const ProcessResult verified = OpenSsl({"verify", "-CAfile", ca, "-purpose", "sslclient", pem});
    ASSERT_TRUE(Succeeded(verified));
    EXPECT_THAT(verified.stdout_text, HasSubstr(std::string(role) + ".pem: OK"));
    const ProcessResult shown =
        OpenSsl({"x509", "-noout", "-in", pem, "-subject", "-ext", "extendedKeyUsage"});
    ASSERT_TRUE(Succeeded(shown));
    EXPECT_THAT(shown.stdout_text, HasSubstr("OU = " + std::string(role) + ","));
    EXPECT_THAT(shown.stdout_text, HasSubstr("CN = sz-node-1 dev " + std::string(role)));
    EXPECT_THAT(shown.stdout_text, HasSubstr("TLS Web Client Authentication"));
    EXPECT_THAT(shown.stdout_text, Not(HasSubstr("TLS Web Server Authentication")));
    // Each key belongs to its certificate.
    const ProcessResult cert_key = OpenSsl({"x509", "-noout", "-pubkey", "-in", pem});
    const ProcessResult private_key =
        OpenSsl({"pkey", "-pubout", "-in", node + "/tls/clients/" + role + ".key"});
    ASSERT_TRUE(Succeeded(cert_key));
    ASSERT_TRUE(Succeeded(private_key));
    EXPECT_EQ(cert_key.stdout_text, private_key.stdout_text);
  }
  const ProcessResult firm =
      OpenSsl({"x509", "-noout", "-in", node + "/tls/clients/firm.pem", "-ext", "subjectAltName"});
  ASSERT_TRUE(Succeeded(firm));
  EXPECT_THAT(firm.stdout_text, HasSubstr("URI:urn:gba-credit:subject:uscc:91440300MA5G2U7B88"));
}

TEST_F(InitTest, HongKongNodeWithChosenIdAndPorts) {
  const std::string node = Node("hk");
  ASSERT_TRUE(Succeeded(
      Init(node, "hk", {"--node-id", "hk-gw-2", "--api-port", "0", "--admin-port", "19465"})));
  ASSERT_TRUE(Succeeded(Cli({"config", "check", "--config", node + "/node.toml"})));
  auto config = config::LoadNodeConfig(node + "/node.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->node.side, config::Side::kHongKong);
  EXPECT_EQ(config->node.node_id, "hk-gw-2");
  EXPECT_EQ(config->api->listen.port, 0);
  EXPECT_EQ(config->admin.listen.port, 19465);
  const ProcessResult firm = OpenSsl({"x509", "-noout", "-in", node + "/tls/clients/firm.pem",
                                      "-subject", "-ext", "subjectAltName"});
  ASSERT_TRUE(Succeeded(firm));
  EXPECT_THAT(firm.stdout_text, HasSubstr("URI:urn:gba-credit:subject:hkbrn:12345678"));
  EXPECT_THAT(firm.stdout_text, HasSubstr("CN = hk-gw-2 dev firm"));
}

TEST_F(InitTest, DefaultPortsOfTheTwoSidesDiffer) {
  ASSERT_TRUE(Succeeded(Init(Node("hk"), "hk")));
  auto config = config::LoadNodeConfig(Node("hk") + "/node.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->node.node_id, "hk-node-1");
  EXPECT_EQ(config->api->listen.port, 8444);
  EXPECT_EQ(config->admin.listen.port, 9465);
}

TEST_F(InitTest, CopiesTheOtherNodesPseudonymKey) {
  ASSERT_TRUE(Succeeded(Init(Node("sz"), "sz")));
  const std::string shared = Node("sz") + "/keys/pseudonym.key";
  ASSERT_TRUE(Succeeded(Init(Node("hk"), "hk", {"--pseudonym-key", shared})));
  EXPECT_EQ(ReadWholeFile(Node("hk") + "/keys/pseudonym.key"), ReadWholeFile(shared));
  EXPECT_EQ(ModeOf(Node("hk") + "/keys/pseudonym.key"), 0600u);

  const std::string bad = tmp_.WriteFile("bad.key", "not a key\n", 0600);
  EXPECT_TRUE(FailsWith(Init(Node("hk2"), "hk", {"--pseudonym-key", bad}), "--pseudonym-key"));
  EXPECT_FALSE(std::filesystem::exists(Node("hk2")));
}

TEST_F(InitTest, RefusesANonEmptyDirectory) {
  const std::string node = Node();
  std::filesystem::create_directories(node);
  tmp_.WriteFile("node/notes.txt", "mine\n");
  const ProcessResult r = Init(node, "sz");
  EXPECT_TRUE(FailsWith(r, "error: " + node + " is not empty; init never overwrites files"));
  EXPECT_THAT(r.stderr_text, HasSubstr("--force"));
  EXPECT_FALSE(std::filesystem::exists(node + "/node.toml"));
  EXPECT_FALSE(std::filesystem::exists(node + "/keys"));
  EXPECT_EQ(ReadWholeFile(node + "/notes.txt"), "mine\n");
}

TEST_F(InitTest, RefusesToRunTwiceWithoutForce) {
  const std::string node = Node();
  ASSERT_TRUE(Succeeded(Init(node, "sz")));
  const std::string key_set = ReadWholeFile(node + "/keys/signing.json");
  EXPECT_TRUE(FailsWith(Init(node, "sz"), "is not empty"));
  EXPECT_EQ(ReadWholeFile(node + "/keys/signing.json"), key_set);

  // --force replaces what init makes, and says so.
  const ProcessResult forced = Init(node, "sz", {"--force"});
  ASSERT_TRUE(Succeeded(forced));
  EXPECT_THAT(forced.stdout_text, HasSubstr("(replaced keys/signing.json)"));
  EXPECT_THAT(forced.stdout_text, HasSubstr("store, existing one kept"));
  EXPECT_NE(ReadWholeFile(node + "/keys/signing.json"), key_set);
  EXPECT_TRUE(Succeeded(Cli({"config", "check", "--config", node + "/node.toml"})));
}

TEST_F(InitTest, RefusesAFileAsDirectory) {
  const std::string file = tmp_.WriteFile("plain", "x");
  EXPECT_TRUE(FailsWith(Init(file, "sz"), "exists and is not a directory"));
}

TEST_F(InitTest, BadArgumentsAreClearErrors) {
  EXPECT_TRUE(
      FailsWith(Init(Node(), "cn"), "side must be sz (Shenzhen) or hk (Hong Kong), got 'cn'"));
  EXPECT_TRUE(FailsWith(Cli({"init", "--dir", Node()}), "--side is required"));
  EXPECT_TRUE(FailsWith(Cli({"init", "--side", "sz"}), "--dir is required"));
  EXPECT_TRUE(FailsWith(Init(Node(), "sz", {"--node-id", "SZ_1"}), "node id must be"));
  EXPECT_TRUE(FailsWith(Init(Node(), "sz", {"--api-port", "70000"}), "--api-port"));
  EXPECT_TRUE(FailsWith(Init(Node(), "sz", {"--api-port", "9000", "--admin-port", "9000"}),
                        "--api-port and --admin-port must differ"));
  EXPECT_FALSE(std::filesystem::exists(Node()));
}

}  // namespace
}  // namespace cg
