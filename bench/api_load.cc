// api_load: a load client for the node's HTTPS API over mutual TLS, and the
// static-response server that gives its ceiling. Prints figures; never fails on time.
//
//   api_load --mode issue|lookup|static|handshake --port P --ca CA --cert C --key K
//            [--subjects FILE] [--connections 16] [--threads 1] [--seconds 10]
//            [--warmup 1] [--rate R]
//   api_load --serve-static --server-cert C --server-key K --ca CA [--port 0]
//
// Modes (each connection has one request in flight at a time, HTTP/1.1 keep-alive):
//   issue      POST /v1/attestations {"subject_id","audience":"Bench Bank","nonce"}
//   cross-border
//              POST /v1/cross-border/attestations {"subject_id","purpose"} to a node
//              whose peer attests the other side's subject (two nodes)
//   lookup     GET /v1/entities/{id}/evaluation
//   static     the lookup request, sent to a server answering a fixed body
//              (`api_load --serve-static`): the framework's ceiling
//   handshake  per request: TCP connect, a full TLS handshake (no session
//              resumption), the lookup request with "Connection: close", TLS close
//
// Without --rate every connection sends its next request as soon as the previous
// answer arrives (closed loop: the maximum throughput). With --rate R the requests
// are scheduled at R per second in total (open loop) and latency counts from the
// scheduled time, so a server that falls behind shows its queueing. Only answers
// arriving within the --seconds after the --warmup count.
//
// --serve-static runs gateway::server::HttpsServer (the framework `serve` uses, with
// the same thread counts) in this process, with a handler answering every request
// {"status":"ok"}; it prints "static serving https://HOST:PORT" and runs until
// SIGTERM.
#include <fmt/core.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gateway/server/https_server.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using beast::error_code;
using SteadyClock = std::chrono::steady_clock;

// How long any single network step may take before the connection counts as failed.
constexpr auto kStepTimeout = std::chrono::seconds(10);
// After a failure, a connection waits this long before reconnecting.
constexpr auto kReconnectDelay = std::chrono::milliseconds(10);
// Responses larger than this are an error (the API's are a few KiB).
constexpr uint64_t kMaxResponseBody = 1 << 20;
// After the measured window, in-flight work gets this long before the client stops.
constexpr auto kDrainTime = std::chrono::seconds(2);
// The fixed body of --serve-static.
constexpr std::string_view kStaticBody = R"({"status":"ok"})";

enum class Mode { kIssue, kCrossBorder, kLookup, kStatic, kHandshake };

struct LoadOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string subjects_file;
  Mode mode = Mode::kLookup;
  double seconds = 10;
  double warmup = 1;
  int connections = 16;
  int threads = 1;
  double rate = 0;  // requests per second in total; 0: closed loop

  bool serve_static = false;
  std::string server_cert_file;
  std::string server_key_file;
  int server_io_threads = 2;       // as `serve` (ServerOptions default)
  int server_handler_threads = 2;  // as `serve` ([api] threads default)
};

std::string_view ModeName(Mode mode) {
  switch (mode) {
    case Mode::kIssue:
      return "issue";
    case Mode::kCrossBorder:
      return "cross-border";
    case Mode::kLookup:
      return "lookup";
    case Mode::kStatic:
      return "static";
    case Mode::kHandshake:
      return "handshake";
  }
  return "?";
}

// Entity ids: the first comma-separated field of each line; a first line whose
// field is not an id ("entity_id", a CSV header) is skipped.
std::vector<std::string> ReadSubjects(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> ids;
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    std::string id = line.substr(0, line.find(','));
    while (!id.empty() && (id.back() == '\r' || id.back() == ' ')) id.pop_back();
    const bool header = first && id.find(':') == std::string::npos;
    first = false;
    if (!id.empty() && !header) ids.push_back(std::move(id));
  }
  return ids;
}

// The measured window and, for --rate, the shared schedule. Read-only once the
// run starts, except next_slot.
struct RunClock {
  SteadyClock::time_point start;
  SteadyClock::time_point measure_begin;
  SteadyClock::time_point measure_end;
  double rate = 0;
  std::atomic<uint64_t> next_slot{0};
  std::string nonce_prefix;  // makes nonces unique across runs against one node

  bool InWindow(SteadyClock::time_point t) const { return t >= measure_begin && t < measure_end; }
  bool Over() const { return SteadyClock::now() >= measure_end; }
};

// What one client thread saw; merged after the run.
struct Tally {
  std::vector<int64_t> latency_ns;         // from the scheduled time (closed loop: the send)
  std::vector<int64_t> service_ns;         // from the send (handshake: the connect)
  uint64_t ok = 0;                         // 2xx answers in the window
  std::map<int, uint64_t> non_2xx;         // status -> answers in the window
  std::map<std::string, uint64_t> errors;  // failed connections or requests, by cause
  int live_connections = 0;                // LoadConnection objects of this thread

  void Merge(Tally&& other) {
    latency_ns.insert(latency_ns.end(), other.latency_ns.begin(), other.latency_ns.end());
    service_ns.insert(service_ns.end(), other.service_ns.begin(), other.service_ns.end());
    ok += other.ok;
    for (const auto& [status, n] : other.non_2xx) non_2xx[status] += n;
    for (const auto& [cause, n] : other.errors) errors[cause] += n;
  }
};

// Everything a connection needs that it does not own.
struct ConnectionContext {
  const LoadOptions& options;
  const std::vector<std::string>& subjects;
  ssl::context& tls;
  tcp::endpoint endpoint;
  RunClock& clock;
  Tally& tally;
};

// One client connection: a chain of async steps, one request in flight at a time.
// In handshake mode every request gets a new TCP and TLS connection.
class LoadConnection : public std::enable_shared_from_this<LoadConnection> {
 public:
  LoadConnection(asio::io_context& io, ConnectionContext context, int index)
      : io_(io),
        c_(context),
        timer_(io),
        random_(static_cast<uint32_t>(index) * 7919u + 1u),
        index_(index) {
    ++c_.tally.live_connections;
  }
  ~LoadConnection() { --c_.tally.live_connections; }
  LoadConnection(const LoadConnection&) = delete;
  LoadConnection& operator=(const LoadConnection&) = delete;

  void Begin() {
    if (PerRequestConnection()) {
      NextRequest();
    } else {
      Connect();
    }
  }

 private:
  using Stream = beast::ssl_stream<beast::tcp_stream>;

  bool PerRequestConnection() const { return c_.options.mode == Mode::kHandshake; }

  void Connect() {
    stream_.emplace(io_, c_.tls);
    SSL* ssl_handle = stream_->native_handle();
    // Check the server certificate names the host (an IP address or a DNS name).
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), c_.options.host.c_str()) != 1) {
      SSL_set_tlsext_host_name(ssl_handle, c_.options.host.c_str());
      SSL_set1_host(ssl_handle, c_.options.host.c_str());
    }
    buffer_.clear();
    beast::get_lowest_layer(*stream_).expires_after(kStepTimeout);
    beast::get_lowest_layer(*stream_).async_connect(
        c_.endpoint, [self = shared_from_this()](error_code ec) { self->OnConnect(ec); });
  }

  void OnConnect(error_code ec) {
    if (ec) return Fail("connect", ec);
    beast::get_lowest_layer(*stream_).expires_after(kStepTimeout);
    stream_->async_handshake(ssl::stream_base::client,
                             [self = shared_from_this()](error_code e) { self->OnHandshake(e); });
  }

  void OnHandshake(error_code ec) {
    if (ec) return Fail("tls handshake", ec);
    if (PerRequestConnection()) {
      Send();
    } else {
      NextRequest();
    }
  }

  // Closed loop: the next request now. Fixed rate: claim the next slot of the shared
  // schedule and wait for its time.
  void NextRequest() {
    if (c_.clock.Over()) return Close();
    if (c_.clock.rate <= 0) return StartRequest(SteadyClock::now());
    const uint64_t slot = c_.clock.next_slot.fetch_add(1);
    const auto at = c_.clock.start + std::chrono::duration_cast<SteadyClock::duration>(
                                         std::chrono::duration<double>(slot / c_.clock.rate));
    if (at >= c_.clock.measure_end) return Close();
    timer_.expires_at(at);
    timer_.async_wait([self = shared_from_this(), at](error_code ec) {
      if (ec) return self->Close();
      self->StartRequest(at);
    });
  }

  void StartRequest(SteadyClock::time_point scheduled) {
    scheduled_ = scheduled;
    if (PerRequestConnection()) {
      sent_ = SteadyClock::now();  // the cycle: connect, handshake, request, close
      Connect();
    } else {
      Send();
    }
  }

  void Send() {
    BuildRequest();
    if (!PerRequestConnection()) sent_ = SteadyClock::now();
    beast::get_lowest_layer(*stream_).expires_after(kStepTimeout);
    asio::async_write(*stream_, asio::buffer(request_),
                      [self = shared_from_this()](error_code ec, size_t) { self->OnWrite(ec); });
  }

  void BuildRequest() {
    const std::string& subject = c_.subjects[random_() % c_.subjects.size()];
    ++sequence_;
    request_.clear();
    if (c_.options.mode == Mode::kIssue) {
      const std::string body =
          fmt::format(R"({{"subject_id":"{}","audience":"Bench Bank","nonce":"{}-{}-{}"}})",
                      subject, c_.clock.nonce_prefix, index_, sequence_);
      request_ = fmt::format(
          "POST /v1/attestations HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\n"
          "Accept: application/json\r\nContent-Length: {}\r\n\r\n{}",
          c_.options.host, c_.options.port, body.size(), body);
      return;
    }
    if (c_.options.mode == Mode::kCrossBorder) {
      const std::string body =
          fmt::format(R"({{"subject_id":"{}","purpose":"credit-check"}})", subject);
      request_ = fmt::format(
          "POST /v1/cross-border/attestations HTTP/1.1\r\nHost: {}:{}\r\n"
          "Content-Type: application/json\r\nAccept: application/json\r\n"
          "Content-Length: {}\r\n\r\n{}",
          c_.options.host, c_.options.port, body.size(), body);
      return;
    }
    request_ = fmt::format(
        "GET /v1/entities/{}/evaluation HTTP/1.1\r\nHost: {}:{}\r\nAccept: application/json\r\n{}"
        "\r\n",
        subject, c_.options.host, c_.options.port,
        PerRequestConnection() ? "Connection: close\r\n" : "");
  }

  void OnWrite(error_code ec) {
    if (ec) return Fail("write", ec);
    parser_.emplace();
    parser_->body_limit(kMaxResponseBody);
    beast::get_lowest_layer(*stream_).expires_after(kStepTimeout);
    http::async_read(*stream_, buffer_, *parser_,
                     [self = shared_from_this()](error_code e, size_t) { self->OnRead(e); });
  }

  void OnRead(error_code ec) {
    if (ec) return Fail("read", ec);
    const auto now = SteadyClock::now();
    const auto& response = parser_->get();
    if (c_.clock.InWindow(now)) {
      const int status = response.result_int();
      if (status >= 200 && status < 300) {
        ++c_.tally.ok;
      } else {
        ++c_.tally.non_2xx[status];
      }
      c_.tally.latency_ns.push_back((now - scheduled_).count());
      c_.tally.service_ns.push_back((now - sent_).count());
    }
    if (PerRequestConnection()) {
      beast::get_lowest_layer(*stream_).expires_after(kStepTimeout);
      stream_->async_shutdown([self = shared_from_this()](error_code) {
        // eof and stream_truncated are how peers commonly answer close_notify.
        self->CloseSocket();
        // The next connection replaces the stream: not from inside its own handler.
        asio::post(self->io_, [self] { self->NextRequest(); });
      });
      return;
    }
    if (!response.keep_alive()) {
      CloseSocket();
      if (c_.clock.Over()) return;
      return Connect();
    }
    NextRequest();
  }

  void Fail(std::string_view step, error_code ec) {
    CloseSocket();
    if (c_.clock.Over()) return;  // the end of the run cut it off: not an error
    ++c_.tally.errors[fmt::format("{}: {}", step, ec.message())];
    timer_.expires_after(kReconnectDelay);
    timer_.async_wait([self = shared_from_this()](error_code e) {
      if (e) return;
      if (self->PerRequestConnection()) {
        self->NextRequest();
      } else {
        self->Connect();
      }
    });
  }

  void Close() { CloseSocket(); }

  void CloseSocket() {
    if (!stream_) return;
    error_code ignored;
    beast::get_lowest_layer(*stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(*stream_).close();
  }

  asio::io_context& io_;
  ConnectionContext c_;
  std::optional<Stream> stream_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::string request_;
  std::minstd_rand random_;
  int index_;
  uint64_t sequence_ = 0;
  SteadyClock::time_point scheduled_;
  SteadyClock::time_point sent_;
};

double Percentile(const std::vector<int64_t>& sorted_ns, double p) {
  if (sorted_ns.empty()) return 0;
  size_t rank = static_cast<size_t>(p * static_cast<double>(sorted_ns.size()) + 0.999999);
  rank = std::clamp<size_t>(rank, 1, sorted_ns.size());
  return static_cast<double>(sorted_ns[rank - 1]) / 1e6;
}

struct Latencies {
  double p50, p90, p99, max;
};

Latencies Summarise(std::vector<int64_t>& ns) {
  std::sort(ns.begin(), ns.end());
  return {Percentile(ns, 0.50), Percentile(ns, 0.90), Percentile(ns, 0.99), Percentile(ns, 1.0)};
}

int RunLoad(const LoadOptions& o) {
  std::vector<std::string> subjects;
  if (!o.subjects_file.empty()) subjects = ReadSubjects(o.subjects_file);
  if (subjects.empty()) {
    if (o.mode == Mode::kStatic || o.mode == Mode::kHandshake) {
      // Any id: the static server ignores it (the node answers 404 for an unknown one).
      subjects.push_back("uscc:91440300MA5G2U7B88");
    } else {
      fmt::print(stderr,
                 "api_load: --subjects must name a non-empty file of entity ids for mode {}\n",
                 ModeName(o.mode));
      return 2;
    }
  }

  ssl::context tls(ssl::context::tls_client);
  tls.set_verify_mode(ssl::verify_peer);
  error_code ec;
  tls.load_verify_file(o.ca_file, ec);
  if (!ec) tls.use_certificate_chain_file(o.cert_file, ec);
  if (!ec) tls.use_private_key_file(o.key_file, ssl::context::pem, ec);
  if (ec) {
    fmt::print(stderr, "api_load: TLS files: {}\n", ec.message());
    return 2;
  }
  // Every handshake a full one: no client session cache, no session ever offered.
  SSL_CTX_set_session_cache_mode(tls.native_handle(), SSL_SESS_CACHE_OFF);

  const tcp::endpoint endpoint(asio::ip::make_address(o.host, ec), o.port);
  if (ec) {
    fmt::print(stderr, "api_load: --host must be an IP address: {}\n", ec.message());
    return 2;
  }

  RunClock clock;
  clock.rate = o.rate;
  clock.start = SteadyClock::now();
  const auto to_duration = [](double s) {
    return std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(s));
  };
  clock.measure_begin = clock.start + to_duration(o.warmup);
  clock.measure_end = clock.measure_begin + to_duration(o.seconds);
  clock.nonce_prefix = fmt::format("b{}", std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());

  const int threads = std::max(1, o.threads);
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<Tally> tallies(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) ios.push_back(std::make_unique<asio::io_context>(1));
  for (int i = 0; i < o.connections; ++i) {
    const auto t = static_cast<size_t>(i % threads);
    ConnectionContext context{o, subjects, tls, endpoint, clock, tallies[t]};
    std::make_shared<LoadConnection>(*ios[t], context, i)->Begin();
  }
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto& io = *ios[static_cast<size_t>(t)];
      // The run ends when every connection has finished after the window; one stuck
      // past kDrainTime is abandoned, not waited for.
      const Tally& tally = tallies[static_cast<size_t>(t)];
      asio::steady_timer watch(io);
      std::function<void()> arm = [&] {
        watch.expires_after(std::chrono::milliseconds(20));
        watch.async_wait([&](error_code) {
          const auto now = SteadyClock::now();
          if (now >= clock.measure_end + kDrainTime) return io.stop();
          if (now >= clock.measure_end && tally.live_connections == 0) return;
          arm();
        });
      };
      arm();
      io.run();
    });
  }
  for (auto& w : workers) w.join();

  // The client shares the machine with the server: say what it took.
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double client_cpu_s =
      static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
      static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  const double wall_s = std::chrono::duration<double>(SteadyClock::now() - clock.start).count();

  Tally all;
  for (auto& t : tallies) all.Merge(std::move(t));
  const uint64_t answered = all.latency_ns.size();
  const double throughput = static_cast<double>(answered) / o.seconds;
  const double ok_throughput = static_cast<double>(all.ok) / o.seconds;
  const Latencies latency = Summarise(all.latency_ns);
  const Latencies service = Summarise(all.service_ns);

  fmt::print(
      "mode {}: {} connections on {} client thread(s), {:g} s measured after {:g} s warm-up, ",
      ModeName(o.mode), o.connections, threads, o.seconds, o.warmup);
  if (o.rate > 0) {
    fmt::print("offered {:g} requests/s (open loop)\n", o.rate);
  } else {
    fmt::print("closed loop (maximum)\n");
  }
  fmt::print("  answered {}  2xx {}  non-2xx {}", answered, all.ok, answered - all.ok);
  for (const auto& [status, n] : all.non_2xx) fmt::print("  [{}: {}]", status, n);
  fmt::print("\n");
  uint64_t errors = 0;
  for (const auto& [cause, n] : all.errors) {
    errors += n;
    fmt::print("  error x{}: {}\n", n, cause);
  }
  fmt::print("  throughput {:.0f}/s answered, {:.0f}/s 2xx{}\n", throughput, ok_throughput,
             o.mode == Mode::kHandshake ? " (each a new connection and full handshake)" : "");
  fmt::print("  latency ms{}: p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  max {:.3f}\n",
             o.rate > 0 ? " (from the scheduled send)" : "", latency.p50, latency.p90, latency.p99,
             latency.max);
  if (o.rate > 0) {
    fmt::print(
        "  service ms (from the actual send): p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  max {:.3f}\n",
        service.p50, service.p90, service.p99, service.max);
  }
  fmt::print("  client CPU {:.2f} s in {:.1f} s ({:.0f}% of one core)\n", client_cpu_s, wall_s,
             100 * client_cpu_s / wall_s);
  // One line for scripts.
  fmt::print(
      "RESULT mode={} connections={} rate={:g} seconds={:g} answered={} ok={} non2xx={} errors={} "
      "throughput={:.0f} ok_throughput={:.0f} p50_ms={:.3f} p90_ms={:.3f} p99_ms={:.3f} "
      "max_ms={:.3f}\n",
      ModeName(o.mode), o.connections, o.rate, o.seconds, answered, all.ok, answered - all.ok,
      errors, throughput, ok_throughput, latency.p50, latency.p90, latency.p99, latency.max);
  return 0;
}

int ServeStatic(const LoadOptions& o) {
  namespace server = cg::gateway::server;
  spdlog::set_level(spdlog::level::warn);
  server::ServerOptions options;
  options.api_address = o.host;
  options.api_port = o.port;
  options.admin_address = o.host;
  options.admin_port = 0;
  options.io_threads = o.server_io_threads;
  options.handler_threads = o.server_handler_threads;
  // As the benchmark node's [limits]: the rate limiter at its maximum.
  options.limits.rate_per_second = 1'000'000;
  options.limits.rate_burst = 10'000'000;
  options.tls = {o.server_cert_file, o.server_key_file, {o.ca_file}};
  for (std::string_view name : {"agency", "firm", "bank", "peer", "operator"}) {
    options.roles[std::string(name)] = *server::ParseRole(name);
  }
  options.handler = [](const server::HttpRequest&) {
    server::HttpResponse response;
    response.body = std::string(kStaticBody);
    return response;
  };
  auto created = server::HttpsServer::Create(std::move(options));
  if (!created.ok()) {
    fmt::print(stderr, "api_load: {}\n", created.status().ToString());
    return 1;
  }
  fmt::print("static serving https://{}:{}\n", o.host, (*created)->api_port());
  std::fflush(stdout);
  const cg::Status ran = server::RunUntilSignalled(**created);
  if (!ran.ok()) {
    fmt::print(stderr, "api_load: {}\n", ran.ToString());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  LoadOptions o;
  CLI::App app{"Load client for the credit-gateway HTTPS API (mutual TLS); prints figures"};
  app.add_option("--host", o.host, "Server IP address")->capture_default_str();
  app.add_option("--port", o.port, "Server port (--serve-static: port to bind, 0 = any)");
  app.add_option("--ca", o.ca_file,
                 "CA certificate (PEM) of the server; --serve-static: of clients")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--cert", o.cert_file, "Client certificate (PEM)")->check(CLI::ExistingFile);
  app.add_option("--key", o.key_file, "Client private key (PEM)")->check(CLI::ExistingFile);
  app.add_option("--subjects", o.subjects_file,
                 "Entity ids, one a line or the first column of a CSV (e.g. sz-grades.csv)")
      ->check(CLI::ExistingFile);
  const std::map<std::string, Mode> modes{{"issue", Mode::kIssue},
                                          {"cross-border", Mode::kCrossBorder},
                                          {"lookup", Mode::kLookup},
                                          {"static", Mode::kStatic},
                                          {"handshake", Mode::kHandshake}};
  std::string mode_name = "lookup";
  app.add_option("--mode", mode_name, "What to measure")
      ->check(CLI::IsMember({"issue", "cross-border", "lookup", "static", "handshake"}))
      ->capture_default_str();
  app.add_option("--seconds", o.seconds, "Measured duration")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--warmup", o.warmup, "Unmeasured seconds before it")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--connections", o.connections, "Concurrent connections")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--threads", o.threads, "Client I/O threads")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--rate", o.rate, "Offered requests per second in total (0: closed loop)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--serve-static", o.serve_static,
               "Run the static-response HTTPS server instead of the client");
  app.add_option("--server-cert", o.server_cert_file, "--serve-static: server certificate (PEM)")
      ->check(CLI::ExistingFile);
  app.add_option("--server-key", o.server_key_file, "--serve-static: server private key (PEM)")
      ->check(CLI::ExistingFile);
  app.add_option("--server-io-threads", o.server_io_threads, "--serve-static: I/O threads")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--server-handler-threads", o.server_handler_threads,
                 "--serve-static: handler threads")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  o.mode = modes.at(mode_name);

  if (o.serve_static) {
    if (o.server_cert_file.empty() || o.server_key_file.empty()) {
      fmt::print(stderr, "api_load: --serve-static needs --server-cert and --server-key\n");
      return 2;
    }
    return ServeStatic(o);
  }
  if (o.port == 0 || o.cert_file.empty() || o.key_file.empty()) {
    fmt::print(stderr, "api_load: the client needs --port, --cert and --key\n");
    return 2;
  }
  return RunLoad(o);
}
