// The peer client (gateway/peer_client.h) against the real HTTPS server in-process on
// 127.0.0.1 port 0, and against hand-made broken TLS servers, with a PKI made at
// test time (server_test_pki.h). Timeouts and backoffs are configured short; tests
// that must show "no retry" use a long backoff, so a retry would show in the time.
#include "gateway/peer_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/server/https_server.h"
#include "tests/metric_value.h"
#include "tests/server_test_pki.h"

namespace cg::gateway {
namespace {

using server::HttpRequest;
using server::HttpResponse;
using server::HttpsServer;
using server::Role;
using server::ServerOptions;
using test::CertificateRequest;
using test::TestCertificateAuthority;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr char kJson[] = "application/json";

// A fresh directory removed with its contents at the end.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = ::testing::TempDir() + "peer_client_test_XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string Write(const std::string& name, const std::string& contents) const {
    const std::string file = path_ + "/" + name;
    std::ofstream(file, std::ios::binary) << contents;
    return file;
  }

 private:
  std::string path_;
};

struct KeyPair {
  std::string certificate;
  std::string key;
};

// Every certificate the tests use, made once per test program.
struct Pki {
  ScratchDir dir;
  std::string ca;          // signs the good server and the clients the server trusts
  KeyPair server;          // 127.0.0.1 and localhost, from `ca`
  KeyPair foreign_server;  // the same names, from another CA
  KeyPair peer;            // OU "Peer Nodes", from `ca`
  KeyPair foreign_peer;    // OU "Peer Nodes", from another CA
};

const Pki& TestPki() {
  static Pki* pki = [] {
    auto* made = new Pki;  // leaked on purpose: lives as long as the program
    TestCertificateAuthority ca("Peer Test CA");
    TestCertificateAuthority other_ca("Some Other CA");
    made->ca = made->dir.Write("ca.pem", ca.certificate_pem());
    auto write = [&](const std::string& name, const test::IssuedCertificate& issued) {
      return KeyPair{made->dir.Write(name + ".crt", issued.certificate_pem),
                     made->dir.Write(name + ".key", issued.private_key_pem)};
    };
    CertificateRequest server;
    server.common_name = "node-sz";
    server.san_ips = {"127.0.0.1"};
    server.san_dns = {"localhost"};
    server.for_server = true;
    made->server = write("server", ca.Issue(server));
    made->foreign_server = write("foreign-server", other_ca.Issue(server));
    CertificateRequest peer;
    peer.common_name = "node-hk";
    peer.organizational_units = {"Peer Nodes"};
    made->peer = write("peer", ca.Issue(peer));
    made->foreign_peer = write("foreign-peer", other_ca.Issue(peer));
    return made;
  }();
  return *pki;
}

// A port on 127.0.0.1 with nothing listening (bound, then released).
uint16_t UnusedPort() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

// A TLS server made by hand: accepts on 127.0.0.1, counts connections and does
// `behave` with each, one at a time, on its own thread.
class RawTlsServer {
 public:
  using Behaviour = std::function<void(tcp::socket, asio::ssl::context&)>;

  explicit RawTlsServer(Behaviour behave)
      : behave_(std::move(behave)),
        tls_(asio::ssl::context::tls_server),
        acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    tls_.use_certificate_chain_file(TestPki().server.certificate);
    tls_.use_private_key_file(TestPki().server.key, asio::ssl::context::pem);
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~RawTlsServer() {
    asio::post(io_, [this] { acceptor_.close(); });
    thread_.join();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int connections() const { return connections_; }

 private:
  void Accept() {
    acceptor_.async_accept([this](const error_code& ec, tcp::socket socket) {
      if (ec) return;
      ++connections_;
      behave_(std::move(socket), tls_);
      Accept();
    });
  }

  Behaviour behave_;
  asio::io_context io_;
  asio::ssl::context tls_;
  tcp::acceptor acceptor_;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

// Completes the TLS handshake, reads the request header, answers `bytes` and drops
// the connection without a close_notify.
RawTlsServer::Behaviour Answer(std::string bytes) {
  return [bytes](tcp::socket socket, asio::ssl::context& tls) {
    asio::ssl::stream<tcp::socket> stream(std::move(socket), tls);
    error_code ec;
    stream.handshake(asio::ssl::stream_base::server, ec);
    if (ec) return;
    asio::streambuf request;
    asio::read_until(stream, request, "\r\n\r\n", ec);
    if (ec) return;
    asio::write(stream, asio::buffer(bytes), ec);
    stream.next_layer().close(ec);
  };
}

class PeerClientTest : public ::testing::Test {
 protected:
  ServerOptions Options() {
    ServerOptions options;
    options.api_address = "127.0.0.1";
    options.api_port = 0;
    options.admin_address = "127.0.0.1";
    options.admin_port = 0;
    options.io_threads = 2;
    options.handler_threads = 4;
    options.tls = {TestPki().server.certificate, TestPki().server.key, {TestPki().ca}};
    options.roles = {{"Peer Nodes", Role::kPeer}};
    options.limits.shutdown_grace = 2s;
    options.limits.close_timeout = 200ms;
    options.handler = [this](const HttpRequest& request) {
      {
        const std::lock_guard lock(mutex_);
        seen_.push_back(request);
      }
      ++calls_;
      return handler_(request);
    };
    return options;
  }

  void Start(std::function<HttpResponse(const HttpRequest&)> handler) {
    Start(Options(), std::move(handler));
  }
  void Start(ServerOptions options, std::function<HttpResponse(const HttpRequest&)> handler) {
    handler_ = std::move(handler);
    StatusOr<std::unique_ptr<HttpsServer>> made = HttpsServer::Create(std::move(options));
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    server_ = *std::move(made);
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->api_port();
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  static PeerEndpoint Endpoint(uint16_t port) {
    PeerEndpoint endpoint;
    endpoint.base_url = "https://127.0.0.1:" + std::to_string(port);
    endpoint.ca_file = TestPki().ca;
    endpoint.client_certificate_file = TestPki().peer.certificate;
    endpoint.client_key_file = TestPki().peer.key;
    return endpoint;
  }

  static PeerClientOptions FastOptions() {
    PeerClientOptions options;
    options.connect_timeout = 1s;
    options.request_timeout = 2s;
    options.attempts = 3;
    options.backoff_initial = 20ms;
    options.backoff_max = 100ms;
    options.retry_after_cap = 100ms;
    return options;
  }

  // Options under which any retry would take at least a second.
  static PeerClientOptions NoRetryExpected() {
    PeerClientOptions options = FastOptions();
    options.backoff_initial = 2s;
    options.backoff_max = 2s;
    return options;
  }

  static std::unique_ptr<PeerClient> Client(const PeerEndpoint& endpoint,
                                            const PeerClientOptions& options) {
    StatusOr<std::unique_ptr<PeerClient>> client = PeerClient::Create(endpoint, options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? *std::move(client) : nullptr;
  }
  std::unique_ptr<PeerClient> Client(const PeerClientOptions& options) {
    return Client(Endpoint(port_), options);
  }

  std::vector<HttpRequest> Seen() {
    const std::lock_guard lock(mutex_);
    return seen_;
  }

  static HttpResponse Json(int status, std::string body) {
    return HttpResponse{status, kJson, std::move(body), {}};
  }

  std::unique_ptr<HttpsServer> server_;
  uint16_t port_ = 0;
  std::function<HttpResponse(const HttpRequest&)> handler_;
  std::atomic<int> calls_{0};
  std::mutex mutex_;
  std::vector<HttpRequest> seen_;
};

long Millis(Clock::duration d) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

TEST_F(PeerClientTest, GetAndPostCarryTheRequestIdAndThePeerIdentity) {
  Start([](const HttpRequest& request) {
    return Json(200, "{\"echo\":\"" + request.method + " " + request.target + "\"}");
  });
  auto client = Client(FastOptions());
  ASSERT_NE(client, nullptr);

  StatusOr<PeerResponse> keys = client->Call("GET", "/v1/keys", "", kJson, "hk-req-0001");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(keys->status, 200);
  EXPECT_EQ(keys->content_type, kJson);
  EXPECT_EQ(keys->body, "{\"echo\":\"GET /v1/keys\"}");
  // A peer's request id is adopted, so both nodes' audit logs name the request alike.
  EXPECT_EQ(keys->request_id, "hk-req-0001");

  const std::string body = "{\"subject_id\":\"uscc:X\",\"nonce\":\"n-1\"}";
  StatusOr<PeerResponse> issued =
      client->Call("POST", "/v1/attestations", body, kJson, "hk-req-0002");
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(issued->status, 200);
  EXPECT_EQ(issued->body, "{\"echo\":\"POST /v1/attestations\"}");
  EXPECT_EQ(issued->request_id, "hk-req-0002");
  // One that is not 1 to 64 of [A-Za-z0-9._-] is not: the node makes its own.
  StatusOr<PeerResponse> odd = client->Call("GET", "/v1/keys", "", kJson, "not an id!");
  ASSERT_TRUE(odd.ok()) << odd.status().ToString();
  EXPECT_EQ(odd->request_id.size(), 16u);

  const std::vector<HttpRequest> seen = Seen();
  ASSERT_EQ(seen.size(), 3u);
  for (const HttpRequest& request : seen) {
    ASSERT_TRUE(request.client.role.has_value());
    EXPECT_EQ(*request.client.role, Role::kPeer);
    EXPECT_EQ(request.client.common_name, "node-hk");
    ASSERT_NE(request.FindHeader("accept"), nullptr);
    EXPECT_EQ(*request.FindHeader("accept"), kJson);
  }
  ASSERT_NE(seen[0].FindHeader("x-request-id"), nullptr);
  EXPECT_EQ(*seen[0].FindHeader("x-request-id"), "hk-req-0001");
  EXPECT_EQ(seen[0].FindHeader("content-type"), nullptr);  // no body, no type
  EXPECT_EQ(seen[0].body, "");
  ASSERT_NE(seen[1].FindHeader("x-request-id"), nullptr);
  EXPECT_EQ(*seen[1].FindHeader("x-request-id"), "hk-req-0002");
  ASSERT_NE(seen[1].FindHeader("content-type"), nullptr);
  EXPECT_EQ(*seen[1].FindHeader("content-type"), kJson);
  EXPECT_EQ(seen[1].body, body);
}

TEST_F(PeerClientTest, ExpectedServerNameMayBeADnsNameOfTheCertificate) {
  Start([](const HttpRequest&) { return Json(200, "{}"); });
  PeerEndpoint endpoint = Endpoint(port_);
  endpoint.expected_server_name = "localhost";
  auto client = Client(endpoint, FastOptions());
  ASSERT_NE(client, nullptr);
  StatusOr<PeerResponse> response = client->Call("GET", "/v1/status-list", "", kJson, "r");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
}

TEST_F(PeerClientTest, NotFoundIsAResponseAndIsNotRetried) {
  Start([](const HttpRequest& request) {
    return Json(404, server::ErrorBody("NOT_FOUND", "no such entity", request.request_id));
  });
  auto client = Client(NoRetryExpected());
  ASSERT_NE(client, nullptr);
  StatusOr<PeerResponse> response =
      client->Call("GET", "/v1/entities/uscc:X/evaluation", "", kJson, "r-404");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 404);
  EXPECT_THAT(response->body, HasSubstr("\"NOT_FOUND\""));
  EXPECT_EQ(calls_, 1);
}

TEST_F(PeerClientTest, ServiceUnavailableIsRetriedUntilItSucceeds) {
  Start([this](const HttpRequest&) {
    return calls_ <= 2 ? Json(503, "{\"code\":\"BUSY\"}") : Json(200, "{\"ok\":true}");
  });
  auto client = Client(FastOptions());
  ASSERT_NE(client, nullptr);
  StatusOr<PeerResponse> response = client->Call("POST", "/v1/attestations", "{}", kJson, "r");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "{\"ok\":true}");
  EXPECT_EQ(calls_, 3);
}

TEST_F(PeerClientTest, ServiceUnavailableOnEveryAttemptIsUnavailable) {
  Start([](const HttpRequest&) { return Json(503, "{}"); });
  auto client = Client(FastOptions());
  ASSERT_NE(client, nullptr);
  StatusOr<PeerResponse> response = client->Call("GET", "/v1/keys", "", kJson, "r");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(response.status().message(), StartsWith("peer unavailable: "));
  EXPECT_EQ(calls_, 3);
}

TEST_F(PeerClientTest, RetryAfterIsHonouredUpToTheCap) {
  Start([this](const HttpRequest&) {
    if (calls_ > 1) return Json(200, "{}");
    HttpResponse busy = Json(503, "{}");
    busy.headers.emplace_back("Retry-After", "3600");
    return busy;
  });
  PeerClientOptions options = FastOptions();
  options.backoff_initial = 1ms;
  options.backoff_max = 1ms;
  options.retry_after_cap = 300ms;
  auto client = Client(options);
  ASSERT_NE(client, nullptr);
  const Clock::time_point start = Clock::now();
  StatusOr<PeerResponse> response = client->Call("GET", "/v1/keys", "", kJson, "r");
  const long elapsed = Millis(Clock::now() - start);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(calls_, 2);
  EXPECT_GE(elapsed, 300);
  EXPECT_LT(elapsed, 1500);
}

TEST_F(PeerClientTest, TooManyRequestsIsAResponseAndIsNotRetried) {
  Start([](const HttpRequest& request) {
    HttpResponse limited =
        Json(429, server::ErrorBody("RATE_LIMITED", "slow down", request.request_id));
    limited.headers.emplace_back("Retry-After", "1");
    return limited;
  });
  auto client = Client(NoRetryExpected());
  ASSERT_NE(client, nullptr);
  StatusOr<PeerResponse> response = client->Call("GET", "/v1/keys", "", kJson, "r");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 429);
  EXPECT_EQ(calls_, 1);
}

TEST_F(PeerClientTest, ServerDownIsUnavailableAfterEveryAttempt) {
  PeerClientOptions options = FastOptions();
  options.attempts = 3;
  options.backoff_initial = 100ms;
  options.backoff_max = 1s;
  auto client = Client(Endpoint(UnusedPort()), options);
  ASSERT_NE(client, nullptr);
  const Clock::time_point start = Clock::now();
  StatusOr<PeerResponse> response = client->Call("GET", "/v1/keys", "", kJson, "r");
  const long elapsed = Millis(Clock::now() - start);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(response.status().message(), StartsWith("peer unavailable: "));
  EXPECT_THAT(response.status().message(), HasSubstr("3 attempts"));
  // Two waits: [50, 100] ms, then [100, 200] ms.
  EXPECT_GE(elapsed, 150);
  EXPECT_LT(elapsed, 1000);
}

TEST_F(PeerClientTest, ServerCertificateFromAnotherCaIsABadPeerAndNotRetried) {
  ServerOptions options = Options();
  options.tls.certificate_chain_file = TestPki().foreign_server.certificate;
  options.tls.private_key_file = TestPki().foreign_server.key;
  Start(options, [](const HttpRequest&) { return Json(200, "{}"); });
  auto client = Client(NoRetryExpected());
  ASSERT_NE(client, nullptr);
  const Clock::time_point start = Clock::now();
  StatusOr<PeerResponse> response = client->Call("GET", "/v1/keys", "", kJson, "r");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(response.status().message(), StartsWith("bad peer: "));
  EXPECT_THAT(response.status().message(), HasSubstr("certificate verification failed"));
  EXPECT_LT(Millis(Clock::now() - start), 900);
  EXPECT_EQ(calls_, 0);
}

TEST_F(PeerClientTest, WrongServerNameIsABadPeer) {
  Start([](const HttpRequest&) { return Json(200, "{}"); });
  PeerEndpoint endpoint = Endpoint(port_);
  endpoint.expected_server_name = "node-hk.gateway.example";
  auto client = Client(endpoint, NoRetryExpected());
  ASSERT_NE(client, nullptr);
  const Clock::time_point start = Clock::now();
  StatusOr<PeerResponse> response = client->Call("GET", "/v1/keys", "", kJson, "r");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(response.status().message(), HasSubstr("hostname mismatch"));
  EXPECT_LT(Millis(Clock::now() - start), 900);
  EXPECT_EQ(calls_, 0);
}

TEST_F(PeerClientTest, ClientCertificateTheServerDoesNotTrustIsUnauthenticated) {
  Start([](const HttpRequest&) { return Json(200, "{}"); });
  PeerEndpoint endpoint = Endpoint(port_);
  endpoint.client_certificate_file = TestPki().foreign_peer.certificate;
  endpoint.client_key_file = TestPki().foreign_peer.key;
  auto client = Client(endpoint, NoRetryExpected());
  ASSERT_NE(client, nullptr);
  StatusOr<PeerResponse> response = client->Call("GET", "/v1/keys", "", kJson, "r");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnauthenticated) << response.status().ToString();
  EXPECT_EQ(calls_, 0);
}

TEST_F(PeerClientTest, SlowPeerTimesOut) {
  // Shared with the handler, which may still be waking up when the test returns (the
  // server stops in TearDown, after this function's locals are gone).
  struct Gate {
    std::mutex mutex;
    std::condition_variable released_cv;
    bool released = false;
  };
  auto gate = std::make_shared<Gate>();
  Start([gate](const HttpRequest&) {
    std::unique_lock lock(gate->mutex);
    gate->released_cv.wait_for(lock, 5s, [&] { return gate->released; });
    return Json(200, "{}");
  });
  PeerClientOptions options = FastOptions();
  options.request_timeout = 300ms;
  options.attempts = 2;
  auto client = Client(options);
  ASSERT_NE(client, nullptr);
  const Clock::time_point start = Clock::now();
  StatusOr<PeerResponse> response = client->Call("POST", "/v1/attestations", "{}", kJson, "r");
  const long elapsed = Millis(Clock::now() - start);
  {
    const std::lock_guard lock(gate->mutex);
    gate->released = true;
  }
  gate->released_cv.notify_all();
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(response.status().message(), StartsWith("peer timed out: "));
  EXPECT_GE(elapsed, 600);  // both attempts waited out the request timeout
  EXPECT_LT(elapsed, 2000);
  EXPECT_EQ(calls_, 2);  // no response byte had come: the request was resent
}

TEST_F(PeerClientTest, ResponseOverTheLimitIsABadPeer) {
  Start([](const HttpRequest& request) {
    return HttpResponse{
        200, "text/plain", std::string(request.target == "/big" ? 1025 : 1024, 'x'), {}};
  });
  PeerClientOptions options = NoRetryExpected();
  options.max_response_bytes = 1024;
  auto client = Client(options);
  ASSERT_NE(client, nullptr);

  StatusOr<PeerResponse> at_limit = client->Call("GET", "/fits", "", kJson, "r");
  ASSERT_TRUE(at_limit.ok()) << at_limit.status().ToString();
  EXPECT_EQ(at_limit->body.size(), 1024u);

  const Clock::time_point start = Clock::now();
  StatusOr<PeerResponse> over = client->Call("GET", "/big", "", kJson, "r");
  ASSERT_FALSE(over.ok()) << over->status << " " << over->body.size();
  EXPECT_EQ(over.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(over.status().message(), HasSubstr("response body over 1024 bytes"));
  EXPECT_LT(Millis(Clock::now() - start), 900);
  EXPECT_EQ(calls_, 2);
}

TEST_F(PeerClientTest, GarbageAfterTheHandshakeIsABadPeerNeverACrash) {
  const std::vector<std::string> answers = {
      std::string("\x00\x01\x02\xff garbage", 13),
      "SSH-2.0-OpenSSH_9.2\r\n\r\n",
      "HTTP/1.1 abc OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",  // cut off
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\n" + std::string(100 * 1024, 'a') + "\r\n\r\n",
      "HTTP/1.1 99 Odd\r\nContent-Length: 0\r\n\r\n",
  };
  for (const std::string& answer : answers) {
    SCOPED_TRACE(answer.substr(0, 40));
    RawTlsServer raw(Answer(answer));
    auto client = Client(Endpoint(raw.port()), NoRetryExpected());
    ASSERT_NE(client, nullptr);
    const Clock::time_point start = Clock::now();
    StatusOr<PeerResponse> response = client->Call("GET", "/v1/keys", "", kJson, "r");
    ASSERT_FALSE(response.ok());
    EXPECT_EQ(response.status().code(), StatusCode::kDataLoss) << response.status().ToString();
    EXPECT_THAT(response.status().message(), StartsWith("bad peer: "));
    EXPECT_LT(Millis(Clock::now() - start), 900);
    EXPECT_EQ(raw.connections(), 1);
  }
}

TEST_F(PeerClientTest, ConnectionClosedBeforeTheHandshakeIsRetriedThenUnavailable) {
  RawTlsServer raw([](tcp::socket socket, asio::ssl::context&) {
    error_code ignored;
    socket.close(ignored);
  });
  auto client = Client(Endpoint(raw.port()), FastOptions());
  ASSERT_NE(client, nullptr);
  StatusOr<PeerResponse> response = client->Call("GET", "/v1/keys", "", kJson, "r");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable) << response.status().ToString();
  EXPECT_THAT(response.status().message(), HasSubstr("TLS handshake failed"));
  EXPECT_EQ(raw.connections(), 3);
}

TEST_F(PeerClientTest, HandshakeTimeoutIsRetriedThenUnavailable) {
  // Accepts, then says nothing until well after the client's connect_timeout.
  RawTlsServer raw([](tcp::socket socket, asio::ssl::context&) {
    std::this_thread::sleep_for(400ms);
    error_code ignored;
    socket.close(ignored);
  });
  PeerClientOptions options = FastOptions();
  options.connect_timeout = 200ms;
  options.attempts = 2;
  auto client = Client(Endpoint(raw.port()), options);
  ASSERT_NE(client, nullptr);
  const Clock::time_point start = Clock::now();
  StatusOr<PeerResponse> response = client->Call("GET", "/v1/keys", "", kJson, "r");
  const long elapsed = Millis(Clock::now() - start);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable) << response.status().ToString();
  EXPECT_THAT(response.status().message(), HasSubstr("TLS handshake timed out"));
  EXPECT_THAT(response.status().message(), HasSubstr("2 attempts"));
  EXPECT_GE(elapsed, 400);
  EXPECT_LT(elapsed, 1500);
}

TEST_F(PeerClientTest, ConnectionClosedAfterTheRequestIsRetried) {
  // The first connection is dropped with the request unanswered; the second is
  // answered.
  std::atomic<int> seen{0};
  RawTlsServer raw([&seen](tcp::socket socket, asio::ssl::context& tls) {
    if (seen++ == 0) {
      asio::ssl::stream<tcp::socket> stream(std::move(socket), tls);
      error_code ec;
      stream.handshake(asio::ssl::stream_base::server, ec);
      asio::streambuf request;
      asio::read_until(stream, request, "\r\n\r\n", ec);
      stream.next_layer().close(ec);
      return;
    }
    Answer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")(std::move(socket),
                                                                                  tls);
  });
  auto client = Client(Endpoint(raw.port()), FastOptions());
  ASSERT_NE(client, nullptr);
  StatusOr<PeerResponse> response = client->Call("GET", "/v1/keys", "", kJson, "r");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, "ok");
  EXPECT_EQ(raw.connections(), 2);
}

using test::MetricValue;

TEST_F(PeerClientTest, SequentialCallsReuseOneKeepAliveConnection) {
  Start([](const HttpRequest&) { return Json(200, "{}"); });
  auto client = Client(FastOptions());
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client->Call("GET", "/v1/keys", "", kJson, "r").ok());
  EXPECT_EQ(MetricValue(server_->metrics().Render(), "connections_active{listener=\"api\"}"), 1);
  client.reset();  // closes the idle connection
  const Clock::time_point give_up = Clock::now() + 2s;
  while (MetricValue(server_->metrics().Render(), "connections_active{listener=\"api\"}") != 0 &&
         Clock::now() < give_up)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(MetricValue(server_->metrics().Render(), "connections_active{listener=\"api\"}"), 0);
}

TEST_F(PeerClientTest, NoIdleConnectionsMeansOneConnectionPerCall) {
  Start([](const HttpRequest&) { return Json(200, "{}"); });
  PeerClientOptions options = FastOptions();
  options.max_idle_connections = 0;
  auto client = Client(options);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Call("GET", "/v1/keys", "", kJson, "r").ok());
  const Clock::time_point give_up = Clock::now() + 2s;
  while (MetricValue(server_->metrics().Render(), "connections_active{listener=\"api\"}") != 0 &&
         Clock::now() < give_up)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(MetricValue(server_->metrics().Render(), "connections_active{listener=\"api\"}"), 0);
}

TEST_F(PeerClientTest, PooledConnectionClosedByThePeerIsReplacedWithoutAnError) {
  ServerOptions options = Options();
  options.limits.idle_timeout = 200ms;
  Start(options, [](const HttpRequest&) { return Json(200, "{}"); });
  PeerClientOptions client_options = NoRetryExpected();
  auto client = Client(client_options);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Call("GET", "/v1/keys", "", kJson, "r1").ok());
  std::this_thread::sleep_for(600ms);  // the server closes the idle connection
  const Clock::time_point start = Clock::now();
  StatusOr<PeerResponse> response = client->Call("GET", "/v1/keys", "", kJson, "r2");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_LT(Millis(Clock::now() - start), 900);  // no backoff
  EXPECT_EQ(calls_, 2);
}

TEST_F(PeerClientTest, ConcurrentCallsShareTheClient) {
  Start([](const HttpRequest& request) { return Json(200, request.body); });
  auto client = Client(FastOptions());
  ASSERT_NE(client, nullptr);
  constexpr int kThreads = 6;
  constexpr int kCallsEach = 20;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsEach; ++i) {
        const std::string body = std::to_string(t) + "-" + std::to_string(i);
        StatusOr<PeerResponse> response =
            client->Call("POST", "/v1/attestations", body, kJson, "r-" + body);
        if (response.ok() && response->status == 200 && response->body == body) ++good;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(good, kThreads * kCallsEach);
}

TEST(PeerClientCreateTest, RejectsBadEndpointsAndOptions) {
  PeerEndpoint endpoint;
  endpoint.ca_file = TestPki().ca;
  endpoint.client_certificate_file = TestPki().peer.certificate;
  endpoint.client_key_file = TestPki().peer.key;
  for (const char* url :
       {"http://127.0.0.1:8443", "https://", "https://host:0", "https://host:99999",
        "https://host:8443/v1", "https://[::1", "https://user@host:1"}) {
    endpoint.base_url = url;
    EXPECT_EQ(PeerClient::Create(endpoint).status().code(), StatusCode::kInvalidArgument) << url;
  }
  for (const char* url : {"https://127.0.0.1:8443", "https://127.0.0.1:8443/", "https://[::1]:8443",
                          "https://node-sz.example"}) {
    endpoint.base_url = url;
    EXPECT_TRUE(PeerClient::Create(endpoint).ok()) << url;
  }

  endpoint.base_url = "https://127.0.0.1:8443";
  PeerClientOptions options;
  options.attempts = 0;
  EXPECT_EQ(PeerClient::Create(endpoint, options).status().code(), StatusCode::kInvalidArgument);
  options = {};
  options.request_timeout = 0ms;
  EXPECT_EQ(PeerClient::Create(endpoint, options).status().code(), StatusCode::kInvalidArgument);

  PeerEndpoint missing = endpoint;
  missing.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(PeerClient::Create(missing).status().code(), StatusCode::kNotFound);
  PeerEndpoint mismatched = endpoint;
  mismatched.client_key_file = TestPki().foreign_peer.key;
  EXPECT_EQ(PeerClient::Create(mismatched).status().code(), StatusCode::kInvalidArgument);
  PeerEndpoint not_pem = endpoint;
  not_pem.ca_file = TestPki().dir.Write("not-pem.txt", "hello");
  EXPECT_EQ(PeerClient::Create(not_pem).status().code(), StatusCode::kInvalidArgument);
}

TEST(PeerClientCreateTest, RejectsRequestsThatCannotBeSentSafely) {
  PeerEndpoint endpoint;
  endpoint.base_url = "https://127.0.0.1:" + std::to_string(UnusedPort());
  endpoint.ca_file = TestPki().ca;
  endpoint.client_certificate_file = TestPki().peer.certificate;
  endpoint.client_key_file = TestPki().peer.key;
  StatusOr<std::unique_ptr<PeerClient>> client = PeerClient::Create(endpoint);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto code = [&](std::string_view method, std::string_view path, std::string_view type,
                  std::string_view id) {
    return (*client)->Call(method, path, "", type, id).status().code();
  };
  EXPECT_EQ(code("GET", "v1/keys", kJson, "r"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("GET", "/v1/keys x", kJson, "r"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("GE T", "/v1/keys", kJson, "r"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("GET", "/v1/keys", "a\r\nX-Evil: 1", "r"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("GET", "/v1/keys", kJson, "r\r\nX-Evil: 1"), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cg::gateway
