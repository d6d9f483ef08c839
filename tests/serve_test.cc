// `credit-gateway serve` end to end: the real binary on a node made by `init`,
// loaded with synthetic feeds and evaluated once per suite (node_process.h), each
// test on its own copy of that node over loopback, with real clients: curl as the
// README shows it, `openssl s_client`, the Beast TLS client (server_test_client.h),
// and `credit-gateway verify` offline. Limits in node.toml are set small so the
// slow cases stay quick.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gateway/dev_pki.h"
#include "proto/api.pb.h"
#include "proto/attestation.pb.h"
#include "proto/envelope.pb.h"
#include "proto/keys.pb.h"
#include "specs/file_io.h"
#include "specs/json.h"
#include "tests/metric_value.h"
#include "tests/node_process.h"
#include "tests/server_test_client.h"
#include "tests/test_process.h"

namespace cg {
namespace {

using test::NodeDirectory;
using test::NodeProcess;
using test::ProcessResult;
using test::RunProcess;
using test::TestClient;
using test::TlsClientFiles;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;
using Args = std::vector<std::string>;

// The subject init writes into the firm client certificate.
constexpr char kInitFirmSubject[] = "uscc:91440300MA5G2U7B88";
constexpr char kPeriod[] = "2026-10";
// The node's [limits], small so that timeouts show within a test.
constexpr int kHeaderReadTimeoutMs = 1000;
constexpr int kMaxBodyBytes = 4096;
constexpr int kMaxHeaderBytes = 8192;
constexpr int kShutdownGraceMs = 3000;

// --- HTTP helpers ---------------------------------------------------------------

std::string Request(const std::string& method, const std::string& target,
                    const std::string& body = "",
                    const std::string& content_type = "application/json",
                    const std::string& extra_headers = "") {
  std::string text = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers;
  if (!body.empty() || method == "POST") {
    if (!content_type.empty()) text += "Content-Type: " + content_type + "\r\n";
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return text + "\r\n" + body;
}

std::string IssueJson(const std::string& subject, const std::string& nonce) {
  return R"({"subject_id":")" + subject + R"(","audience":"bank:example","nonce":")" + nonce +
         R"(","purpose":"loan-application"})";
}

template <typename Message>
Message Parse(const std::string& json) {
  Message message;
  const Status parsed = JsonToMessage(json, &message);
  EXPECT_TRUE(parsed.ok()) << parsed.ToString() << "\n" << json;
  return message;
}

std::string VerifyJson(const cg::v1::Envelope& envelope) {
  cg::v1::VerifyRequest request;
  *request.mutable_envelope() = envelope;
  return MessageToJson(request, /*compact=*/true);
}

using test::MetricValue;

// Lines of a CSV file split into fields (no quoting in the synthetic feeds).
std::vector<std::vector<std::string>> ReadCsv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(test::ReadWholeFile(path));
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields;
    std::istringstream fields_in(line);
    for (std::string field; std::getline(fields_in, field, ',');) fields.push_back(field);
    rows.push_back(std::move(fields));
  }
  return rows;
}

size_t Column(const std::vector<std::string>& header, const std::string& name) {
  const auto it = std::find(header.begin(), header.end(), name);
  EXPECT_NE(it, header.end()) << "no column " << name;
  return static_cast<size_t>(it - header.begin());
}

// --- The suite ------------------------------------------------------------------

// The node every test copies, made once: init, synth (2000 entities), load,
// evaluate; plus the client certificates init does not make.
struct SuiteNode {
  test::TempDir dir;
  NodeDirectory node;
  // Synthetic Shenzhen subjects with an evaluation: the first for most tests, the
  // second named by the "firm-synthetic" certificate.
  std::string subject;
  std::string firm_subject;
  // Raw natural-person ids from the ownership feed (never to appear in the audit log).
  std::vector<std::string> person_ids;
  gateway::CertifiedKey ca;
};

SuiteNode* suite = nullptr;

// Writes a certificate made with the node's CA (or `issuer`) as tls/test/NAME.pem/.key.
void WriteTestCertificate(const std::string& name, const gateway::CertificateSpec& spec,
                          const gateway::CertifiedKey& issuer) {
  auto issued = gateway::IssueCertificate(spec, issuer);
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  const std::string base = suite->node.File("tls/test/" + name);
  ASSERT_TRUE(WriteFileAtomically(base + ".pem", issued->certificate_pem, 0644).ok());
  ASSERT_TRUE(WriteFileAtomically(base + ".key", issued->private_key_pem, 0600).ok());
}

gateway::CertificateSpec ClientSpec(const std::string& name, const std::string& unit,
                                    std::vector<std::string> uris = {}) {
  gateway::CertificateSpec spec;
  spec.use = gateway::CertificateUse::kClient;
  spec.common_name = name + ".client.test";
  spec.organization = "serve test";
  spec.organizational_unit = unit;
  spec.uris = std::move(uris);
  spec.not_before = Clock::now() - 1h;
  spec.not_after = Clock::now() + 24h;
  return spec;
}

class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite = new SuiteNode;
    test::NodeDirectoryOptions options;
    options.entities = 2000;
    options.seed = 3;
    options.period = kPeriod;
    options.limits = {{"header_read_timeout_ms", std::to_string(kHeaderReadTimeoutMs)},
                      {"body_read_timeout_ms", "1000"},
                      {"handshake_timeout_ms", "2000"},
                      {"max_body_bytes", std::to_string(kMaxBodyBytes)},
                      {"max_header_bytes", std::to_string(kMaxHeaderBytes)},
                      {"shutdown_grace_ms", std::to_string(kShutdownGraceMs)}};
    auto node = test::PrepareNodeDirectory(suite->dir.File("template"), options);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    suite->node = *node;

    // Subjects: Shenzhen entities with a grade (all evaluated), in feed order.
    const auto grades = ReadCsv(suite->node.feeds_dir + "/sz-grades.csv");
    ASSERT_GT(grades.size(), 3u);
    const size_t id_column = Column(grades[0], "entity_id");
    suite->subject = grades[1][id_column];
    suite->firm_subject = grades[2][id_column];
    for (const auto& row : grades) {
      ASSERT_NE(row[id_column], kInitFirmSubject) << "init's firm subject is a synthetic entity";
    }
    const auto ownership = ReadCsv(suite->node.feeds_dir + "/ownership.csv");
    ASSERT_FALSE(ownership.empty());
    const size_t holder = Column(ownership[0], "holder_id");
    for (const auto& row : ownership) {
      if (row.size() > holder && row[holder].starts_with("person:")) {
        suite->person_ids.push_back(row[holder]);
      }
    }
    ASSERT_FALSE(suite->person_ids.empty());

    // The certificates init does not make.
    std::filesystem::create_directories(suite->node.File("tls/test"));
    auto ca_pem = ReadFileLimited(suite->node.File("tls/ca.pem"), 1 << 20);
    auto ca_key = ReadFileLimited(suite->node.File("tls/ca.key"), 1 << 20);
    ASSERT_TRUE(ca_pem.ok() && ca_key.ok());
    suite->ca = {*ca_pem, *ca_key};
    WriteTestCertificate(
        "firm-synthetic",
        ClientSpec("firm-synthetic", "firm", {"urn:gba-credit:subject:" + suite->firm_subject}),
        suite->ca);
    WriteTestCertificate("norole", ClientSpec("norole", "visitor"), suite->ca);
    gateway::CertificateSpec expired = ClientSpec("expired", "bank");
    expired.not_before = Clock::now() - 48h;
    expired.not_after = Clock::now() - 24h;
    WriteTestCertificate("expired", expired, suite->ca);
    gateway::CertificateSpec other_ca_spec;
    other_ca_spec.use = gateway::CertificateUse::kCertificateAuthority;
    other_ca_spec.common_name = "Some Other CA";
    other_ca_spec.not_before = Clock::now() - 1h;
    other_ca_spec.not_after = Clock::now() + 24h;
    auto other_ca = gateway::CreateCertificateAuthority(other_ca_spec);
    ASSERT_TRUE(other_ca.ok()) << other_ca.status().ToString();
    WriteTestCertificate("otherca", ClientSpec("otherca", "bank"), *other_ca);
  }

  static void TearDownTestSuite() {
    delete suite;
    suite = nullptr;
  }

  // Each test: its own copy of the node, serving.
  void SetUp() override {
    ASSERT_NE(suite, nullptr);
    ASSERT_FALSE(suite->node.dir.empty()) << "the suite's node could not be prepared";
    auto copy = test::CopyNodeDirectory(suite->node, tmp_.File("node"));
    ASSERT_TRUE(copy.ok()) << copy.status().ToString();
    node_dir_ = *copy;
    StartNode();
  }

  void StartNode() {
    NodeProcess::Options options;
    options.config_file = node_dir_.config_file;
    auto started = NodeProcess::Start(options);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    node_ = *std::move(started);
  }

  std::string File(const std::string& relative) const { return node_dir_.File(relative); }
  std::string Ca() const { return File("tls/ca.pem"); }

  // Client certificate files: a role of init's ("bank", ...) or one of the suite's
  // ("firm-synthetic", "norole", "expired", "otherca").
  TlsClientFiles Client(const std::string& name) const {
    const bool role = name == "agency" || name == "firm" || name == "bank" || name == "peer" ||
                      name == "operator";
    const std::string base = File(role ? "tls/clients/" + name : "tls/test/" + name);
    return {base + ".pem", base + ".key"};
  }

  std::unique_ptr<TestClient> Connect(const std::string& client_name) {
    auto client = TestClient::Tls(Ca(), Client(client_name));
    const auto ec = client->Connect(node_->api_port());
    EXPECT_FALSE(ec) << client_name << ": " << ec.message();
    return client;
  }

  // Sends `request` on a new connection as `client_name`; the response.
  test::Response Call(const std::string& client_name, const std::string& request) {
    auto client = Connect(client_name);
    EXPECT_FALSE(client->Send(request));
    test::ReadResult result = client->Read();
    EXPECT_FALSE(result.error) << result.error.message() << " for " << request.substr(0, 80);
    return result.response;
  }

  test::Response Admin(const std::string& target) {
    auto client = TestClient::Plain();
    EXPECT_FALSE(client->Connect(node_->admin_port()));
    EXPECT_FALSE(client->Send(Request("GET", target)));
    test::ReadResult result = client->Read();
    EXPECT_FALSE(result.error) << result.error.message();
    return result.response;
  }

  // The admin /metrics value of `series` once it reaches `at_least` (waiting up to
  // 3 s: the server counts some events just after the client sees them); the last
  // value read otherwise.
  double WaitForMetric(const std::string& series, double at_least) {
    double value = -1;
    for (int i = 0; i < 60; ++i) {
      value = MetricValue(Admin("/metrics").body(), series);
      if (value >= at_least) break;
      std::this_thread::sleep_for(50ms);
    }
    return value;
  }

  // Issues one attestation of `subject` as `client_name`; its response.
  cg::v1::IssueResponse Issue(const std::string& client_name, const std::string& subject,
                              const std::string& nonce) {
    const test::Response r =
        Call(client_name, Request("POST", "/v1/attestations", IssueJson(subject, nonce)));
    EXPECT_EQ(r.result_int(), 201) << r.body();
    return Parse<cg::v1::IssueResponse>(r.body());
  }

  cg::v1::VerificationReport VerifyOnline(const cg::v1::Envelope& envelope) {
    const test::Response r = Call("bank", Request("POST", "/v1/verify", VerifyJson(envelope)));
    EXPECT_EQ(r.result_int(), 200) << r.body();
    return Parse<cg::v1::VerificationReport>(r.body());
  }

  // A response that is an API error: the status, JSON {code, message, request_id}
  // with the code, the request id of the X-Request-Id header, and nothing from
  // inside the node (paths, SQL).
  void ExpectError(const test::Response& r, int status, const std::string& code,
                   const std::string& what) {
    SCOPED_TRACE(what);
    EXPECT_EQ(r.result_int(), status) << r.body();
    EXPECT_THAT(std::string(r[boost::beast::http::field::content_type]),
                HasSubstr("application/json"));
    cg::v1::ErrorBody error;
    const Status parsed = JsonToMessage(r.body(), &error);  // unknown fields fail this
    ASSERT_TRUE(parsed.ok()) << parsed.ToString() << "\n" << r.body();
    EXPECT_EQ(error.code(), code) << r.body();
    EXPECT_FALSE(error.message().empty());
    EXPECT_FALSE(error.request_id().empty());
    EXPECT_EQ(error.request_id(), std::string(r["X-Request-Id"]));
    for (const std::string& internal :
         {std::string("/tmp"), tmp_.path(), std::string("node.db"), std::string("sqlite"),
          std::string("SQLITE"), std::string("SELECT "), std::string("INSERT "),
          std::string(".cc:"), std::string("what():")}) {
      EXPECT_THAT(r.body(), Not(HasSubstr(internal))) << r.body();
    }
  }

  // A client that must not get an HTTP answer: the handshake fails, or (TLS 1.3,
  // where the client finishes before the server checks its certificate) the
  // connection ends without a response.
  void ExpectRefused(const std::string& what, const std::optional<TlsClientFiles>& files) {
    SCOPED_TRACE(what);
    auto client = TestClient::Tls(Ca(), files);
    if (client->Connect(node_->api_port())) return;
    if (client->Send(Request("GET", "/v1/keys"))) return;
    const test::ReadResult result = client->Read();
    EXPECT_TRUE(result.error) << "got HTTP " << result.response.result_int();
  }

  ProcessResult Curl(Args args) {
    Args argv = {"/usr/bin/curl", "-sS", "--max-time", "10"};
    argv.insert(argv.end(), args.begin(), args.end());
    test::ProcessOptions options;
    options.timeout = 20s;
    return RunProcess(argv, options);
  }

  // curl as the README shows it, as the bank; the body and the HTTP status.
  std::pair<std::string, int> CurlApi(const std::string& path, const std::string& post_body = "") {
    Args args = {"--cacert", Ca(),
                 "--cert",   File("tls/clients/bank.pem"),
                 "--key",    File("tls/clients/bank.key"),
                 "-H",       "content-type: application/json",
                 "-w",       "\n%{http_code}"};
    if (!post_body.empty()) args.insert(args.end(), {"-d", post_body});
    args.push_back("https://127.0.0.1:" + std::to_string(node_->api_port()) + path);
    const ProcessResult r = Curl(args);
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    const size_t last = r.stdout_text.rfind('\n');
    if (last == std::string::npos) return {r.stdout_text, 0};
    return {r.stdout_text.substr(0, last), std::atoi(r.stdout_text.c_str() + last + 1)};
  }

  ProcessResult SClient(Args extra) {
    Args argv = {OPENSSL_BIN, "s_client",
                 "-connect",  "127.0.0.1:" + std::to_string(node_->api_port()),
                 "-CAfile",   Ca(),
                 "-cert",     File("tls/clients/bank.pem"),
                 "-key",      File("tls/clients/bank.key")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    test::ProcessOptions options;
    options.timeout = 20s;
    return RunProcess(argv, options);
  }

  ProcessResult Cli(Args args) {
    Args argv = {CG_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    test::ProcessOptions options;
    options.timeout = 30s;
    return RunProcess(argv, options);
  }

  test::TempDir tmp_;
  NodeDirectory node_dir_;
  std::unique_ptr<NodeProcess> node_;
};

// --- 1. The README round trip ---------------------------------------------------

TEST_F(ServeTest, CurlLooksUpIssuesFetchesAndLists) {
  const std::string subject = suite->subject;
  auto [evaluation_body, evaluation_status] = CurlApi("/v1/entities/" + subject + "/evaluation");
  ASSERT_EQ(evaluation_status, 200) << evaluation_body;
  const auto evaluation = Parse<cg::v1::EvaluationResponse>(evaluation_body);
  EXPECT_EQ(evaluation.evaluation().subject().id(), subject);
  EXPECT_EQ(evaluation.evaluation().period(), kPeriod);

  auto [issue_body, issue_status] = CurlApi("/v1/attestations", IssueJson(subject, "N42"));
  ASSERT_EQ(issue_status, 201) << issue_body;
  const auto issued = Parse<cg::v1::IssueResponse>(issue_body);
  ASSERT_FALSE(issued.attestation_id().empty());
  EXPECT_FALSE(issued.envelope().payload().empty());

  auto [fetch_body, fetch_status] = CurlApi("/v1/attestations/" + issued.attestation_id());
  ASSERT_EQ(fetch_status, 200) << fetch_body;
  const auto fetched = Parse<cg::v1::Envelope>(fetch_body);
  EXPECT_EQ(fetched.SerializeAsString(), issued.envelope().SerializeAsString());

  auto [list_body, list_status] = CurlApi("/v1/entities/" + subject + "/attestations");
  ASSERT_EQ(list_status, 200) << list_body;
  const auto list = Parse<cg::v1::AttestationList>(list_body);
  ASSERT_EQ(list.attestations_size(), 1);
  EXPECT_EQ(list.attestations(0).attestation_id(), issued.attestation_id());
  EXPECT_EQ(list.attestations(0).audience(), "bank:example");

  // The admin listener, plain HTTP.
  const std::string admin = "http://127.0.0.1:" + std::to_string(node_->admin_port());
  const ProcessResult health = Curl({"-w", "\n%{http_code}", admin + "/healthz"});
  EXPECT_THAT(health.stdout_text, ::testing::EndsWith("200")) << health.Describe();
  // /readyz follows a probe that runs every second.
  ProcessResult ready;
  for (int i = 0; i < 30; ++i) {
    ready = Curl({"-w", "\n%{http_code}", admin + "/readyz"});
    if (ready.stdout_text.ends_with("200")) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_THAT(ready.stdout_text, ::testing::EndsWith("200")) << ready.Describe();
  const ProcessResult metrics = Curl({admin + "/metrics"});
  ASSERT_EQ(metrics.exit_code, 0) << metrics.Describe();
  EXPECT_EQ(MetricValue(metrics.stdout_text, "cg_attestations_issued_total"), 1)
      << metrics.stdout_text;
  EXPECT_EQ(
      MetricValue(metrics.stdout_text, R"(requests_total{route="/v1/attestations",status="201"})"),
      1)
      << metrics.stdout_text;
  EXPECT_EQ(MetricValue(metrics.stdout_text,
                        R"(requests_total{route="/v1/entities/{id}/evaluation",status="200"})"),
            1)
      << metrics.stdout_text;
}

// Lookups answer from rendered JSON kept per subject (gateway/rendered_cache.h) only
// while the evaluations' generation is the one it was rendered at, rechecked every
// 10 ms: a period evaluated while the node serves shows (the CLI's evaluate takes far
// longer than the recheck).
TEST_F(ServeTest, ALookupShowsAPeriodEvaluatedWhileServing) {
  const std::string path = "/v1/entities/" + suite->subject + "/evaluation";
  const test::Response first = Call("bank", Request("GET", path));
  ASSERT_EQ(first.result_int(), 200) << first.body();
  const test::Response again = Call("bank", Request("GET", path));
  ASSERT_EQ(again.result_int(), 200) << again.body();
  EXPECT_EQ(again.body(), first.body());
  EXPECT_EQ(Parse<cg::v1::EvaluationResponse>(again.body()).evaluation().period(), kPeriod);
  // A kept rendering is no way around the checks: a firm still may not see it.
  ExpectError(Call("firm", Request("GET", path)), 403, "FORBIDDEN", "firm after a cached lookup");

  // The subject graded again for the next month, and that month evaluated.
  std::string next_month;
  std::istringstream feed_in(test::ReadWholeFile(suite->node.feeds_dir + "/sz-grades.csv"));
  for (std::string line; std::getline(feed_in, line);) {
    if (next_month.empty()) {
      next_month = line + "\n";  // the header
    } else if (line.starts_with(suite->subject + ",")) {
      const size_t period = line.find(std::string(",") + kPeriod + ",");
      ASSERT_NE(period, std::string::npos) << line;
      next_month += line.replace(period + 1, 7, "2026-11") + "\n";
    }
  }
  const std::string feed = tmp_.File("sz-grades-2026-11.csv");
  std::ofstream(feed) << next_month;
  const ProcessResult loaded = Cli({"load", "sz-grades", feed, "--config", File("node.toml")});
  ASSERT_EQ(loaded.exit_code, 0) << loaded.Describe();
  const ProcessResult evaluated =
      Cli({"evaluate", "--period", "2026-11", "--config", File("node.toml")});
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.Describe();
  const test::Response after = Call("bank", Request("GET", path));
  ASSERT_EQ(after.result_int(), 200) << after.body();
  const auto evaluation = Parse<cg::v1::EvaluationResponse>(after.body()).evaluation();
  EXPECT_EQ(evaluation.period(), "2026-11");
  EXPECT_EQ(evaluation.subject().id(), suite->subject);
  // In binary too.
  const test::Response bytes =
      Call("bank", Request("GET", path, "", "", "Accept: application/x-protobuf\r\n"));
  ASSERT_EQ(bytes.result_int(), 200);
  cg::v1::EvaluationResponse decoded;
  ASSERT_TRUE(decoded.ParseFromString(bytes.body()));
  EXPECT_EQ(decoded.evaluation().period(), "2026-11");
}

// --- 2. Client certificates -----------------------------------------------------

TEST_F(ServeTest, HandshakeRefusedWithoutAGoodClientCertificate) {
  ExpectRefused("no client certificate", std::nullopt);
  ExpectRefused("another CA", Client("otherca"));
  ExpectRefused("expired", Client("expired"));
  EXPECT_EQ(WaitForMetric(R"(tls_handshake_failures_total{reason="no_client_certificate"})", 1), 1);
  EXPECT_EQ(WaitForMetric(R"(tls_handshake_failures_total{reason="certificate_verify_failed"})", 2),
            2);
  // curl without a certificate fails too (no HTTP status).
  const ProcessResult curl =
      Curl({"-o", "/dev/null", "-w", "%{http_code}", "--cacert", Ca(),
            "https://127.0.0.1:" + std::to_string(node_->api_port()) + "/v1/keys"});
  EXPECT_NE(curl.exit_code, 0) << curl.Describe();
  EXPECT_EQ(curl.stdout_text, "000");
  // The server goes on.
  EXPECT_EQ(Call("bank", Request("GET", "/v1/keys")).result_int(), 200);
}

// --- 3. Roles -------------------------------------------------------------------

TEST_F(ServeTest, RolesDecideWhoMayDoWhat) {
  const auto issued = Issue("bank", suite->subject, "roles-1");
  const std::string id = issued.attestation_id();
  ExpectError(Call("bank", Request("POST", "/v1/attestations/" + id + "/revoke",
                                   R"({"reason":"because"})")),
              403, "FORBIDDEN", "bank revokes");
  ExpectError(Call("bank", Request("POST", "/v1/attestations/" + id + "/supersede",
                                   R"({"reason":"because"})")),
              403, "FORBIDDEN", "bank supersedes");

  // init's firm certificate names a subject that is not among the synthetic
  // entities: asking about it is allowed, and it has no evaluation.
  ExpectError(Call("firm", Request("GET", "/v1/entities/" + suite->subject + "/evaluation")), 403,
              "FORBIDDEN", "firm asks about another subject");
  ExpectError(
      Call("firm", Request("GET", std::string("/v1/entities/") + kInitFirmSubject + "/evaluation")),
      404, "NOT_FOUND", "firm asks about its own subject, not evaluated");
  ExpectError(Call("firm", Request("GET", "/v1/attestations/" + id)), 403, "FORBIDDEN",
              "firm fetches another subject's attestation");
  ExpectError(Call("firm", Request("POST", "/v1/attestations", IssueJson(suite->subject, "f1"))),
              403, "FORBIDDEN", "firm issues for another subject");

  // A firm certificate naming an evaluated subject.
  const std::string own = suite->firm_subject;
  EXPECT_EQ(
      Call("firm-synthetic", Request("GET", "/v1/entities/" + own + "/evaluation")).result_int(),
      200);
  const auto firm_issued = Issue("firm-synthetic", own, "f2");
  EXPECT_EQ(
      Call("firm-synthetic", Request("GET", "/v1/attestations/" + firm_issued.attestation_id()))
          .result_int(),
      200);
  ExpectError(
      Call("firm-synthetic", Request("GET", "/v1/entities/" + suite->subject + "/attestations")),
      403, "FORBIDDEN", "firm lists another subject");
  // Every role may verify and read the keys and status list.
  EXPECT_EQ(Call("firm-synthetic", Request("GET", "/v1/keys")).result_int(), 200);
  EXPECT_EQ(Call("firm", Request("GET", "/v1/status-list")).result_int(), 200);

  // An OU that maps to no role.
  ExpectError(Call("norole", Request("GET", "/v1/keys")), 403, "NO_ROLE", "no role");

  // The operator may.
  const test::Response revoked = Call(
      "operator", Request("POST", "/v1/attestations/" + id + "/revoke", R"({"reason":"test"})"));
  EXPECT_EQ(revoked.result_int(), 200) << revoked.body();
}

// --- 4. Bad input ---------------------------------------------------------------

TEST_F(ServeTest, BadInputGetsAJsonErrorAndTheServerGoesOn) {
  const std::string subject = suite->subject;
  {
    // Oversized header: 431, the connection closed, the server goes on.
    auto client = Connect("bank");
    ASSERT_FALSE(client->Send(Request(
        "GET", "/v1/keys", "", "", "X-Big: " + std::string(kMaxHeaderBytes + 2000, 'a') + "\r\n")));
    const test::ReadResult result = client->Read();
    ASSERT_FALSE(result.error) << result.error.message();
    ExpectError(result.response, 431, "HEADER_TOO_LARGE", "oversized header");
    EXPECT_EQ(Call("bank", Request("GET", "/v1/keys")).result_int(), 200);
  }
  ExpectError(
      Call("bank", Request("POST", "/v1/attestations",
                           R"({"subject_id":")" + std::string(kMaxBodyBytes, 'x') + R"("})")),
      413, "BODY_TOO_LARGE", "oversized body");
  ExpectError(Call("bank", "NOT HTTP AT ALL\r\n\r\n"), 400, "MALFORMED_REQUEST", "malformed HTTP");

  const test::Response bad_json =
      Call("bank", Request("POST", "/v1/attestations", R"({"subject_id": )"));
  ExpectError(bad_json, 400, "INVALID_JSON", "malformed JSON");
  EXPECT_THAT(Parse<cg::v1::ErrorBody>(bad_json.body()).message(), HasSubstr("IssueRequest"));
  ExpectError(Call("bank", Request("POST", "/v1/attestations", R"({"subject_id": 5})")), 400,
              "INVALID_JSON", "wrong field type");
  ExpectError(Call("bank", Request("POST", "/v1/attestations",
                                   R"({"subject_id":")" + subject + R"(","colour":"red"})")),
              400, "INVALID_JSON", "unknown field");
  ExpectError(Call("bank", Request("POST", "/v1/attestations", std::string("\xff\xff\xff\x07", 4),
                                   "application/x-protobuf")),
              400, "INVALID_PROTOBUF", "bad protobuf");
  ExpectError(
      Call("bank", Request("POST", "/v1/attestations", IssueJson(subject, "n"), "text/plain")), 415,
      "UNSUPPORTED_MEDIA_TYPE", "wrong content type");
  ExpectError(Call("bank", Request("GET", "/v1/entities/not-an-id/evaluation")), 400,
              "INVALID_ARGUMENT", "bad subject id in the path");
  ExpectError(Call("bank", Request("POST", "/v1/attestations", IssueJson("bogus", "n"))), 400,
              "INVALID_ARGUMENT", "bad subject id in the body");
  ExpectError(
      Call("bank", Request("GET", std::string("/v1/entities/") + kInitFirmSubject + "/evaluation")),
      404, "NOT_FOUND", "unknown subject");
  ExpectError(Call("bank", Request("POST", "/v1/attestations", IssueJson(kInitFirmSubject, "n"))),
              404, "NOT_FOUND", "issue for an unknown subject");
  ExpectError(Call("bank", Request("GET", "/v1/attestations/0123456789abcdef0123456789abcdef")),
              404, "NOT_FOUND", "unknown attestation");
  ExpectError(
      Call("operator", Request("POST", "/v1/attestations/0123456789abcdef0123456789abcdef/revoke",
                               R"({"reason":"unknown"})")),
      404, "NOT_FOUND", "revoke an unknown attestation");
  ExpectError(Call("bank", Request("GET", "/v1/nothing-here")), 404, "NOT_FOUND", "unknown route");
  ExpectError(Call("bank", Request("GET", "/etc/passwd")), 404, "NOT_FOUND", "outside /v1");
  const test::Response wrong_method = Call("bank", Request("DELETE", "/v1/keys"));
  ExpectError(wrong_method, 405, "METHOD_NOT_ALLOWED", "wrong method");
  EXPECT_EQ(std::string(wrong_method["Allow"]), "GET");
  ExpectError(Call("bank", Request("POST", "/v1/verify", "{}")), 400, "INVALID_ARGUMENT",
              "verify without an envelope");

  // A well-formed binary protobuf request is accepted.
  cg::v1::IssueRequest binary;
  binary.set_subject_id(subject);
  binary.set_nonce("binary");
  const test::Response binary_issued =
      Call("bank", Request("POST", "/v1/attestations", binary.SerializeAsString(),
                           "application/x-protobuf", "Accept: application/x-protobuf\r\n"));
  EXPECT_EQ(binary_issued.result_int(), 201) << binary_issued.body();
  cg::v1::IssueResponse binary_response;
  EXPECT_TRUE(binary_response.ParseFromString(binary_issued.body()));
  EXPECT_FALSE(binary_response.attestation_id().empty());

  EXPECT_EQ(Call("bank", Request("GET", "/v1/keys")).result_int(), 200);
}

// --- 5. Slowloris ---------------------------------------------------------------

TEST_F(ServeTest, ASlowlorisClientIsDroppedWhileOthersAreServed) {
  auto slow = Connect("bank");
  ASSERT_FALSE(slow->Send("GET /v1/keys HTTP/1.1\r\nHost: slow\r\n"));  // never finishes
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(
      Call("agency", Request("GET", "/v1/entities/" + suite->subject + "/evaluation")).result_int(),
      200);
  const test::ReadResult result = slow->Read(5s);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(result.error) << "got HTTP " << result.response.result_int();
  EXPECT_GE(waited, std::chrono::milliseconds(kHeaderReadTimeoutMs) - 200ms);
  EXPECT_LT(waited, std::chrono::milliseconds(kHeaderReadTimeoutMs) + 2000ms);
  EXPECT_EQ(WaitForMetric(R"(rejected_requests_total{reason="header_timeout"})", 1), 1);
}

// --- 6. TLS versions and suites -------------------------------------------------

TEST_F(ServeTest, OnlyModernTlsIsAccepted) {
  for (const std::string version : {"-tls1", "-tls1_1"}) {
    // SECLEVEL=0 lets the client offer the old version at all.
    const ProcessResult r = SClient({version, "-cipher", "DEFAULT:@SECLEVEL=0"});
    EXPECT_NE(r.exit_code, 0) << version << "\n" << r.Describe();
  }
  const ProcessResult weak = SClient({"-tls1_2", "-cipher", "AES128-SHA"});
  EXPECT_NE(weak.exit_code, 0) << weak.Describe();
  // Refused by the server, not by the client's own OpenSSL.
  EXPECT_EQ(WaitForMetric(R"(tls_handshake_failures_total{reason="protocol_version"})", 2), 2);
  EXPECT_EQ(WaitForMetric(R"(tls_handshake_failures_total{reason="no_shared_cipher"})", 1), 1);
  const ProcessResult tls13 = SClient({"-tls1_3"});
  EXPECT_EQ(tls13.exit_code, 0) << tls13.Describe();
  EXPECT_THAT(tls13.stdout_text, HasSubstr("TLSv1.3"));
  const ProcessResult tls12 = SClient({"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"});
  EXPECT_EQ(tls12.exit_code, 0) << tls12.Describe();
  EXPECT_THAT(tls12.stdout_text, HasSubstr("ECDHE-ECDSA-AES128-GCM-SHA256"));
}

// --- 7. Concurrent issuance -----------------------------------------------------

TEST_F(ServeTest, ConcurrentIssuanceGivesDistinctVerifiableAttestations) {
  constexpr int kThreads = 6;
  constexpr int kPerThread = 50;
  std::mutex mu;
  std::vector<std::string> ids;
  std::atomic<int> failures{0};
  auto work = [&](int thread) {
    auto client = TestClient::Tls(Ca(), Client("bank"));
    if (client->Connect(node_->api_port())) {
      ++failures;
      return;
    }
    std::vector<cg::v1::IssueResponse> mine;
    for (int i = 0; i < kPerThread; ++i) {
      const std::string nonce = "t" + std::to_string(thread) + "-" + std::to_string(i);
      if (client->Send(Request("POST", "/v1/attestations", IssueJson(suite->subject, nonce)))) {
        ++failures;
        return;
      }
      const test::ReadResult r = client->Read(10s);
      if (r.error || r.response.result_int() != 201) {
        ADD_FAILURE() << "issue: " << r.error.message() << " " << r.response.result_int() << " "
                      << r.response.body();
        ++failures;
        return;
      }
      cg::v1::IssueResponse issued;
      if (!JsonToMessage(r.response.body(), &issued).ok()) {
        ++failures;
        return;
      }
      mine.push_back(std::move(issued));
    }
    // Every one comes back from the server as issued, and verifies there.
    for (const auto& issued : mine) {
      if (client->Send(Request("GET", "/v1/attestations/" + issued.attestation_id()))) {
        ++failures;
        return;
      }
      const test::ReadResult fetched = client->Read(10s);
      cg::v1::Envelope envelope;
      if (fetched.error || fetched.response.result_int() != 200 ||
          !JsonToMessage(fetched.response.body(), &envelope).ok() ||
          envelope.SerializeAsString() != issued.envelope().SerializeAsString()) {
        ADD_FAILURE() << "fetch " << issued.attestation_id() << ": " << fetched.error.message()
                      << " " << fetched.response.body();
        ++failures;
        continue;
      }
      if (client->Send(Request("POST", "/v1/verify", VerifyJson(envelope)))) {
        ++failures;
        return;
      }
      const test::ReadResult verified = client->Read(10s);
      cg::v1::VerificationReport report;
      if (verified.error || !JsonToMessage(verified.response.body(), &report).ok() ||
          !report.valid() || report.code() != "VALID") {
        ADD_FAILURE() << "verify " << issued.attestation_id() << ": " << verified.response.body();
        ++failures;
      }
    }
    std::lock_guard lock(mu);
    for (const auto& issued : mine) ids.push_back(issued.attestation_id());
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(work, t);
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  EXPECT_EQ(MetricValue(Admin("/metrics").body(), "cg_attestations_issued_total"),
            kThreads * kPerThread);
}

// --- 8. kill -9 -----------------------------------------------------------------

TEST_F(ServeTest, EveryAcknowledgedAttestationSurvivesKillDashNine) {
  constexpr int kThreads = 4;
  constexpr size_t kBeforeKill = 60;
  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop{false};
  const uint16_t port = node_->api_port();
  auto work = [&](int thread) {
    auto client = TestClient::Tls(Ca(), Client("bank"));
    if (client->Connect(port)) return;
    for (int i = 0; !stop; ++i) {
      const std::string nonce = "k" + std::to_string(thread) + "-" + std::to_string(i);
      if (client->Send(Request("POST", "/v1/attestations", IssueJson(suite->subject, nonce)))) {
        return;
      }
      const test::ReadResult r = client->Read(5s);
      if (r.error) return;  // the server died
      if (r.response.result_int() != 201) continue;
      cg::v1::IssueResponse issued;
      if (!JsonToMessage(r.response.body(), &issued).ok()) continue;
      std::lock_guard lock(mu);
      acknowledged.push_back(issued.attestation_id());
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(work, t);
  // Kill it mid-load, once some have been acknowledged.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(mu);
      if (acknowledged.size() >= kBeforeKill) break;
    }
    std::this_thread::sleep_for(5ms);
  }
  const ProcessResult killed = node_->Kill();
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(killed.term_signal, SIGKILL) << killed.Describe();
  ASSERT_GE(acknowledged.size(), kBeforeKill);

  StartNode();
  ASSERT_TRUE(node_);
  auto client = Connect("bank");
  size_t missing = 0;
  for (const std::string& id : acknowledged) {
    ASSERT_FALSE(client->Send(Request("GET", "/v1/attestations/" + id)));
    const test::ReadResult r = client->Read(10s);
    ASSERT_FALSE(r.error) << r.error.message();
    if (r.response.result_int() != 200) {
      ++missing;
      ADD_FAILURE() << "acknowledged " << id << " is gone: " << r.response.body();
    }
  }
  EXPECT_EQ(missing, 0u) << "of " << acknowledged.size();
}

// --- 9. Revocation and supersession, online and offline -------------------------

TEST_F(ServeTest, RevokedAndSupersededShowOnlineAndOffline) {
  const auto revoked = Issue("bank", suite->subject, "r1");
  const auto superseded = Issue("bank", suite->subject, "r2");
  const auto active = Issue("bank", suite->subject, "r3");

  const test::Response revoke =
      Call("operator", Request("POST", "/v1/attestations/" + revoked.attestation_id() + "/revoke",
                               R"({"reason":"issued in error"})"));
  ASSERT_EQ(revoke.result_int(), 200) << revoke.body();
  EXPECT_EQ(Parse<cg::v1::AttestationRecord>(revoke.body()).state(),
            cg::v1::ATTESTATION_STATE_REVOKED);
  const test::Response supersede = Call(
      "operator", Request("POST", "/v1/attestations/" + superseded.attestation_id() + "/supersede",
                          R"({"reason":"new evaluation"})"));
  ASSERT_EQ(supersede.result_int(), 200) << supersede.body();
  ExpectError(
      Call("operator", Request("POST", "/v1/attestations/" + revoked.attestation_id() + "/revoke",
                               R"({"reason":"again"})")),
      409, "CONFLICT", "revoked twice");
  ExpectError(
      Call("operator",
           Request("POST", "/v1/attestations/" + active.attestation_id() + "/revoke", R"({})")),
      400, "INVALID_ARGUMENT", "no reason");

  EXPECT_EQ(VerifyOnline(revoked.envelope()).code(), "REVOKED");
  EXPECT_FALSE(VerifyOnline(revoked.envelope()).valid());
  EXPECT_EQ(VerifyOnline(superseded.envelope()).code(), "SUPERSEDED");
  EXPECT_EQ(VerifyOnline(active.envelope()).code(), "VALID");

  // Offline: the published keys and status list, saved as a bank would.
  const test::Response keys = Call("bank", Request("GET", "/v1/keys"));
  ASSERT_EQ(keys.result_int(), 200);
  const test::Response status = Call("bank", Request("GET", "/v1/status-list"));
  ASSERT_EQ(status.result_int(), 200);
  const std::string keys_file = tmp_.WriteFile("keys.json", keys.body());
  const std::string status_file = tmp_.WriteFile("status.json", status.body());
  auto save_envelope = [&](const std::string& name, const std::string& id) {
    const test::Response r = Call("bank", Request("GET", "/v1/attestations/" + id));
    EXPECT_EQ(r.result_int(), 200);
    return tmp_.WriteFile(name, r.body());
  };
  const std::string revoked_file = save_envelope("revoked.json", revoked.attestation_id());
  const std::string superseded_file = save_envelope("superseded.json", superseded.attestation_id());
  const std::string active_file = save_envelope("active.json", active.attestation_id());

  const ProcessResult offline_revoked =
      Cli({"verify", revoked_file, "--trust", keys_file, "--status", status_file});
  EXPECT_EQ(offline_revoked.exit_code, 1) << offline_revoked.Describe();
  EXPECT_THAT(offline_revoked.stdout_text + offline_revoked.stderr_text, HasSubstr("REVOKED"));
  const ProcessResult offline_superseded =
      Cli({"verify", superseded_file, "--trust", keys_file, "--status", status_file});
  EXPECT_EQ(offline_superseded.exit_code, 1) << offline_superseded.Describe();
  EXPECT_THAT(offline_superseded.stdout_text + offline_superseded.stderr_text,
              HasSubstr("SUPERSEDED"));
  const ProcessResult offline_active =
      Cli({"verify", active_file, "--trust", keys_file, "--status", status_file});
  EXPECT_EQ(offline_active.exit_code, 0) << offline_active.Describe();
  EXPECT_THAT(offline_active.stdout_text, HasSubstr("VALID"));
}

// --- 10. Graceful stop and the audit log ----------------------------------------

// The audit log's records, one per non-empty line, by request id.
std::map<std::string, cg::v1::AuditRecord> AuditRecords(const std::string& audit) {
  std::map<std::string, cg::v1::AuditRecord> by_request;
  std::istringstream lines(audit);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;  // see TheAuditLogHasOneJsonObjectPerLine
    cg::v1::AuditRecord record;
    const Status parsed = JsonToMessage(line, &record);
    EXPECT_TRUE(parsed.ok()) << parsed.ToString() << "\n" << line;
    EXPECT_EQ(by_request.count(record.request_id()), 0u) << "two records of one request";
    by_request[record.request_id()] = record;
  }
  return by_request;
}

TEST_F(ServeTest, SigtermStopsGracefullyAndEveryRequestIsAudited) {
  std::vector<std::string> request_ids;
  auto call = [&](const std::string& client, const std::string& request) {
    const test::Response r = Call(client, request);
    request_ids.emplace_back(r["X-Request-Id"]);
    return r;
  };
  call("bank", Request("GET", "/v1/entities/" + suite->subject + "/evaluation"));
  const test::Response issued =
      call("bank", Request("POST", "/v1/attestations", IssueJson(suite->subject, "audit")));
  ASSERT_EQ(issued.result_int(), 201) << issued.body();
  call("agency", Request("GET", "/v1/entities/" + suite->subject + "/attestations"));
  call("firm", Request("GET", "/v1/entities/" + suite->subject + "/evaluation"));  // 403
  call("bank", Request("POST", "/v1/attestations", R"({"subject_id": )"));         // 400
  call("operator", Request("GET", "/v1/status-list"));
  // An idle keep-alive connection does not hold the stop up.
  auto idle = Connect("bank");
  ASSERT_FALSE(idle->Send(Request("GET", "/v1/keys")));
  const test::ReadResult idle_answer = idle->Read();
  ASSERT_EQ(idle_answer.response.result_int(), 200);
  request_ids.emplace_back(idle_answer.response["X-Request-Id"]);

  const auto start = std::chrono::steady_clock::now();
  const ProcessResult stopped =
      node_->Terminate(std::chrono::milliseconds(kShutdownGraceMs + 5000));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(stopped.exited()) << stopped.Describe();
  EXPECT_EQ(stopped.exit_code, 0) << stopped.Describe();
  EXPECT_LT(took, std::chrono::milliseconds(kShutdownGraceMs)) << stopped.Describe();
  EXPECT_TRUE(idle->Read(2s).error);  // closed by the stop

  const std::string audit = test::ReadWholeFile(File("audit.log"));
  std::map<std::string, cg::v1::AuditRecord> by_request = AuditRecords(audit);
  EXPECT_EQ(by_request.size(), request_ids.size()) << audit;
  for (const std::string& id : request_ids) {
    SCOPED_TRACE(id);
    ASSERT_EQ(by_request.count(id), 1u) << audit;
    const cg::v1::AuditRecord& record = by_request[id];
    EXPECT_FALSE(record.role().empty());
    EXPECT_FALSE(record.action().empty());
    EXPECT_FALSE(record.result().empty());
    EXPECT_NE(record.http_status(), 0);
  }
  EXPECT_EQ(by_request[request_ids[1]].action(), "issue");
  EXPECT_EQ(by_request[request_ids[1]].result(), "ok");
  EXPECT_EQ(by_request[request_ids[1]].attestation_id(),
            Parse<cg::v1::IssueResponse>(issued.body()).attestation_id());
  EXPECT_EQ(by_request[request_ids[3]].role(), "firm");
  EXPECT_EQ(by_request[request_ids[3]].result(), "FORBIDDEN");
  EXPECT_EQ(by_request[request_ids[4]].result(), "INVALID_JSON");
}

// Regression: every audit record was followed by an empty line (the record's JSON
// ends in '\n' and the audit logger added its own); fixed in 08af421.
TEST_F(ServeTest, TheAuditLogHasOneJsonObjectPerLine) {
  ASSERT_EQ(Call("bank", Request("GET", "/v1/keys")).result_int(), 200);
  ASSERT_EQ(Call("bank", Request("GET", "/v1/status-list")).result_int(), 200);
  const std::string audit = test::ReadWholeFile(File("audit.log"));
  ASSERT_FALSE(audit.empty());
  EXPECT_TRUE(audit.ends_with("}\n")) << audit;
  std::istringstream lines(audit);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    EXPECT_TRUE(line.starts_with("{") && line.ends_with("}"))
        << "line " << count + 1 << ": '" << line << "'";
  }
  EXPECT_EQ(count, 2) << audit;
}

// Regression: the API wrote the subject id a caller sent to the audit log before
// anything had checked it, so a person's id reached the log verbatim.
TEST_F(ServeTest, TheAuditLogHoldsNoRawPersonIds) {
  const std::string person = suite->person_ids.front();
  ExpectError(Call("bank", Request("GET", "/v1/entities/" + person + "/evaluation")), 400,
              "INVALID_ARGUMENT", "evaluation of a person");
  ExpectError(Call("bank", Request("GET", "/v1/entities/" + person + "/attestations")), 400,
              "INVALID_ARGUMENT", "attestations of a person");
  ExpectError(Call("bank", Request("POST", "/v1/attestations", IssueJson(person, "p"))), 400,
              "INVALID_ARGUMENT", "issue for a person");
  // A forged envelope: a real one whose payload now names the person.
  const auto issued = Issue("bank", suite->subject, "forge");
  cg::v1::Attestation forged;
  ASSERT_TRUE(forged.ParseFromString(issued.envelope().payload()));
  forged.mutable_evaluation()->mutable_subject()->set_id(person);
  cg::v1::Envelope forged_envelope = issued.envelope();
  forged_envelope.set_payload(forged.SerializeAsString());
  const cg::v1::VerificationReport report = VerifyOnline(forged_envelope);
  EXPECT_FALSE(report.valid());
  EXPECT_EQ(report.code(), "BAD_SIGNATURE");

  const std::string audit = test::ReadWholeFile(File("audit.log"));
  EXPECT_EQ(AuditRecords(audit).size(), 5u);
  // (Entity ids, uscc: and the like, are not personal data and may appear.)
  EXPECT_THAT(audit, HasSubstr(suite->subject));
  EXPECT_THAT(audit, Not(HasSubstr("person:"))) << audit;
  for (const std::string& id : suite->person_ids) {
    ASSERT_THAT(audit, Not(HasSubstr(id.substr(std::string("person:").size()))));
  }
}

// --- 11. SIGHUP -----------------------------------------------------------------

TEST_F(ServeTest, SighupReloadsTheServerCertificate) {
  auto before = Connect("bank");
  const std::string old_name = before->ServerCommonName();
  EXPECT_EQ(old_name, node_->node_id() + " dev server");

  gateway::CertificateSpec spec;
  spec.use = gateway::CertificateUse::kServer;
  spec.common_name = node_->node_id() + " renewed server";
  spec.dns_names = {"localhost"};
  spec.ip_addresses = {"127.0.0.1", "::1"};
  spec.not_before = Clock::now() - 1h;
  spec.not_after = Clock::now() + 24h;
  auto renewed = gateway::IssueCertificate(spec, suite->ca);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  // The key first: a reload between the two writes fails and keeps the old pair.
  ASSERT_TRUE(WriteFileAtomically(File("tls/server.key"), renewed->private_key_pem, 0600).ok());
  ASSERT_TRUE(WriteFileAtomically(File("tls/server.pem"), renewed->certificate_pem, 0644).ok());
  ASSERT_TRUE(node_->Hangup().ok());

  std::string new_name;
  for (int i = 0; i < 50 && new_name != spec.common_name; ++i) {
    std::this_thread::sleep_for(50ms);
    auto after = Connect("bank");
    new_name = after->ServerCommonName();
  }
  EXPECT_EQ(new_name, spec.common_name) << node_->StderrText();
  // It still serves, on the new certificate and on the connection opened before.
  EXPECT_EQ(Call("bank", Request("GET", "/v1/keys")).result_int(), 200);
  ASSERT_FALSE(before->Send(Request("GET", "/v1/keys")));
  EXPECT_EQ(before->Read().response.result_int(), 200);
  EXPECT_EQ(MetricValue(Admin("/metrics").body(), R"(tls_reloads_total{result="ok"})"), 1);
}

// Regression: serve printed its serving line before its signal handlers were in
// place, so a SIGTERM or SIGHUP sent on seeing the line killed the node.
TEST_F(ServeTest, SignalsRightAfterTheServingLineAreHandled) {
  node_->Kill();
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE("start " + std::to_string(i));
    StartNode();
    ASSERT_TRUE(node_);
    ASSERT_TRUE(node_->Hangup().ok());  // a reload: the node must go on
    const ProcessResult stopped = node_->Terminate();
    EXPECT_EQ(stopped.term_signal, 0) << stopped.Describe();
    EXPECT_EQ(stopped.exit_code, 0) << stopped.Describe();
  }
}

// --- The helper itself ------------------------------------------------------------

TEST_F(ServeTest, ANodeThatCannotStartIsReportedWithItsError) {
  node_->Kill();
  std::filesystem::remove(File("secrets/signing.passphrase"));
  NodeProcess::Options options;
  options.config_file = node_dir_.config_file;
  options.start_timeout = 10s;
  const auto start = std::chrono::steady_clock::now();
  auto started = NodeProcess::Start(options);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.status().code(), StatusCode::kUnavailable) << started.status().ToString();
  EXPECT_THAT(started.status().message(), HasSubstr("signing.passphrase"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);  // not the whole start_timeout
}

}  // namespace
}  // namespace cg
