// The HTTPS server core, end to end over loopback: a PKI made at test time
// (server_test_pki.h), the server in-process on 127.0.0.1 port 0, and real
// clients: a Beast/Asio TLS client (server_test_client.h), `openssl s_client` and
// curl. Timeouts are configured short so the slow cases stay quick.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/server/https_server.h"
#include "tests/metric_value.h"
#include "tests/server_test_client.h"
#include "tests/server_test_pki.h"
#include "tests/test_process.h"

namespace cg::gateway::server {
namespace {

using test::CertificateRequest;
using test::ProcessResult;
using test::RunProcess;
using test::TestCertificateAuthority;
using test::TestClient;
using test::TlsClientFiles;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr char kFirmSubject[] = "uscc:91440300MA5FXXXX";

// Every file the tests use, made once per test program.
struct Pki {
  test::TempDir dir;
  std::string ca;  // the trusted client CA (also signs the server certificates)
  TlsFiles server;
  std::map<std::string, TlsClientFiles> clients;    // by name: "agency", ..., "expired"
  std::map<std::string, std::string> certificates;  // PEM by client name

  TlsClientFiles Client(const std::string& name) const { return clients.at(name); }
};

Pki* MakePki() {
  auto* pki = new Pki;
  TestCertificateAuthority ca("Test Client CA");
  TestCertificateAuthority other_ca("Some Other CA");
  pki->ca = pki->dir.WriteFile("ca.pem", ca.certificate_pem());

  auto write_issued = [&](const std::string& name, const test::IssuedCertificate& issued) {
    TlsClientFiles files;
    files.certificate_file = pki->dir.WriteFile(name + ".crt", issued.certificate_pem);
    files.private_key_file = pki->dir.WriteFile(name + ".key", issued.private_key_pem, 0600);
    return files;
  };

  CertificateRequest server;
  server.common_name = "server-a";
  server.san_ips = {"127.0.0.1"};
  server.san_dns = {"localhost"};
  server.for_server = true;
  const TlsClientFiles server_files = write_issued("server-a", ca.Issue(server));
  pki->server = {server_files.certificate_file, server_files.private_key_file, {pki->ca}};
  server.common_name = "server-b";
  write_issued("server-b", ca.Issue(server));

  auto client = [&](const std::string& name, const TestCertificateAuthority& issuer,
                    std::vector<std::string> units, std::vector<std::string> uris = {},
                    std::chrono::seconds not_before = -3600s,
                    std::chrono::seconds not_after = 86400s) {
    CertificateRequest request;
    request.common_name = name + ".client.test";
    request.organizational_units = std::move(units);
    request.san_uris = std::move(uris);
    request.not_before = not_before;
    request.not_after = not_after;
    const test::IssuedCertificate issued = issuer.Issue(request);
    pki->certificates[name] = issued.certificate_pem;
    pki->clients[name] = write_issued(name, issued);
  };
  client("agency", ca, {"Credit Agencies"});
  client("firm", ca, {"Firms"},
         {std::string("urn:gba-credit:subject:") + kFirmSubject, "https://firm.example/"});
  client("firm2", ca, {"Firms"});
  client("bank", ca, {"Banks"});
  client("peer", ca, {"Peer Nodes"});
  client("operator", ca, {"Operators"});
  client("norole", ca, {"Visitors"});
  client("ambiguous", ca, {"Banks", "Operators"});
  client("otherca", other_ca, {"Banks"});
  client("expired", ca, {"Banks"}, {}, -2 * 86400s, -86400s);
  return pki;
}

const Pki& TestPki() {
  static Pki* pki = MakePki();  // leaked on purpose: lives as long as the program
  return *pki;
}

std::string Request(const std::string& method, const std::string& target,
                    const std::string& body = "", const std::string& extra = "") {
  std::string text = method + " " + target + " HTTP/1.1\r\nHost: gateway.test\r\n" + extra;
  if (!body.empty() || method == "POST")
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return text + "\r\n" + body;
}

using test::MetricValue;

class ServerTest : public ::testing::Test {
 protected:
  ServerOptions Options() {
    ServerOptions options;
    options.api_address = "127.0.0.1";
    options.api_port = 0;
    options.admin_address = "127.0.0.1";
    options.admin_port = 0;
    options.io_threads = 2;
    options.handler_threads = 2;
    options.tls = TestPki().server;
    options.roles = {{"Credit Agencies", Role::kAgency},
                     {"Firms", Role::kFirm},
                     {"Banks", Role::kBank},
                     {"Peer Nodes", Role::kPeer},
                     {"Operators", Role::kOperator}};
    options.limits.shutdown_grace = 5s;
    options.limits.handshake_timeout = 3s;
    options.limits.header_read_timeout = 3s;
    options.limits.body_read_timeout = 3s;
    options.limits.idle_timeout = 5s;
    options.limits.close_timeout = 500ms;
    options.route_namer = [](std::string_view, std::string_view target) {
      return std::string(target.starts_with("/echo") ? "echo" : "other");
    };
    options.handler = [this](const HttpRequest& request) { return Handle(request); };
    return options;
  }

  void Start(ServerOptions options) {
    StatusOr<std::unique_ptr<HttpsServer>> server = HttpsServer::Create(std::move(options));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = *std::move(server);
    ASSERT_TRUE(server_->Start().ok());
  }
  void Start() { Start(Options()); }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  // The test handler: /echo... answers "role cn target body", /slow waits first,
  // /throw throws.
  HttpResponse Handle(const HttpRequest& request) {
    {
      std::lock_guard lock(mutex_);
      seen_.push_back(request);
    }
    if (request.target == "/slow") {
      slow_started_ = true;
      std::this_thread::sleep_for(slow_for_);
    }
    if (request.target == "/throw") throw std::runtime_error("handler bug");
    if (request.target == "/big")
      return HttpResponse{200, "text/plain", std::string(32 << 20, 'x'), {}};
    if (request.target == "/nothing") return HttpResponse{204, "", "ignored body", {}};
    HttpResponse response;
    response.content_type = "text/plain";
    response.body = std::string(request.client.role ? RoleName(*request.client.role) : "none") +
                    " " + request.client.common_name + " " + request.target + " " + request.body;
    response.headers.emplace_back("X-Test", "yes");
    response.headers.emplace_back("X-Evil", "a\r\nInjected: 1");
    return response;
  }

  std::vector<HttpRequest> Seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

  std::unique_ptr<TestClient> Connect(const std::string& client_name) {
    auto client = TestClient::Tls(TestPki().ca, TestPki().Client(client_name));
    const auto ec = client->Connect(server_->api_port());
    EXPECT_FALSE(ec) << client_name << ": " << ec.message();
    return client;
  }

  // Sends `request` on a new connection as `client_name` and returns the response.
  test::Response Call(const std::string& client_name, const std::string& request) {
    auto client = Connect(client_name);
    EXPECT_FALSE(client->Send(request));
    test::ReadResult result = client->Read();
    EXPECT_FALSE(result.error) << result.error.message();
    return result.response;
  }

  // Waits (up to 3 s) until the series reaches `at_least`; returns its last value.
  double WaitForMetric(const std::string& series, double at_least) {
    double value = -1;
    for (int i = 0; i < 300; ++i) {
      value = MetricValue(server_->metrics().Render(), series);
      if (value >= at_least) break;
      std::this_thread::sleep_for(10ms);
    }
    return value;
  }

  // A client that must not get an HTTP answer: the handshake fails, or (TLS 1.3,
  // where the client finishes before the server checks its certificate) the
  // connection ends without a response.
  void ExpectRefused(TestClient& client) {
    const auto ec = client.Connect(server_->api_port());
    if (ec) return;
    if (client.Send(Request("GET", "/echo"))) return;
    const test::ReadResult result = client.Read();
    EXPECT_TRUE(result.error) << "got HTTP " << result.response.result_int();
  }

  std::unique_ptr<HttpsServer> server_;
  std::mutex mutex_;
  std::vector<HttpRequest> seen_;
  std::atomic<bool> slow_started_{false};
  std::chrono::milliseconds slow_for_{700};
};

// --- TLS and identity ---------------------------------------------------------

TEST_F(ServerTest, ValidClientCertificateReachesTheHandlerWithItsIdentity) {
  Start();
  const test::Response response = Call("agency", Request("GET", "/echo/1"));
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "agency agency.client.test /echo/1 ");
  EXPECT_EQ(response["X-Test"], "yes");
  EXPECT_EQ(response["Injected"], "");  // the header with CR LF was dropped
  const std::string request_id(response["X-Request-Id"]);
  EXPECT_THAT(request_id, ::testing::MatchesRegex("[0-9a-f]{16}"));

  const std::vector<HttpRequest> seen = Seen();
  ASSERT_EQ(seen.size(), 1u);
  const HttpRequest& request = seen[0];
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.request_id, request_id);
  ASSERT_NE(request.FindHeader("host"), nullptr);
  EXPECT_EQ(*request.FindHeader("host"), "gateway.test");
  EXPECT_EQ(request.client.common_name, "agency.client.test");
  EXPECT_EQ(request.client.fingerprint,
            test::CertificateFingerprint(TestPki().certificates.at("agency")));
  EXPECT_EQ(request.client.role, Role::kAgency);
  EXPECT_EQ(request.client.organizational_units, std::vector<std::string>{"Credit Agencies"});
  EXPECT_TRUE(request.client.subjects.empty());
  EXPECT_EQ(request.client.peer_address, "127.0.0.1");
}

// A request the server is told to answer inline is answered on the network thread:
// here while the only handler thread is busy with a slow request.
TEST_F(ServerTest, RequestsAnsweredInlineDoNotWaitForAHandlerThread) {
  ServerOptions options = Options();
  options.handler_threads = 1;
  options.answering = [](const HttpRequest& request, std::string_view) {
    return request.target.starts_with("/echo-inline") ? Answering::kInline
                                                      : Answering::kHandlerThread;
  };
  slow_for_ = 1500ms;
  Start(std::move(options));
  auto slow = Connect("bank");
  ASSERT_FALSE(slow->Send(Request("GET", "/slow")));
  for (int i = 0; i < 300 && !slow_started_; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(slow_started_);

  const auto started = std::chrono::steady_clock::now();
  const test::Response inline_answer = Call("bank", Request("GET", "/echo-inline"));
  EXPECT_EQ(inline_answer.result_int(), 200);
  EXPECT_THAT(inline_answer.body(), HasSubstr("/echo-inline"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1000ms)
      << "the inline request waited for the busy handler thread";
  EXPECT_EQ(slow->Read().response.result_int(), 200);
}

// --- answers that come later (Answering::kAsync) --------------------------------

// Requests to /async... go to an asynchronous handler that keeps their Responders;
// the test answers them from a thread of its own, as a group commit would.
class AsyncServerTest : public ServerTest {
 protected:
  ServerOptions AsyncOptions() {
    ServerOptions options = Options();
    options.answering = [](const HttpRequest& request, std::string_view) {
      return request.target.starts_with("/async") ? Answering::kAsync : Answering::kHandlerThread;
    };
    options.async_handler = [this](const HttpRequest& request, Responder respond) {
      if (request.target == "/async-throw") throw std::runtime_error("handler bug");
      if (request.target == "/async-drop") return;  // never answers
      if (request.target == "/async-now") {
        return respond([target = request.target] {
          return HttpResponse{200, "text/plain", "now " + target, {}};
        });
      }
      std::lock_guard lock(mutex_);
      owed_.push_back({request.target, std::move(respond)});
    };
    return options;
  }

  // Waits (up to 3 s) until `n` answers are owed.
  bool WaitForOwed(size_t n) {
    for (int i = 0; i < 300; ++i) {
      {
        std::lock_guard lock(mutex_);
        if (owed_.size() >= n) return true;
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  // Answers the owed request `i` from this thread; its response says which thread
  // made it.
  void Answer(size_t i) {
    std::lock_guard lock(mutex_);
    const std::string target = owed_.at(i).first;
    owed_.at(i).second([this, target] {
      made_on_.push_back(std::this_thread::get_id());
      return HttpResponse{200, "text/plain", "later " + target, {}};
    });
  }

  // Answers (500) what a failed test left owed: Stop() would wait for it.
  void TearDown() override {
    {
      std::lock_guard lock(mutex_);
      owed_.clear();
    }
    ServerTest::TearDown();
  }

  std::vector<std::pair<std::string, Responder>> owed_;  // guarded by mutex_
  std::vector<std::thread::id> made_on_;                 // the makers' threads
};

TEST_F(AsyncServerTest, AnswersComeWhenTheWorkIsDoneWithoutHoldingAThread) {
  ServerOptions options = AsyncOptions();
  options.io_threads = 1;
  options.handler_threads = 1;
  Start(std::move(options));
  std::vector<std::unique_ptr<TestClient>> clients;
  for (const std::string target : {"/async-a", "/async-b", "/async-c"}) {
    clients.push_back(Connect("bank"));
    ASSERT_FALSE(clients.back()->Send(Request("POST", target, "x")));
  }
  ASSERT_TRUE(WaitForOwed(3));
  // Three answers owed, and the one network thread and the one handler thread
  // still serve everyone else.
  EXPECT_EQ(Call("agency", Request("GET", "/echo")).result_int(), 200);
  EXPECT_EQ(Call("agency", Request("GET", "/async-now")).body(), "now /async-now");

  // Answered out of order, from this thread; the responses are made on the
  // network thread.
  for (const size_t i : {2, 0, 1}) Answer(i);
  const std::string expected[] = {"later /async-a", "later /async-b", "later /async-c"};
  for (size_t i = 0; i < 3; ++i) {
    const test::ReadResult result = clients[i]->Read();
    ASSERT_FALSE(result.error) << result.error.message();
    EXPECT_EQ(result.response.result_int(), 200);
    EXPECT_EQ(result.response.body(), expected[i]);
    EXPECT_TRUE(result.response.keep_alive());
  }
  {
    std::lock_guard lock(mutex_);
    ASSERT_EQ(made_on_.size(), 3u);
    for (const std::thread::id& id : made_on_) EXPECT_NE(id, std::this_thread::get_id());
    // A second answer through the same Responder is ignored.
    owed_.at(0).second([] { return HttpResponse{418, "text/plain", "again", {}}; });
  }
  ASSERT_FALSE(clients[0]->Send(Request("GET", "/echo")));
  const test::ReadResult next = clients[0]->Read();
  ASSERT_FALSE(next.error) << next.error.message();
  EXPECT_EQ(next.response.result_int(), 200);
  EXPECT_THAT(next.response.body(), HasSubstr("/echo"));
}

TEST_F(AsyncServerTest, AnAnswerNeverGivenOrThatFailsIs500AndTheConnectionGoesOn) {
  Start(AsyncOptions());
  auto client = Connect("bank");
  for (const std::string target : {"/async-drop", "/async-throw"}) {
    ASSERT_FALSE(client->Send(Request("POST", target, "x")));
    const test::ReadResult result = client->Read();
    ASSERT_FALSE(result.error) << target << ": " << result.error.message();
    EXPECT_EQ(result.response.result_int(), 500) << target;
    EXPECT_THAT(result.response.body(), HasSubstr("\"code\":\"INTERNAL\"")) << target;
  }
  // A maker that throws.
  ASSERT_FALSE(client->Send(Request("POST", "/async-x", "x")));
  ASSERT_TRUE(WaitForOwed(1));
  {
    std::lock_guard lock(mutex_);
    owed_.at(0).second([]() -> HttpResponse { throw std::runtime_error("render bug"); });
  }
  EXPECT_EQ(client->Read().response.result_int(), 500);
  ASSERT_FALSE(client->Send(Request("GET", "/echo")));
  EXPECT_EQ(client->Read().response.result_int(), 200);
}

TEST_F(AsyncServerTest, StopWaitsForAnAnswerStillOwed) {
  ServerOptions options = AsyncOptions();
  options.limits.shutdown_grace = 200ms;
  Start(std::move(options));
  auto client = Connect("bank");
  ASSERT_FALSE(client->Send(Request("POST", "/async-late", "x")));
  ASSERT_TRUE(WaitForOwed(1));

  std::atomic<bool> stopped{false};
  const auto start = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    server_->Stop();
    stopped = true;
  });
  // Past the grace the connection is closed, but Stop still waits for the answer
  // owed: the io_context it is delivered to must outlive the delivery.
  EXPECT_TRUE(client->Read(2s).error);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);  // closed, not timed out
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(stopped);
  Answer(0);
  stopper.join();
  EXPECT_GE(std::chrono::steady_clock::now() - start, 500ms);
  std::lock_guard lock(mutex_);
  EXPECT_TRUE(made_on_.empty());  // the network threads had gone: never made
}

TEST_F(ServerTest, EveryConfiguredRoleIsRecognised) {
  Start();
  for (const auto& [name, role] :
       std::vector<std::pair<std::string, Role>>{{"agency", Role::kAgency},
                                                 {"firm", Role::kFirm},
                                                 {"bank", Role::kBank},
                                                 {"peer", Role::kPeer},
                                                 {"operator", Role::kOperator}}) {
    const test::Response response = Call(name, Request("GET", "/echo"));
    EXPECT_EQ(response.result_int(), 200) << name;
    EXPECT_THAT(response.body(), ::testing::StartsWith(std::string(RoleName(role)) + " ")) << name;
  }
}

TEST_F(ServerTest, AFirmSeesTheSubjectsOfItsCertificate) {
  Start();
  EXPECT_EQ(Call("firm", Request("GET", "/echo")).result_int(), 200);
  const std::vector<HttpRequest> seen = Seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].client.role, Role::kFirm);
  EXPECT_EQ(seen[0].client.subjects, std::vector<std::string>{kFirmSubject});
  EXPECT_EQ(seen[0].client.san_uris.size(), 2u);
}

TEST_F(ServerTest, ACertificateWithoutARoleGets403BeforeTheHandler) {
  Start();
  for (const std::string name : {"norole", "ambiguous"}) {
    const test::Response response = Call(name, Request("GET", "/echo"));
    EXPECT_EQ(response.result_int(), 403) << name;
    EXPECT_THAT(response.body(), HasSubstr("\"code\":\"NO_ROLE\"")) << name;
    EXPECT_THAT(response.body(), HasSubstr(std::string(response["X-Request-Id"])));
  }
  EXPECT_TRUE(Seen().empty());
  EXPECT_EQ(MetricValue(server_->metrics().Render(), "rejected_requests_total{reason=\"no_role\"}"),
            2);
}

TEST_F(ServerTest, NoClientCertificateIsRefusedAtTheHandshake) {
  Start();
  auto client = TestClient::Tls(TestPki().ca, std::nullopt);
  ExpectRefused(*client);
  EXPECT_EQ(WaitForMetric("tls_handshake_failures_total{reason=\"no_client_certificate\"}", 1), 1);
  EXPECT_TRUE(Seen().empty());
}

TEST_F(ServerTest, ACertificateFromAnotherCaIsRefused) {
  Start();
  auto client = TestClient::Tls(TestPki().ca, TestPki().Client("otherca"));
  ExpectRefused(*client);
  EXPECT_EQ(WaitForMetric("tls_handshake_failures_total{reason=\"certificate_verify_failed\"}", 1),
            1);
  EXPECT_TRUE(Seen().empty());
}

TEST_F(ServerTest, AnExpiredCertificateIsRefused) {
  Start();
  auto client = TestClient::Tls(TestPki().ca, TestPki().Client("expired"));
  ExpectRefused(*client);
  EXPECT_EQ(WaitForMetric("tls_handshake_failures_total{reason=\"certificate_verify_failed\"}", 1),
            1);
  EXPECT_TRUE(Seen().empty());
}

TEST_F(ServerTest, TheServerDoesNotSpeakPlainHttpOnTheApiListener) {
  Start();
  auto client = TestClient::Plain();
  ASSERT_FALSE(client->Connect(server_->api_port()));
  ASSERT_FALSE(client->Send(Request("GET", "/echo")));
  EXPECT_TRUE(client->Read().error);
}

ProcessResult SClient(uint16_t port, std::vector<std::string> extra) {
  const TlsClientFiles bank = TestPki().Client("bank");
  std::vector<std::string> argv = {
      OPENSSL_BIN, "s_client",           "-connect", "127.0.0.1:" + std::to_string(port),
      "-CAfile",   TestPki().ca,         "-cert",    bank.certificate_file,
      "-key",      bank.private_key_file};
  argv.insert(argv.end(), extra.begin(), extra.end());
  test::ProcessOptions options;
  options.stdin_text = "";
  options.timeout = 20s;
  return RunProcess(argv, options);
}

TEST_F(ServerTest, OldProtocolVersionsAreRefused) {
  Start();
  // Positive control: the same command line with TLS 1.2 and an allowed suite.
  const ProcessResult good =
      SClient(server_->api_port(), {"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"});
  EXPECT_EQ(good.exit_code, 0) << good.Describe();
  for (const std::string version : {"-tls1", "-tls1_1"}) {
    // SECLEVEL=0 lets the client offer the old version at all.
    const ProcessResult result =
        SClient(server_->api_port(), {version, "-cipher", "DEFAULT:@SECLEVEL=0"});
    EXPECT_NE(result.exit_code, 0) << version << "\n" << result.Describe();
  }
  EXPECT_GE(WaitForMetric("tls_handshake_failures_total{reason=\"protocol_version\"}", 2), 2);
}

TEST_F(ServerTest, WeakTls12CipherSuitesAreRefused) {
  Start();
  for (const std::string cipher :
       {"AES128-SHA", "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384"}) {
    const ProcessResult result = SClient(server_->api_port(), {"-tls1_2", "-cipher", cipher});
    EXPECT_NE(result.exit_code, 0) << cipher << "\n" << result.Describe();
  }
  const ProcessResult chacha =
      SClient(server_->api_port(), {"-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"});
  EXPECT_EQ(chacha.exit_code, 0) << chacha.Describe();
  const ProcessResult tls13 = SClient(server_->api_port(), {"-tls1_3"});
  EXPECT_EQ(tls13.exit_code, 0) << tls13.Describe();
}

TEST_F(ServerTest, CurlWithAClientCertificateGetsAnAnswer) {
  Start();
  const TlsClientFiles bank = TestPki().Client("bank");
  test::ProcessOptions options;
  options.timeout = 20s;
  const ProcessResult result = RunProcess(
      {"/usr/bin/curl", "-sS", "--max-time", "10", "-D", "-", "--cacert", TestPki().ca, "--cert",
       bank.certificate_file, "--key", bank.private_key_file, "--data-binary", "hello", "-H",
       "Expect:", "https://127.0.0.1:" + std::to_string(server_->api_port()) + "/echo/curl"},
      options);
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_THAT(result.stdout_text, HasSubstr("HTTP/1.1 200"));
  EXPECT_THAT(result.stdout_text, ::testing::ContainsRegex("[Xx]-[Rr]equest-[Ii]d: [0-9a-f]{16}"));
  EXPECT_THAT(result.stdout_text, HasSubstr("bank bank.client.test /echo/curl hello"));
}

TEST_F(ServerTest, CurlGets100ContinueForALargeBody) {
  Start();
  const TlsClientFiles bank = TestPki().Client("bank");
  const std::string body_file = TestPki().dir.WriteFile("body.txt", std::string(100000, 'z'));
  test::ProcessOptions options;
  options.timeout = 20s;
  const auto start = std::chrono::steady_clock::now();
  const ProcessResult result =
      RunProcess({"/usr/bin/curl",
                  "-sS",
                  "--max-time",
                  "10",
                  "-o",
                  "/dev/null",
                  "-w",
                  "%{http_code}",
                  "--expect100-timeout",
                  "5",
                  "--cacert",
                  TestPki().ca,
                  "--cert",
                  bank.certificate_file,
                  "--key",
                  bank.private_key_file,
                  "-H",
                  "Expect: 100-continue",
                  "--data-binary",
                  "@" + body_file,
                  "https://127.0.0.1:" + std::to_string(server_->api_port()) + "/echo"},
                 options);
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_EQ(result.stdout_text, "200");
  // Without the interim response curl would have waited out its 5 s.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  const std::vector<HttpRequest> seen = Seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body.size(), 100000u);
}

// --- HTTP limits --------------------------------------------------------------

TEST_F(ServerTest, AnOversizedHeaderGets431AndTheServerGoesOn) {
  ServerOptions options = Options();
  options.limits.max_header_bytes = 1024;
  Start(options);
  auto client = Connect("bank");
  ASSERT_FALSE(
      client->Send(Request("GET", "/echo", "", "X-Big: " + std::string(4000, 'a') + "\r\n")));
  const test::ReadResult result = client->Read();
  ASSERT_FALSE(result.error) << result.error.message();
  EXPECT_EQ(result.response.result_int(), 431);
  EXPECT_THAT(result.response.body(), HasSubstr("\"code\":\"HEADER_TOO_LARGE\""));
  EXPECT_FALSE(result.response.keep_alive());
  EXPECT_TRUE(client->Read().error);  // closed

  EXPECT_EQ(Call("bank", Request("GET", "/echo")).result_int(), 200);
  EXPECT_EQ(MetricValue(server_->metrics().Render(),
                        "rejected_requests_total{reason=\"header_too_large\"}"),
            1);
}

TEST_F(ServerTest, AnOversizedBodyGets413) {
  ServerOptions options = Options();
  options.limits.max_body_bytes = 1000;
  Start(options);
  // Declared by Content-Length.
  test::Response response = Call("bank", Request("POST", "/echo", std::string(1001, 'b')));
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_THAT(response.body(), HasSubstr("\"code\":\"BODY_TOO_LARGE\""));
  // Found out while reading chunks.
  const std::string chunk = std::string(600, 'c');
  response = Call("bank",
                  "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "258\r\n" +
                      chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n");
  EXPECT_EQ(response.result_int(), 413);
  // At the limit is fine.
  response = Call("bank", Request("POST", "/echo", std::string(1000, 'd')));
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(Seen().size(), 1u);
}

TEST_F(ServerTest, MalformedHttpGets400) {
  Start();
  for (const std::string& bad : {std::string("NOT HTTP AT ALL\r\n\r\n"),
                                 std::string("GET /echo HTTP/1.1\r\nNo colon here\r\n\r\n"),
                                 std::string("GET /echo HTTP/1.1\r\nContent-Length: x\r\n\r\n")}) {
    const test::Response response = Call("bank", bad);
    EXPECT_EQ(response.result_int(), 400) << bad;
    EXPECT_THAT(response.body(), HasSubstr("\"code\":\"MALFORMED_REQUEST\""));
  }
  EXPECT_TRUE(Seen().empty());
  EXPECT_EQ(Call("bank", Request("GET", "/echo")).result_int(), 200);
}

TEST_F(ServerTest, ASlowlorisClientIsCutOffWhileOthersAreServed) {
  ServerOptions options = Options();
  options.limits.header_read_timeout = 400ms;
  Start(options);
  auto slow = Connect("bank");
  ASSERT_FALSE(slow->Send("GET /echo HTTP/1.1\r\nHost: slow\r\n"));  // never finishes
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Call("agency", Request("GET", "/echo")).result_int(), 200);
  const test::ReadResult result = slow->Read(3s);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(result.error) << "got HTTP " << result.response.result_int();
  EXPECT_GE(waited, 300ms);
  EXPECT_LT(waited, 2500ms);
  EXPECT_EQ(WaitForMetric("rejected_requests_total{reason=\"header_timeout\"}", 1), 1);
}

TEST_F(ServerTest, TheHeaderTimeoutStartsAtTheFirstByteNotAtIdle) {
  ServerOptions options = Options();
  options.limits.header_read_timeout = 300ms;
  Start(options);
  auto client = Connect("bank");
  std::this_thread::sleep_for(700ms);  // idle, within the idle timeout
  ASSERT_FALSE(client->Send(Request("GET", "/echo")));
  const test::ReadResult result = client->Read();
  ASSERT_FALSE(result.error) << result.error.message();
  EXPECT_EQ(result.response.result_int(), 200);
}

TEST_F(ServerTest, AnIdleKeepAliveConnectionIsClosed) {
  ServerOptions options = Options();
  options.limits.idle_timeout = 300ms;
  Start(options);
  auto client = Connect("bank");
  ASSERT_FALSE(client->Send(Request("GET", "/echo")));
  ASSERT_EQ(client->Read().response.result_int(), 200);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client->Read(3s).error);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(ServerTest, ABodyThatNeverArrivesIsCutOff) {
  ServerOptions options = Options();
  options.limits.body_read_timeout = 300ms;
  Start(options);
  auto slow = Connect("bank");
  ASSERT_FALSE(slow->Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  EXPECT_TRUE(slow->Read(3s).error);
  EXPECT_EQ(WaitForMetric("rejected_requests_total{reason=\"body_timeout\"}", 1), 1);
  EXPECT_TRUE(Seen().empty());
}

TEST_F(ServerTest, AClientThatDoesNotReadItsResponseIsCutOff) {
  ServerOptions options = Options();
  options.limits.write_timeout = 300ms;
  Start(options);
  auto client = Connect("bank");
  ASSERT_FALSE(client->Send(Request("GET", "/big")));  // 32 MiB, never read
  EXPECT_EQ(WaitForMetric("rejected_requests_total{reason=\"write_timeout\"}", 1), 1);
  EXPECT_EQ(Call("agency", Request("GET", "/echo")).result_int(), 200);
}

TEST_F(ServerTest, HeadAnd204ResponsesHaveNoBody) {
  Start();
  auto client = Connect("bank");
  ASSERT_FALSE(client->Send(Request("HEAD", "/echo") + Request("GET", "/nothing") +
                            Request("GET", "/echo")));
  test::ReadResult result = client->Read(5s, /*to_head=*/true);
  ASSERT_FALSE(result.error) << result.error.message();
  EXPECT_EQ(result.response.result_int(), 200);
  EXPECT_EQ(result.response[boost::beast::http::field::content_length],
            std::to_string(std::string("bank bank.client.test /echo ").size()));
  result = client->Read();
  ASSERT_FALSE(result.error) << result.error.message();
  EXPECT_EQ(result.response.result_int(), 204);
  EXPECT_EQ(result.response.body(), "");
  result = client->Read();  // the stream is still in step
  ASSERT_FALSE(result.error) << result.error.message();
  EXPECT_EQ(result.response.body(), "bank bank.client.test /echo ");
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  ServerOptions options = Options();
  options.limits.max_pipelined = 2;  // fewer than are sent: reading pauses and resumes
  Start(options);
  auto client = Connect("bank");
  std::string burst;
  for (int i = 1; i <= 6; ++i)
    burst += Request("POST", "/echo/" + std::to_string(i), "b" + std::to_string(i));
  ASSERT_FALSE(client->Send(burst));
  for (int i = 1; i <= 6; ++i) {
    const test::ReadResult result = client->Read();
    ASSERT_FALSE(result.error) << i << ": " << result.error.message();
    EXPECT_EQ(result.response.result_int(), 200);
    EXPECT_EQ(result.response.body(),
              "bank bank.client.test /echo/" + std::to_string(i) + " b" + std::to_string(i));
  }
}

TEST_F(ServerTest, ConnectionCloseAndHttp10EndTheConnectionAfterTheAnswer) {
  Start();
  for (const std::string& request : {Request("GET", "/echo", "", "Connection: close\r\n"),
                                     std::string("GET /echo HTTP/1.0\r\nHost: x\r\n\r\n")}) {
    auto client = Connect("bank");
    ASSERT_FALSE(client->Send(request + Request("GET", "/echo/ignored")));
    const test::ReadResult result = client->Read();
    ASSERT_FALSE(result.error) << result.error.message();
    EXPECT_EQ(result.response.result_int(), 200);
    EXPECT_FALSE(result.response.keep_alive());
    EXPECT_TRUE(client->Read(2s).error);  // closed; the second request is not read
  }
  EXPECT_EQ(Seen().size(), 2u);
}

TEST_F(ServerTest, AClientOverItsRateGets429WithRetryAfter) {
  ServerOptions options = Options();
  options.limits.rate_per_second = 0.1;  // slow enough that no token comes back mid-test
  options.limits.rate_burst = 3;
  Start(options);
  auto client = Connect("bank");
  for (int i = 0; i < 4; ++i) {
    ASSERT_FALSE(client->Send(Request("GET", "/echo")));
    const test::ReadResult result = client->Read();
    ASSERT_FALSE(result.error);
    if (i < 3) {
      EXPECT_EQ(result.response.result_int(), 200) << i;
    } else {
      EXPECT_EQ(result.response.result_int(), 429);
      EXPECT_THAT(result.response.body(), HasSubstr("\"code\":\"RATE_LIMITED\""));
      const int retry_after = std::stoi(std::string(result.response["Retry-After"]));
      EXPECT_GE(retry_after, 1);
      EXPECT_LE(retry_after, 10);
      EXPECT_TRUE(result.response.keep_alive());  // the connection stays usable
    }
  }
  // The limit is per client: another certificate still gets through.
  EXPECT_EQ(Call("agency", Request("GET", "/echo")).result_int(), 200);
  EXPECT_EQ(Seen().size(), 4u);
}

TEST_F(ServerTest, ConnectionsBeyondTheMaximumAreClosedAtOnce) {
  ServerOptions options = Options();
  options.limits.max_connections = 2;
  Start(options);
  auto first = Connect("bank");
  auto second = Connect("agency");
  for (auto* client : {first.get(), second.get()}) {
    ASSERT_FALSE(client->Send(Request("GET", "/echo")));
    ASSERT_EQ(client->Read().response.result_int(), 200);
  }
  auto third = TestClient::Tls(TestPki().ca, TestPki().Client("peer"));
  ExpectRefused(*third);
  EXPECT_EQ(WaitForMetric("rejected_requests_total{reason=\"too_many_connections\"}", 1), 1);

  first->Close();
  for (int i = 0; i < 300 && MetricValue(server_->metrics().Render(),
                                         "connections_active{listener=\"api\"}") > 1;
       ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(Call("peer", Request("GET", "/echo")).result_int(), 200);
}

TEST_F(ServerTest, AThrowingHandlerGives500AndTheConnectionGoesOn) {
  Start();
  auto client = Connect("bank");
  ASSERT_FALSE(client->Send(Request("GET", "/throw") + Request("GET", "/echo")));
  test::ReadResult result = client->Read();
  EXPECT_EQ(result.response.result_int(), 500);
  EXPECT_THAT(result.response.body(), HasSubstr("\"code\":\"INTERNAL\""));
  EXPECT_THAT(result.response.body(), Not(HasSubstr("handler bug")));
  result = client->Read();
  EXPECT_EQ(result.response.result_int(), 200);
}

// --- reload, stop, signals ------------------------------------------------------

TEST_F(ServerTest, ReloadSwapsTheCertificateForNewConnections) {
  Start();
  auto before = Connect("bank");
  EXPECT_EQ(before->ServerCommonName(), "server-a");

  TlsFiles next = TestPki().server;
  next.certificate_chain_file = TestPki().dir.File("server-b.crt");
  next.private_key_file = TestPki().dir.File("server-b.key");
  ASSERT_TRUE(server_->ReloadTls(next).ok());
  EXPECT_EQ(Connect("bank")->ServerCommonName(), "server-b");
  // The open connection keeps working.
  ASSERT_FALSE(before->Send(Request("GET", "/echo")));
  EXPECT_EQ(before->Read().response.result_int(), 200);

  // Bad files: an error, and the current certificate stays.
  TlsFiles missing = next;
  missing.private_key_file = TestPki().dir.File("no-such.key");
  EXPECT_EQ(server_->ReloadTls(missing).code(), StatusCode::kNotFound);
  TlsFiles mismatched = next;
  mismatched.private_key_file = TestPki().dir.File("server-a.key");
  EXPECT_EQ(server_->ReloadTls(mismatched).code(), StatusCode::kInvalidArgument);
  TlsFiles garbage = next;
  garbage.client_ca_files = {TestPki().dir.WriteFile("garbage.pem", "not a certificate\n")};
  EXPECT_EQ(server_->ReloadTls(garbage).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Connect("bank")->ServerCommonName(), "server-b");
  EXPECT_EQ(MetricValue(server_->metrics().Render(), "tls_reloads_total{result=\"error\"}"), 3);
}

TEST_F(ServerTest, ReloadRereadsTheConfiguredFiles) {
  test::TempDir dir;
  ServerOptions options = Options();
  options.tls.certificate_chain_file =
      dir.WriteFile("server.crt", test::ReadWholeFile(TestPki().server.certificate_chain_file));
  options.tls.private_key_file =
      dir.WriteFile("server.key", test::ReadWholeFile(TestPki().server.private_key_file));
  Start(options);
  EXPECT_EQ(Connect("bank")->ServerCommonName(), "server-a");
  dir.WriteFile("server.crt", test::ReadWholeFile(TestPki().dir.File("server-b.crt")));
  dir.WriteFile("server.key", test::ReadWholeFile(TestPki().dir.File("server-b.key")));
  ASSERT_TRUE(server_->ReloadTls().ok());
  EXPECT_EQ(Connect("bank")->ServerCommonName(), "server-b");
}

TEST_F(ServerTest, GracefulStopLetsAnInFlightRequestFinish) {
  Start();
  auto idle = Connect("agency");  // an idle keep-alive connection does not hold Stop up
  auto busy = Connect("bank");
  // /slow starts; the /echo queued behind it is answered 503 once Stop() begins.
  ASSERT_FALSE(busy->Send(Request("GET", "/slow") + Request("GET", "/echo")));
  for (int i = 0; i < 300 && !slow_started_; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(slow_started_);

  const auto start = std::chrono::steady_clock::now();
  std::thread stopper([&] { server_->Stop(); });
  test::ReadResult result = busy->Read();
  ASSERT_FALSE(result.error) << result.error.message();
  EXPECT_EQ(result.response.result_int(), 200);
  EXPECT_EQ(result.response.body(), "bank bank.client.test /slow ");
  result = busy->Read();
  ASSERT_FALSE(result.error) << result.error.message();
  EXPECT_EQ(result.response.result_int(), 503);
  EXPECT_THAT(result.response.body(), HasSubstr("\"code\":\"SHUTTING_DOWN\""));
  EXPECT_FALSE(result.response.keep_alive());
  busy->Close();
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);  // well within the 5 s grace
  EXPECT_TRUE(idle->Read(1s).error);                        // closed by the stop

  auto late = TestClient::Tls(TestPki().ca, TestPki().Client("bank"));
  EXPECT_TRUE(late->Connect(server_->api_port()));  // no longer listening
}

TEST_F(ServerTest, StopGivesUpOnAStuckRequestAfterTheGrace) {
  ServerOptions options = Options();
  options.limits.shutdown_grace = 300ms;
  Start(options);
  slow_for_ = 1500ms;
  auto busy = Connect("bank");
  ASSERT_FALSE(busy->Send(Request("GET", "/slow")));
  for (int i = 0; i < 300 && !slow_started_; ++i) std::this_thread::sleep_for(10ms);
  const auto start = std::chrono::steady_clock::now();
  server_->Stop();
  // Stop waits for the handler thread itself, but the connection is gone.
  EXPECT_TRUE(busy->Read(1s).error);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(ServerTest, RunUntilSignalledReloadsOnSighupAndStopsOnSigterm) {
  StatusOr<std::unique_ptr<HttpsServer>> created = HttpsServer::Create(Options());
  ASSERT_TRUE(created.ok());
  server_ = *std::move(created);
  Status run_status = InternalError("not run");
  std::thread runner([&] { run_status = RunUntilSignalled(*server_); });
  // The admin listener answering proves the signal handlers are in place.
  bool up = false;
  for (int i = 0; i < 300 && !up; ++i) {
    auto admin = TestClient::Plain();
    up = !admin->Connect(server_->admin_port()) && !admin->Send(Request("GET", "/healthz")) &&
         admin->Read(1s).response.result_int() == 200;
    if (!up) std::this_thread::sleep_for(10ms);
  }
  if (!up) {
    server_->RequestStop();
    runner.join();
    FAIL() << "the server never answered";
  }
  ASSERT_EQ(::kill(::getpid(), SIGHUP), 0);
  EXPECT_EQ(WaitForMetric("tls_reloads_total{result=\"ok\"}", 1), 1);
  EXPECT_EQ(::kill(::getpid(), SIGTERM), 0);
  runner.join();
  EXPECT_TRUE(run_status.ok()) << run_status.ToString();
}

// --- the admin listener -------------------------------------------------------

test::Response AdminGet(uint16_t port, const std::string& target) {
  auto client = TestClient::Plain();
  EXPECT_FALSE(client->Connect(port));
  EXPECT_FALSE(client->Send(Request("GET", target)));
  test::ReadResult result = client->Read();
  EXPECT_FALSE(result.error) << result.error.message();
  return result.response;
}

TEST_F(ServerTest, TheAdminListenerServesHealthReadinessAndMetrics) {
  ServerOptions options = Options();
  std::atomic<bool> ready{false};
  options.readiness = [&ready] { return ready.load(); };
  options.metrics = std::make_shared<MetricsRegistry>();
  auto issued = options.metrics->AddCounter("attestations_issued_total", "Attestations issued.");
  ASSERT_TRUE(issued.ok());
  Start(options);

  EXPECT_EQ(AdminGet(server_->admin_port(), "/healthz").result_int(), 200);
  EXPECT_EQ(AdminGet(server_->admin_port(), "/readyz").result_int(), 503);
  ready = true;
  EXPECT_EQ(AdminGet(server_->admin_port(), "/readyz").result_int(), 200);

  EXPECT_EQ(Call("bank", Request("GET", "/echo/x")).result_int(), 200);
  EXPECT_EQ(Call("bank", Request("GET", "/other")).result_int(), 200);
  (*issued)->WithLabels({}).Increment(2);
  auto refused = TestClient::Tls(TestPki().ca, std::nullopt);
  ExpectRefused(*refused);
  WaitForMetric("tls_handshake_failures_total{reason=\"no_client_certificate\"}", 1);

  const test::Response metrics = AdminGet(server_->admin_port(), "/metrics?x=1");
  EXPECT_EQ(metrics.result_int(), 200);
  EXPECT_EQ(metrics[boost::beast::http::field::content_type],
            "text/plain; version=0.0.4; charset=utf-8");
  const std::string text = metrics.body();
  EXPECT_EQ(MetricValue(text, "requests_total{route=\"echo\",status=\"200\"}"), 1) << text;
  EXPECT_EQ(MetricValue(text, "requests_total{route=\"other\",status=\"200\"}"), 1) << text;
  EXPECT_EQ(MetricValue(text, "request_duration_seconds_count{route=\"echo\"}"), 1) << text;
  EXPECT_THAT(text, HasSubstr("# TYPE request_duration_seconds histogram\n"));
  EXPECT_EQ(MetricValue(text, "attestations_issued_total"), 2) << text;
  EXPECT_EQ(MetricValue(text, "tls_handshake_failures_total{reason=\"no_client_certificate\"}"), 1)
      << text;
  EXPECT_EQ(MetricValue(text, "connections_active{listener=\"admin\"}"), 1) << text;
  EXPECT_EQ(MetricValue(text, "requests_total{route=\"/healthz\",status=\"200\"}"), 1) << text;

  const test::Response missing = AdminGet(server_->admin_port(), "/debug");
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_THAT(missing.body(), HasSubstr("\"code\":\"NOT_FOUND\""));
}

TEST_F(ServerTest, OtherAdminPathsGoToTheAdminHandler) {
  ServerOptions options = Options();
  options.admin_handler = [](const HttpRequest& request) {
    HttpResponse response;
    response.content_type = "text/plain";
    response.body = "admin " + request.target + " from " + request.client.peer_address;
    return response;
  };
  Start(options);
  const test::Response response = AdminGet(server_->admin_port(), "/debug/vars");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "admin /debug/vars from 127.0.0.1");
  EXPECT_TRUE(Seen().empty());  // never the API handler
}

TEST_F(ServerTest, AdminConnectionsBeyondTheirCapGet503) {
  ServerOptions options = Options();
  options.limits.max_admin_connections = 1;
  Start(options);
  auto holder = TestClient::Plain();
  ASSERT_FALSE(holder->Connect(server_->admin_port()));
  ASSERT_FALSE(holder->Send(Request("GET", "/healthz")));
  ASSERT_EQ(holder->Read().response.result_int(), 200);
  auto extra = TestClient::Plain();
  ASSERT_FALSE(extra->Connect(server_->admin_port()));
  const test::ReadResult result = extra->Read();
  ASSERT_FALSE(result.error) << result.error.message();
  EXPECT_EQ(result.response.result_int(), 503);
  EXPECT_THAT(result.response.body(), HasSubstr("\"code\":\"TOO_MANY_CONNECTIONS\""));
}

// --- construction -------------------------------------------------------------

TEST(HttpsServerCreateTest, BadOptionsAreRefused) {
  ServerOptions options;
  options.api_port = 0;
  options.admin_port = 0;
  options.tls = TestPki().server;
  EXPECT_EQ(HttpsServer::Create(options).status().code(),
            StatusCode::kInvalidArgument);  // no handler
  options.handler = [](const HttpRequest&) { return HttpResponse{}; };
  options.api_address = "not-an-address";
  EXPECT_EQ(HttpsServer::Create(options).status().code(), StatusCode::kInvalidArgument);
  options.api_address = "127.0.0.1";
  options.tls.client_ca_files.clear();
  EXPECT_EQ(HttpsServer::Create(options).status().code(), StatusCode::kInvalidArgument);
  options.tls = TestPki().server;
  options.tls.certificate_chain_file = "/nonexistent/server.crt";
  EXPECT_EQ(HttpsServer::Create(options).status().code(), StatusCode::kNotFound);
  options.tls = TestPki().server;
  auto first = HttpsServer::Create(options);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  options.admin_port = (*first)->admin_port();  // taken
  EXPECT_EQ(HttpsServer::Create(options).status().code(), StatusCode::kUnavailable);
}

TEST(HttpsServerCreateTest, AServerStartsOnce) {
  ServerOptions options;
  options.api_address = "127.0.0.1";
  options.api_port = 0;
  options.admin_port = 0;
  options.tls = TestPki().server;
  options.handler = [](const HttpRequest&) { return HttpResponse{}; };
  auto server = HttpsServer::Create(options);
  ASSERT_TRUE(server.ok());
  EXPECT_TRUE((*server)->Start().ok());
  EXPECT_EQ((*server)->Start().code(), StatusCode::kFailedPrecondition);
  (*server)->Stop();
  (*server)->Stop();  // idempotent
  EXPECT_EQ((*server)->Start().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace cg::gateway::server
