// The server: listeners, connections and lifecycle, on Boost.Beast and Asio. The
// shape follows Beast's example/http/server/async-ssl and example/advanced/server:
// each connection is a chain of small steps on its own strand. Beast and Asio
// error codes are translated into responses, metrics and log lines here, and
// nowhere else.
//
// A connection has two sides that run interleaved on its strand:
//  - reading: wait for the first byte (idle timeout, unless a response is owed),
//    then the header (header timeout), then the body (body timeout); each complete
//    request joins the connection's queue, and reading goes on until the queue
//    holds max_pipelined requests;
//  - answering: the request at the front of the queue is answered as
//    options.answering says (on a handler thread, on this strand, or later through
//    a Responder), unless it already has the server's own error response; the
//    response is written (write timeout); then the next one.
// Timeouts use the connection's own timers (not beast::tcp_stream's), because the
// read and write sides need different deadlines at the same time.
#include "gateway/server/https_server.h"

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gateway/server/rate_limiter.h"

namespace cg::gateway::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

// The first read of a request asks for this much, so a pipelined burst arrives in
// one read.
constexpr size_t kFirstReadBytes = 16 * 1024;
// After an accept error (e.g. out of file descriptors) the listener waits this
// long before accepting again, rather than spinning.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);
constexpr std::string_view kServerName = "credit-gateway";
// The route label of requests rejected before they could be parsed.
constexpr std::string_view kUnparsedRoute = "unparsed";

// 1 to 64 characters of [A-Za-z0-9._-]: safe in logs and headers.
bool IsWellFormedRequestId(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

// Request ids need to be distinct, not secret. Each thread steps its own random
// starting point through splitmix64, a bijection, so a thread never repeats an id
// and threads collide no more than random ids would. RAND_bytes for every request
// cost a getpid() system call each (OpenSSL's fork check).
std::string NewRequestId() {
  thread_local uint64_t state = [] {
    uint64_t seed = 0;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed) != 1) {
      seed = static_cast<uint64_t>(Clock::now().time_since_epoch().count()) ^
             std::hash<std::thread::id>{}(std::this_thread::get_id());
    }
    return seed;
  }();
  state += 0x9e3779b97f4a7c15;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  z ^= z >> 31;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(16, '0');
  for (int i = 15; i >= 0; --i, z >>= 4) id[static_cast<size_t>(i)] = kHex[z & 0xf];
  return id;
}

// Beast 1.74 speaks boost::string_view.
std::string_view Std(beast::string_view text) { return {text.data(), text.size()}; }
beast::string_view Beast(std::string_view text) { return {text.data(), text.size()}; }

std::string Lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool SafeHeaderText(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message,
                           std::string_view request_id) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = ErrorBody(code, message, request_id);
  return response;
}

// The reason label of a failed handshake, from OpenSSL's reason code.
std::string_view HandshakeFailureReason(const error_code& ec) {
  if (ec.category() != asio::error::get_ssl_category()) {
    if (ec == asio::ssl::error::stream_truncated || ec == asio::error::eof ||
        ec == asio::error::connection_reset)
      return "peer_closed";
    return "network";
  }
  switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      return "no_client_certificate";
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
      return "certificate_verify_failed";
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_VERSION_TOO_LOW:
      return "protocol_version";
    case SSL_R_NO_SHARED_CIPHER:
      return "no_shared_cipher";
    case SSL_R_HTTP_REQUEST:
      return "plain_http";
    default:
      return "other";
  }
}

class SessionBase;

// What connections share with their listener: its cap on connections and its rate
// limiter. Lives in ServerCore, so it outlives every connection.
struct ListenerState {
  ListenerState(std::string listener_name, bool is_tls, size_t cap, const ServerLimits& limits)
      : name(std::move(listener_name)),
        tls(is_tls),
        max_connections(cap),
        limiter(limits.rate_per_second, limits.rate_burst) {}

  const std::string name;  // "api" or "admin"
  const bool tls;
  const size_t max_connections;
  std::atomic<size_t> connections{0};
  ClientRateLimiter limiter;
  Gauge* connections_active = nullptr;
};

// A listening socket. Owned by the server next to the io_context.
struct Listener {
  Listener(asio::io_context& ioc, ListenerState& listener_state)
      : state(listener_state),
        acceptor(asio::make_strand(ioc)),
        retry_timer(acceptor.get_executor()) {}

  ListenerState& state;
  tcp::acceptor acceptor;
  asio::steady_timer retry_timer;
};

// What every connection shares: options, metrics, the current TLS context, and
// the registry of open connections used by Stop(). Outlives every connection.
struct ServerCore {
  ServerOptions options;
  std::shared_ptr<MetricsRegistry> metrics;

  CounterFamily* requests_total = nullptr;
  HistogramFamily* request_duration = nullptr;
  CounterFamily* handshake_failures = nullptr;
  CounterFamily* rejected = nullptr;
  CounterFamily* tls_reloads = nullptr;

  std::unique_ptr<ListenerState> api;
  std::unique_ptr<ListenerState> admin;

  std::atomic<bool> stopping{false};
  asio::thread_pool* handler_pool = nullptr;

  // Answers that Responders still owe (Answering::kAsync): Stop() waits for them
  // before the io_context they are posted to goes.
  std::mutex async_mutex;
  std::condition_variable async_cv;
  int async_owed = 0;  // guarded by async_mutex

  void AsyncStarted() {
    std::lock_guard lock(async_mutex);
    ++async_owed;
  }
  void AsyncDone() {
    std::lock_guard lock(async_mutex);
    if (--async_owed == 0) async_cv.notify_all();
  }
  void WaitForAsync() {
    std::unique_lock lock(async_mutex);
    async_cv.wait(lock, [this] { return async_owed == 0; });
  }

  std::mutex tls_mutex;
  std::shared_ptr<asio::ssl::context> tls;  // guarded by tls_mutex
  TlsFiles tls_files;                       // guarded by tls_mutex
  // Reloaded with the TLS files: the peers' CAs are among the client CAs.
  std::shared_ptr<const PeerAuthorities> peer_authorities;  // guarded by tls_mutex

  std::mutex sessions_mutex;
  std::condition_variable sessions_cv;  // notified when a connection ends
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;

  std::shared_ptr<asio::ssl::context> CurrentTls() {
    std::lock_guard lock(tls_mutex);
    return tls;
  }
  std::shared_ptr<const PeerAuthorities> CurrentPeerAuthorities() {
    std::lock_guard lock(tls_mutex);
    return peer_authorities;
  }
  void Reject(std::string_view reason) { rejected->WithLabels({reason}).Increment(); }
};

class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  // Stop() has begun: finish what is owed and close. Thread-safe (posts).
  virtual void OnServerStopping() = 0;
  // Closes the socket at once. Only when no thread runs the io_context.
  virtual void CloseNowUnlocked() = 0;
};

template <bool kTls>
class Session final : public SessionBase {
 public:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<tcp::socket>, tcp::socket>;

  Session(ServerCore& core, ListenerState& listener, tcp::socket socket,
          std::shared_ptr<asio::ssl::context> tls)
      : core_(core),
        listener_(listener),
        limits_(core.options.limits),
        executor_(socket.get_executor()),
        tls_(std::move(tls)),
        stream_(MakeStream(std::move(socket), tls_.get())),
        read_timer_(executor_),
        write_timer_(executor_) {
    listener_.connections.fetch_add(1);
    listener_.connections_active->Increment();
  }

  ~Session() override {
    listener_.connections.fetch_sub(1);
    listener_.connections_active->Decrement();
    {
      std::lock_guard lock(core_.sessions_mutex);
      core_.sessions.erase(this);
    }
    core_.sessions_cv.notify_all();
  }

  void Start() {
    {
      std::lock_guard lock(core_.sessions_mutex);
      core_.sessions.emplace(this, weak_from_this());
    }
    asio::dispatch(executor_, [self = Self()] { self->OnStart(); });
  }

  void OnServerStopping() override {
    asio::post(executor_, [self = Self()] {
      if (self->closed_) return;
      self->read_done_ = true;
      self->MaybeFinish();
    });
  }

  void CloseNowUnlocked() override { HardClose(); }

 private:
  enum class ReadPhase { kNone, kHandshake, kIdle, kHeader, kBody, kClosing };

  // A request read from the connection, waiting for (or holding) its response.
  struct Pending {
    std::shared_ptr<HttpRequest> request;
    std::string request_id;
    std::string route;
    bool keep_alive = true;
    bool head = false;         // a HEAD request: the response has no body
    bool close_after = false;  // the server's error: the connection cannot go on
    std::optional<HttpResponse> response;
    Clock::time_point received;
  };

  static Stream MakeStream(tcp::socket socket, asio::ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      (void)tls;
      return socket;
    }
  }

  std::shared_ptr<Session> Self() { return std::static_pointer_cast<Session>(shared_from_this()); }
  tcp::socket& Socket() { return beast::get_lowest_layer(stream_); }

  // --- timers -----------------------------------------------------------------

  void ArmReadTimer(std::chrono::milliseconds timeout, ReadPhase phase) {
    const uint64_t generation = ++read_timer_generation_;
    read_timer_.expires_after(timeout);
    read_timer_.async_wait([self = Self(), generation, phase](const error_code& ec) {
      if (ec || generation != self->read_timer_generation_ || self->closed_) return;
      self->OnReadTimeout(phase);
    });
  }
  void CancelReadTimer() {
    ++read_timer_generation_;
    read_timer_.cancel();
  }

  void OnReadTimeout(ReadPhase phase) {
    switch (phase) {
      case ReadPhase::kIdle:
        BeginClose();
        return;
      case ReadPhase::kHandshake:
        core_.handshake_failures->WithLabels({"timeout"}).Increment();
        break;
      case ReadPhase::kHeader:
        core_.Reject("header_timeout");
        break;
      case ReadPhase::kBody:
        core_.Reject("body_timeout");
        break;
      default:
        break;
    }
    HardClose();
  }

  void ArmWriteTimer() {
    const uint64_t generation = ++write_timer_generation_;
    write_timer_.expires_after(limits_.write_timeout);
    write_timer_.async_wait([self = Self(), generation](const error_code& ec) {
      if (ec || generation != self->write_timer_generation_ || self->closed_) return;
      self->core_.Reject("write_timeout");
      self->HardClose();
    });
  }

  // The idle timeout runs only while nothing is owed to the client.
  void UpdateIdleTimer() {
    if (read_phase_ != ReadPhase::kIdle) return;
    if (queue_.empty() && !busy_) {
      ArmReadTimer(limits_.idle_timeout, ReadPhase::kIdle);
    } else {
      CancelReadTimer();
    }
  }

  // --- reading ----------------------------------------------------------------

  void OnStart() {
    error_code ec;
    const tcp::endpoint peer = Socket().remote_endpoint(ec);
    if (!ec) identity_.peer_address = peer.address().to_string();
    Socket().set_option(tcp::no_delay(true), ec);
    if constexpr (kTls) {
      read_phase_ = ReadPhase::kHandshake;
      ArmReadTimer(limits_.handshake_timeout, ReadPhase::kHandshake);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = Self()](const error_code& e) { self->OnHandshake(e); });
    } else {
      client_key_ = identity_.peer_address;
      ReadNext();
    }
  }

  void OnHandshake(const error_code& ec) {
    read_phase_ = ReadPhase::kNone;
    if (closed_) return;
    CancelReadTimer();
    if (ec) {
      const std::string_view reason = HandshakeFailureReason(ec);
      core_.handshake_failures->WithLabels({reason}).Increment();
      spdlog::debug("TLS handshake from {} failed ({}): {}", identity_.peer_address, reason,
                    ec.message());
      HardClose();
      return;
    }
    if constexpr (kTls) {
      X509* certificate = SSL_get0_peer_certificate(stream_.native_handle());
      StatusOr<ClientIdentity> identity =
          ClientIdentityFromCertificate(certificate, core_.options.roles);
      if (!identity.ok()) {
        core_.handshake_failures->WithLabels({"bad_certificate"}).Increment();
        spdlog::info("client certificate from {} unreadable: {}", identity_.peer_address,
                     identity.status().ToString());
        HardClose();
        return;
      }
      core_.CurrentPeerAuthorities()->Apply(SSL_get0_verified_chain(stream_.native_handle()),
                                            *identity);
      identity->peer_address = std::move(identity_.peer_address);
      identity_ = *std::move(identity);
      client_key_ = identity_.fingerprint;
    }
    ReadNext();
  }

  void ReadNext() {
    if (closed_ || closing_) return;
    // Also covers a connection accepted just as Stop() began, which
    // OnServerStopping may not have reached.
    if (core_.stopping.load()) read_done_ = true;
    if (read_done_) {
      MaybeFinish();
      return;
    }
    if (queue_.size() >= limits_.max_pipelined) {
      read_paused_ = true;
      return;
    }
    if (buffer_.size() > 0) {
      ReadHeader();
      return;
    }
    read_phase_ = ReadPhase::kIdle;
    UpdateIdleTimer();
    stream_.async_read_some(
        buffer_.prepare(kFirstReadBytes),
        [self = Self()](const error_code& ec, size_t n) { self->OnFirstBytes(ec, n); });
  }

  void OnFirstBytes(const error_code& ec, size_t n) {
    read_phase_ = ReadPhase::kNone;
    if (closed_) return;
    CancelReadTimer();
    if (closing_) {
      ContinueClose();
      return;
    }
    if (ec) {
      OnReadError(ec);
      return;
    }
    buffer_.commit(n);
    if (read_done_) {
      MaybeFinish();
      return;
    }
    ReadHeader();
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    parser_->body_limit(static_cast<std::uint64_t>(limits_.max_body_bytes));
    read_phase_ = ReadPhase::kHeader;
    ArmReadTimer(limits_.header_read_timeout, ReadPhase::kHeader);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = Self()](const error_code& ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(const error_code& ec) {
    read_phase_ = ReadPhase::kNone;
    if (closed_) return;
    CancelReadTimer();
    if (closing_) {
      ContinueClose();
      return;
    }
    if (ec) {
      OnReadError(ec);
      return;
    }
    if (parser_->is_done()) {
      OnRequest();
      return;
    }
    // A client that sent "Expect: 100-continue" waits for the interim response
    // before sending the body. It is sent when nothing else is being answered on
    // the connection (otherwise it would interleave; the client then sends the
    // body after its own timeout).
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue") && queue_.empty() &&
        !busy_ && !writing_) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      writing_ = true;
      ArmWriteTimer();
      asio::async_write(
          stream_, asio::buffer(kContinue.data(), kContinue.size()),
          [self = Self()](const error_code& e, size_t) { self->OnContinueWritten(e); });
      return;
    }
    ReadBody();
  }

  void OnContinueWritten(const error_code& ec) {
    writing_ = false;
    ++write_timer_generation_;
    write_timer_.cancel();
    if (closed_) return;
    if (ec) {
      HardClose();
      return;
    }
    if (closing_) {
      ContinueClose();
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    read_phase_ = ReadPhase::kBody;
    ArmReadTimer(limits_.body_read_timeout, ReadPhase::kBody);
    http::async_read(stream_, buffer_, *parser_,
                     [self = Self()](const error_code& e, size_t) { self->OnBody(e); });
  }

  void OnBody(const error_code& ec) {
    read_phase_ = ReadPhase::kNone;
    if (closed_) return;
    CancelReadTimer();
    if (closing_) {
      ContinueClose();
      return;
    }
    if (ec) {
      OnReadError(ec);
      return;
    }
    OnRequest();
  }

  // A read failed: answer what can be answered, then close.
  void OnReadError(const error_code& ec) {
    parser_.reset();
    read_done_ = true;
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      RejectUnparsed(431, "HEADER_TOO_LARGE", "the request header is too large",
                     "header_too_large");
    } else if (ec == http::error::body_limit) {
      RejectUnparsed(413, "BODY_TOO_LARGE", "the request body is too large", "body_too_large");
    } else if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
               ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      // The client is done sending (possibly mid-request); still answer what it
      // already asked.
      MaybeFinish();
    } else if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
      RejectUnparsed(400, "MALFORMED_REQUEST", "the request is not valid HTTP/1.1", "malformed");
    } else {
      spdlog::debug("read from {} failed: {}", identity_.peer_address, ec.message());
      HardClose();
    }
  }

  void RejectUnparsed(int status, std::string_view code, std::string_view message,
                      std::string_view reason) {
    core_.Reject(reason);
    Pending pending;
    pending.request_id = NewRequestId();
    pending.route = kUnparsedRoute;
    pending.close_after = true;
    pending.received = Clock::now();
    pending.response = ErrorResponse(status, code, message, pending.request_id);
    queue_.push_back(std::move(pending));
    MaybeStartAnswer();
  }

  void OnRequest() {
    http::request<http::string_body> message = parser_->release();
    parser_.reset();

    Pending pending;
    pending.received = Clock::now();
    pending.keep_alive = message.keep_alive();
    pending.head = message.method() == http::verb::head;
    pending.request_id = NewRequestId();
    auto request = std::make_shared<HttpRequest>();
    request->method = std::string(Std(message.method_string()));
    request->target = std::string(Std(message.target()));
    request->headers.reserve(static_cast<size_t>(std::distance(message.begin(), message.end())));
    for (const auto& field : message)
      request->headers.emplace_back(Lowercase(Std(field.name_string())),
                                    std::string(Std(field.value())));
    request->body = std::move(message.body());
    // A peer node's call carries the id of the request it serves, so that both
    // nodes' audit logs can be matched: adopted when well-formed.
    if (identity_.role == Role::kPeer) {
      const std::string* caller_id = request->FindHeader("x-request-id");
      if (caller_id != nullptr && IsWellFormedRequestId(*caller_id))
        pending.request_id = *caller_id;
    }
    request->request_id = pending.request_id;
    request->client = identity_;
    pending.route = RouteOf(*request);
    if (!pending.keep_alive) read_done_ = true;

    if (kTls && !identity_.role.has_value()) {
      core_.Reject("no_role");
      pending.response = ErrorResponse(403, "NO_ROLE", "the client certificate grants no role",
                                       pending.request_id);
    } else {
      const ClientRateLimiter::Decision decision =
          listener_.limiter.Admit(client_key_, pending.received);
      if (!decision.admitted) {
        core_.Reject("rate_limited");
        pending.response = ErrorResponse(429, "RATE_LIMITED", "too many requests; retry later",
                                         pending.request_id);
        pending.response->headers.emplace_back("Retry-After",
                                               std::to_string(decision.retry_after_seconds));
      }
    }
    if (!pending.response) pending.request = std::move(request);
    queue_.push_back(std::move(pending));
    MaybeStartAnswer();
    ReadNext();
  }

  std::string RouteOf(const HttpRequest& request) const {
    if constexpr (kTls) {
      if (core_.options.route_namer)
        return core_.options.route_namer(request.method, request.target);
      return "other";
    } else {
      const std::string_view path = AdminPath(request.target);
      if (path == "/healthz" || path == "/readyz" || path == "/metrics") return std::string(path);
      return "admin_other";
    }
  }

  static std::string_view AdminPath(std::string_view target) {
    return target.substr(0, target.find('?'));
  }

  // --- answering --------------------------------------------------------------

  void MaybeStartAnswer() {
    if (busy_ || queue_.empty() || closed_) return;
    busy_ = true;
    UpdateIdleTimer();
    Pending& pending = queue_.front();
    if (pending.response) {
      Write();
      return;
    }
    if (core_.stopping.load()) {
      core_.Reject("shutting_down");
      pending.response =
          ErrorResponse(503, "SHUTTING_DOWN", "the server is shutting down", pending.request_id);
      pending.close_after = true;
      Write();
      return;
    }
    const RequestHandler* handler = &core_.options.handler;
    if constexpr (!kTls) {
      std::optional<HttpResponse> builtin = AdminBuiltin(*pending.request);
      if (builtin) {
        pending.response = std::move(builtin);
        Write();
        return;
      }
      handler = &core_.options.admin_handler;
      if (!*handler) {
        pending.response =
            ErrorResponse(404, "NOT_FOUND", "no such admin resource", pending.request_id);
        Write();
        return;
      }
    }
    const Answering answering = kTls && core_.options.answering
                                    ? core_.options.answering(*pending.request, pending.route)
                                    : Answering::kHandlerThread;
    if (answering == Answering::kInline) {
      // Quick and never waiting long: answered here, without the hand-off to a
      // handler thread and back.
      OnAnswered(CallHandler(*handler, *pending.request));
      return;
    }
    if (answering == Answering::kAsync) {
      StartAsync(pending.request);
      return;
    }
    asio::post(*core_.handler_pool, [self = Self(), handler, request = pending.request] {
      HttpResponse response = CallHandler(*handler, *request);
      asio::post(self->executor_, [self, response = std::move(response)]() mutable {
        self->OnAnswered(std::move(response));
      });
    });
  }

  // Where a Responder's answer goes: posted to the connection's strand. It gives up
  // the connection and the request when it delivers (the Responder's copies may
  // outlive the server), and tells the server then that nothing is owed any more.
  class AsyncAnswer final : public Responder::Target {
   public:
    AsyncAnswer(std::shared_ptr<Session> session, std::shared_ptr<const HttpRequest> request)
        : session_(std::move(session)), request_(std::move(request)) {
      session_->core_.AsyncStarted();
    }
    void Deliver(Responder::Make make) noexcept override {
      ServerCore& core = session_->core_;
      try {
        const asio::any_io_executor strand = session_->executor_;
        asio::post(strand, [session = std::move(session_), request = std::move(request_),
                            make = std::move(make)]() mutable {
          session->OnAnswered(
              make ? CallHandler([&](const HttpRequest&) { return make(); }, *request)
                   : Unanswered(*request));
        });
      } catch (const std::exception& e) {
        // Out of memory: the connection goes when the server closes it.
        spdlog::error("cannot deliver the answer to a request: {}", e.what());
      }
      core.AsyncDone();
    }

   private:
    static HttpResponse Unanswered(const HttpRequest& request) {
      spdlog::error("request {} was dropped without an answer", request.request_id);
      return ErrorResponse(500, "INTERNAL", "internal error", request.request_id);
    }
    std::shared_ptr<Session> session_;
    std::shared_ptr<const HttpRequest> request_;
  };

  void StartAsync(const std::shared_ptr<HttpRequest>& request) {
    const Responder responder(std::make_shared<AsyncAnswer>(Self(), request));
    if (!core_.options.async_handler) {
      spdlog::error("no asynchronous handler for request {}", request->request_id);
      return;  // the responder goes unanswered: 500
    }
    try {
      core_.options.async_handler(*request, responder);
    } catch (const std::exception& e) {
      spdlog::error("handler threw for request {}: {}", request->request_id, e.what());
    } catch (...) {
      spdlog::error("handler threw for request {}", request->request_id);
    }
  }

  template <typename Handler>
  static HttpResponse CallHandler(const Handler& handler, const HttpRequest& request) {
    try {
      HttpResponse response = handler(request);
      if (response.status < 200 || response.status > 599) {
        spdlog::error("handler returned HTTP status {} for request {}", response.status,
                      request.request_id);
        return ErrorResponse(500, "INTERNAL", "internal error", request.request_id);
      }
      return response;
    } catch (const std::exception& e) {
      spdlog::error("handler threw for request {}: {}", request.request_id, e.what());
    } catch (...) {
      spdlog::error("handler threw for request {}", request.request_id);
    }
    return ErrorResponse(500, "INTERNAL", "internal error", request.request_id);
  }

  std::optional<HttpResponse> AdminBuiltin(const HttpRequest& request) const {
    const std::string_view path = AdminPath(request.target);
    HttpResponse response;
    response.content_type = "text/plain; charset=utf-8";
    if (path == "/healthz") {
      response.body = "ok\n";
    } else if (path == "/readyz") {
      const bool ready =
          !core_.stopping.load() && (!core_.options.readiness || core_.options.readiness());
      response.status = ready ? 200 : 503;
      response.body = ready ? "ready\n" : "not ready\n";
    } else if (path == "/metrics") {
      response.content_type = std::string(MetricsRegistry::kContentType);
      response.body = core_.metrics->Render();
    } else {
      return std::nullopt;
    }
    return response;
  }

  void OnAnswered(HttpResponse response) {
    if (closed_) return;
    queue_.front().response = std::move(response);
    Write();
  }

  void Write() {
    Pending& pending = queue_.front();
    try {
      BuildResponse(pending, *pending.response);
    } catch (const std::exception& e) {
      // Beast refused a field the handler supplied: answer 500 instead.
      spdlog::error("cannot build the response to request {}: {}", pending.request_id, e.what());
      HttpResponse error = ErrorResponse(500, "INTERNAL", "internal error", pending.request_id);
      BuildResponse(pending, error);
    }
    writing_ = true;
    ArmWriteTimer();
    http::async_write(stream_, *response_,
                      [self = Self()](const error_code& ec, size_t) { self->OnWrite(ec); });
  }

  void BuildResponse(const Pending& pending, HttpResponse& answer) {
    response_.emplace(static_cast<http::status>(answer.status), 11);
    response_->set(http::field::server, Beast(kServerName));
    if (!answer.content_type.empty())
      response_->set(http::field::content_type, answer.content_type);
    response_->set("X-Request-Id", pending.request_id);
    for (const auto& [name, value] : answer.headers) {
      const std::string lower = Lowercase(name);
      if (lower == "content-length" || lower == "connection" || lower == "server" ||
          lower == "x-request-id" || lower == "transfer-encoding" || !SafeHeaderText(name) ||
          !SafeHeaderText(value) || name.empty()) {
        spdlog::warn("dropped response header \"{}\" of request {}", lower, pending.request_id);
        continue;
      }
      response_->insert(name, value);
    }
    // During Stop() the last response owed says the connection ends.
    const bool last_during_stop = core_.stopping.load() && queue_.size() == 1 &&
                                  read_phase_ != ReadPhase::kHeader &&
                                  read_phase_ != ReadPhase::kBody;
    response_->keep_alive(pending.keep_alive && !pending.close_after && !last_during_stop);
    status_ = answer.status;
    if (answer.status == 204 || answer.status == 304) {
      response_->content_length(boost::none);  // these never have a body
    } else if (pending.head) {
      response_->content_length(answer.body.size());  // what GET would send
    } else {
      response_->body() = std::move(answer.body);
      response_->prepare_payload();
    }
  }

  void OnWrite(const error_code& ec) {
    writing_ = false;
    ++write_timer_generation_;
    write_timer_.cancel();
    const Pending done = std::move(queue_.front());
    queue_.pop_front();
    busy_ = false;
    RecordRequest(done);
    if (closed_) return;
    if (ec) {
      spdlog::debug("write to {} failed: {}", identity_.peer_address, ec.message());
      HardClose();
      return;
    }
    const bool keep_alive = response_->keep_alive();
    response_.reset();
    if (!keep_alive || closing_) {
      read_done_ = true;
      BeginClose();
      return;
    }
    if (read_paused_ && queue_.size() < limits_.max_pipelined) {
      read_paused_ = false;
      ReadNext();
    }
    MaybeStartAnswer();
    UpdateIdleTimer();
    MaybeFinish();
  }

  void RecordRequest(const Pending& done) {
    const std::string status = std::to_string(status_);
    core_.requests_total->WithLabels({done.route, status}).Increment();
    core_.request_duration->WithLabels({done.route})
        .Observe(std::chrono::duration<double>(Clock::now() - done.received).count());
  }

  // --- closing ----------------------------------------------------------------

  // Closes once nothing more will be read and nothing is owed.
  void MaybeFinish() {
    if (closed_ || closing_ || !read_done_ || busy_ || !queue_.empty()) return;
    // A request being read is still answered (503 when stopping); a handshake
    // finishes first, then comes back here.
    if (read_phase_ == ReadPhase::kHeader || read_phase_ == ReadPhase::kBody ||
        read_phase_ == ReadPhase::kHandshake)
      return;
    BeginClose();
  }

  // Graceful close: stop reading, then TLS close_notify (bounded by the close
  // timeout) or a TCP shutdown. Never called while a write is in flight.
  void BeginClose() {
    if (closing_ || closed_) return;
    closing_ = true;
    read_done_ = true;
    if (read_phase_ != ReadPhase::kNone && !writing_) {
      error_code ignored;
      Socket().cancel(ignored);  // the pending read ends and calls ContinueClose
      return;
    }
    ContinueClose();
  }

  void ContinueClose() {
    if (closed_ || read_phase_ != ReadPhase::kNone || writing_) return;
    if constexpr (kTls) {
      read_phase_ = ReadPhase::kClosing;
      ArmReadTimer(limits_.close_timeout, ReadPhase::kClosing);
      stream_.async_shutdown([self = Self()](const error_code&) {
        // eof / stream_truncated are how many clients answer close_notify.
        self->read_phase_ = ReadPhase::kNone;
        self->HardClose();
      });
    } else {
      error_code ignored;
      Socket().shutdown(tcp::socket::shutdown_send, ignored);
      HardClose();
    }
  }

  void HardClose() {
    if (closed_) return;
    closed_ = true;
    ++read_timer_generation_;
    ++write_timer_generation_;
    read_timer_.cancel();
    write_timer_.cancel();
    error_code ignored;
    Socket().shutdown(tcp::socket::shutdown_both, ignored);
    Socket().close(ignored);
  }

  ServerCore& core_;
  ListenerState& listener_;
  const ServerLimits& limits_;
  asio::any_io_executor executor_;  // the connection's strand
  std::shared_ptr<asio::ssl::context> tls_;
  Stream stream_;
  asio::steady_timer read_timer_;
  asio::steady_timer write_timer_;
  uint64_t read_timer_generation_ = 0;
  uint64_t write_timer_generation_ = 0;

  ClientIdentity identity_;
  std::string client_key_;  // the rate limiter's key

  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  ReadPhase read_phase_ = ReadPhase::kNone;  // which read is in flight
  bool read_paused_ = false;                 // the queue is full
  bool read_done_ = false;                   // no more requests will be read

  std::deque<Pending> queue_;
  bool busy_ = false;     // the front request is being answered
  bool writing_ = false;  // a response write is in flight
  std::optional<http::response<http::string_body>> response_;
  int status_ = 0;

  bool closing_ = false;
  bool closed_ = false;
};

// The answer of an admin connection over the cap, written without reading.
const std::string& TooManyConnectionsResponse() {
  static const std::string response = [] {
    const std::string body = ErrorBody("TOO_MANY_CONNECTIONS", "too many connections", "");
    return "HTTP/1.1 503 Service Unavailable\r\nServer: " + std::string(kServerName) +
           "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  return response;
}

}  // namespace

// --- the server --------------------------------------------------------------

class HttpsServer::Impl {
 public:
  explicit Impl(ServerOptions options) : io_threads_(options.io_threads), ioc_(io_threads_) {
    core_.options = std::move(options);
  }

  ~Impl() { Stop(); }

  Status Init() {
    ServerOptions& options = core_.options;
    core_.metrics = options.metrics ? options.metrics : std::make_shared<MetricsRegistry>();
    CG_RETURN_IF_ERROR(RegisterMetrics());
    CG_ASSIGN_OR_RETURN(PeerAuthorities peers, PeerAuthorities::Load(options.peer_cas));
    core_.peer_authorities = std::make_shared<const PeerAuthorities>(std::move(peers));

    CG_ASSIGN_OR_RETURN(SslCtxPtr context, BuildServerTlsContext(options.tls));
    core_.tls = std::make_shared<asio::ssl::context>(context.release());
    core_.tls_files = options.tls;

    const ServerLimits& limits = options.limits;
    core_.api = std::make_unique<ListenerState>("api", true, limits.max_connections, limits);
    core_.admin =
        std::make_unique<ListenerState>("admin", false, limits.max_admin_connections, limits);
    core_.api->connections_active = &connections_active_->WithLabels({"api"});
    core_.admin->connections_active = &connections_active_->WithLabels({"admin"});
    api_ = std::make_unique<Listener>(ioc_, *core_.api);
    admin_ = std::make_unique<Listener>(ioc_, *core_.admin);
    CG_RETURN_IF_ERROR(Bind(*api_, options.api_address, options.api_port));
    CG_RETURN_IF_ERROR(Bind(*admin_, options.admin_address, options.admin_port));
    return OkStatus();
  }

  Status Start() {
    std::lock_guard lock(state_mutex_);
    if (started_ || stopped_) return FailedPreconditionError("the server was already started");
    started_ = true;
    handler_pool_.emplace(static_cast<size_t>(core_.options.handler_threads));
    core_.handler_pool = &*handler_pool_;
    Accept(*api_);
    Accept(*admin_);
    threads_.reserve(static_cast<size_t>(io_threads_));
    for (int i = 0; i < io_threads_; ++i) threads_.emplace_back([this] { RunIo(); });
    spdlog::info("serving the API on port {} and admin on port {}", api_port(), admin_port());
    return OkStatus();
  }

  Status Run() {
    {
      std::lock_guard lock(state_mutex_);
      if (stopped_) return FailedPreconditionError("the server was already stopped");
    }
    bool already_started;
    {
      std::lock_guard lock(state_mutex_);
      already_started = started_;
    }
    if (!already_started) CG_RETURN_IF_ERROR(Start());
    {
      std::unique_lock lock(state_mutex_);
      state_cv_.wait(lock, [this] { return stop_requested_ || stopped_; });
    }
    Stop();
    return OkStatus();
  }

  void RequestStop() {
    {
      std::lock_guard lock(state_mutex_);
      if (stop_requested_) return;
      stop_requested_ = true;
      stop_requested_at_ = Clock::now();
    }
    state_cv_.notify_all();
    BeginShutdown();
  }

  void Stop() {
    std::lock_guard stop_lock(stop_mutex_);  // a second caller waits for the first
    RequestStop();
    Clock::time_point deadline;
    {
      std::lock_guard lock(state_mutex_);
      if (stopped_) return;
      deadline = stop_requested_at_ + core_.options.limits.shutdown_grace;
      if (!started_) {
        stopped_ = true;
        state_cv_.notify_all();
        return;
      }
    }
    {
      std::unique_lock lock(core_.sessions_mutex);
      if (!core_.sessions_cv.wait_until(lock, deadline, [this] { return core_.sessions.empty(); }))
        spdlog::warn("{} connections still open after the shutdown grace; closing them",
                     core_.sessions.size());
    }
    ioc_.stop();
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
    if (handler_pool_) handler_pool_->join();  // waits for handlers still running
    // No thread runs the io_context now: close what is left directly. The
    // connections themselves go when ioc_ drops their pending operations.
    std::vector<std::shared_ptr<SessionBase>> remaining;
    {
      std::lock_guard lock(core_.sessions_mutex);
      for (auto& [raw, weak] : core_.sessions)
        if (auto session = weak.lock()) remaining.push_back(std::move(session));
    }
    for (auto& session : remaining) session->CloseNowUnlocked();
    remaining.clear();
    // Answers still owed are posted to ioc_, where they are never run: it must
    // outlive their delivery.
    core_.WaitForAsync();
    {
      std::lock_guard lock(state_mutex_);
      stopped_ = true;
    }
    state_cv_.notify_all();
    spdlog::info("server stopped");
  }

  Status ReloadTls(const TlsFiles* files) {
    TlsFiles chosen;
    {
      std::lock_guard lock(core_.tls_mutex);
      chosen = files ? *files : core_.tls_files;
    }
    StatusOr<SslCtxPtr> context = BuildServerTlsContext(chosen);
    if (!context.ok()) {
      core_.tls_reloads->WithLabels({"error"}).Increment();
      return context.status().WithContext("TLS reload (old certificates still in use)");
    }
    StatusOr<PeerAuthorities> peers = PeerAuthorities::Load(core_.options.peer_cas);
    if (!peers.ok()) {
      core_.tls_reloads->WithLabels({"error"}).Increment();
      return peers.status().WithContext("TLS reload (old certificates still in use)");
    }
    auto next = std::make_shared<asio::ssl::context>(context->release());
    auto next_peers = std::make_shared<const PeerAuthorities>(*std::move(peers));
    {
      std::lock_guard lock(core_.tls_mutex);
      core_.tls = std::move(next);
      core_.peer_authorities = std::move(next_peers);
      core_.tls_files = std::move(chosen);
    }
    core_.tls_reloads->WithLabels({"ok"}).Increment();
    spdlog::info("TLS certificates reloaded");
    return OkStatus();
  }

  // SIGTERM/SIGINT stop, SIGHUP reloads, for as long as the server runs.
  void HandleSignals() {
    if (signals_) return;
    signals_.emplace(asio::make_strand(ioc_), SIGTERM, SIGINT, SIGHUP);
    WaitForSignal();
  }
  // Gives the signals back (default handling). Only while no I/O thread runs.
  void ReleaseSignals() { signals_.reset(); }

  uint16_t api_port() const { return api_port_; }
  uint16_t admin_port() const { return admin_port_; }
  MetricsRegistry& metrics() { return *core_.metrics; }

 private:
  Status RegisterMetrics() {
    MetricsRegistry& registry = *core_.metrics;
    CG_ASSIGN_OR_RETURN(
        core_.requests_total,
        registry.AddCounter("requests_total", "HTTP requests answered.", {"route", "status"}));
    CG_ASSIGN_OR_RETURN(
        core_.request_duration,
        registry.AddHistogram("request_duration_seconds",
                              "Time from a request's arrival to the end of its response.",
                              {"route"}));
    CG_ASSIGN_OR_RETURN(connections_active_,
                        registry.AddGauge("connections_active", "Open connections.", {"listener"}));
    CG_ASSIGN_OR_RETURN(core_.handshake_failures,
                        registry.AddCounter("tls_handshake_failures_total",
                                            "TLS handshakes refused or failed.", {"reason"}));
    CG_ASSIGN_OR_RETURN(
        core_.rejected,
        registry.AddCounter("rejected_requests_total",
                            "Requests and connections the server refused itself.", {"reason"}));
    CG_ASSIGN_OR_RETURN(
        core_.tls_reloads,
        registry.AddCounter("tls_reloads_total", "TLS certificate reloads.", {"result"}));
    return OkStatus();
  }

  Status Bind(Listener& listener, const std::string& address, uint16_t port) {
    error_code ec;
    const asio::ip::address ip = asio::ip::make_address(address, ec);
    if (ec)
      return InvalidArgumentError("bad " + listener.state.name + " listen address \"" + address +
                                  "\"");
    const tcp::endpoint endpoint(ip, port);
    const std::string where =
        listener.state.name + " listener on " + address + ":" + std::to_string(port);
    listener.acceptor.open(endpoint.protocol(), ec);
    if (!ec) listener.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) listener.acceptor.bind(endpoint, ec);
    if (!ec) listener.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return UnavailableError("cannot open the " + where + ": " + ec.message());
    const uint16_t bound = listener.acceptor.local_endpoint(ec).port();
    if (ec) return UnavailableError("cannot read the port of the " + where + ": " + ec.message());
    (listener.state.tls ? api_port_ : admin_port_) = bound;
    return OkStatus();
  }

  void Accept(Listener& listener) {
    listener.acceptor.async_accept(asio::make_strand(ioc_),
                                   [this, &listener](const error_code& ec, tcp::socket socket) {
                                     OnAccept(listener, ec, std::move(socket));
                                   });
  }

  void OnAccept(Listener& listener, const error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !listener.acceptor.is_open()) return;
    if (ec) {
      spdlog::warn("accept on the {} listener failed: {}", listener.state.name, ec.message());
      listener.retry_timer.expires_after(kAcceptRetryDelay);
      listener.retry_timer.async_wait([this, &listener](const error_code& e) {
        if (!e && listener.acceptor.is_open()) Accept(listener);
      });
      return;
    }
    ListenerState& state = listener.state;
    try {
      if (state.connections.load() >= state.max_connections) {
        core_.Reject("too_many_connections");
        RefuseConnection(state, std::move(socket));
      } else if (state.tls) {
        std::make_shared<Session<true>>(core_, state, std::move(socket), core_.CurrentTls())
            ->Start();
      } else {
        std::make_shared<Session<false>>(core_, state, std::move(socket), nullptr)->Start();
      }
    } catch (const std::exception& e) {
      // SSL_new or an allocation failed: lose this connection, keep accepting.
      spdlog::error("cannot set up a {} connection: {}", state.name, e.what());
    }
    Accept(listener);
  }

  // Over the cap: an API connection is closed before any TLS work; an admin one
  // (plain HTTP, so an answer is cheap) is told why first.
  static void RefuseConnection(const ListenerState& listener, tcp::socket socket) {
    error_code ignored;
    if (listener.tls) {
      socket.close(ignored);
      return;
    }
    auto owned = std::make_shared<tcp::socket>(std::move(socket));
    asio::async_write(*owned, asio::buffer(TooManyConnectionsResponse()),
                      [owned](const error_code&, size_t) {
                        error_code e;
                        owned->shutdown(tcp::socket::shutdown_both, e);
                        owned->close(e);
                      });
  }

  void BeginShutdown() {
    if (core_.stopping.exchange(true)) return;
    for (Listener* listener : {api_.get(), admin_.get()}) {
      if (listener == nullptr) continue;
      asio::post(listener->acceptor.get_executor(), [listener] {
        error_code ignored;
        listener->acceptor.close(ignored);
        listener->retry_timer.cancel();
      });
    }
    if (signals_) {
      asio::post(signals_->get_executor(), [this] {
        error_code ignored;
        signals_->cancel(ignored);
      });
    }
    std::vector<std::shared_ptr<SessionBase>> open;
    {
      std::lock_guard lock(core_.sessions_mutex);
      for (auto& [raw, weak] : core_.sessions)
        if (auto session = weak.lock()) open.push_back(std::move(session));
    }
    for (auto& session : open) session->OnServerStopping();
  }

  void WaitForSignal() {
    signals_->async_wait([this](const error_code& ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        const Status status = ReloadTls(nullptr);
        if (!status.ok()) spdlog::error("SIGHUP: {}", status.ToString());
        if (core_.options.on_hangup) core_.options.on_hangup();
        WaitForSignal();
        return;
      }
      spdlog::info("signal {}: stopping gracefully", signal);
      RequestStop();
    });
  }

  void RunIo() {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        // Asio rethrows from a completion handler; a bug, but one connection's
        // bug must not stop the I/O thread.
        spdlog::error("exception on an I/O thread: {}", e.what());
      }
    }
  }

  // Declared first so that it outlives every connection, which refers to it.
  ServerCore core_;
  GaugeFamily* connections_active_ = nullptr;
  const int io_threads_;
  // Destroying it destroys the connections still waiting on it: everything they
  // refer to (core_) is declared before it, everything using it after it.
  asio::io_context ioc_;
  // Keeps ioc_.run() going while there is nothing to do; dropped only by ioc_.stop().
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(ioc_);
  std::unique_ptr<Listener> api_;
  std::unique_ptr<Listener> admin_;
  std::optional<asio::signal_set> signals_;
  uint16_t api_port_ = 0;
  uint16_t admin_port_ = 0;
  std::optional<asio::thread_pool> handler_pool_;
  std::vector<std::thread> threads_;

  std::mutex stop_mutex_;
  std::mutex state_mutex_;
  std::condition_variable state_cv_;
  bool started_ = false;
  bool stop_requested_ = false;
  bool stopped_ = false;
  Clock::time_point stop_requested_at_;
};

StatusOr<std::unique_ptr<HttpsServer>> HttpsServer::Create(ServerOptions options) {
  if (!options.handler) return InvalidArgumentError("no request handler");
  if (options.io_threads < 1 || options.handler_threads < 1)
    return InvalidArgumentError("io_threads and handler_threads must be at least 1");
  const ServerLimits& limits = options.limits;
  if (limits.max_pipelined < 1 || limits.max_connections < 1 || limits.max_admin_connections < 1 ||
      limits.max_header_bytes < 64 || limits.max_header_bytes > UINT32_MAX)
    return InvalidArgumentError("server limits out of range");
  auto impl = std::make_unique<Impl>(std::move(options));
  CG_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<HttpsServer>(new HttpsServer(std::move(impl)));
}

HttpsServer::HttpsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpsServer::~HttpsServer() = default;

Status HttpsServer::Start() { return impl_->Start(); }
Status HttpsServer::Run() { return impl_->Run(); }
void HttpsServer::Stop() { impl_->Stop(); }
void HttpsServer::RequestStop() { impl_->RequestStop(); }
Status HttpsServer::ReloadTls() { return impl_->ReloadTls(nullptr); }
Status HttpsServer::ReloadTls(const TlsFiles& files) { return impl_->ReloadTls(&files); }
uint16_t HttpsServer::api_port() const { return impl_->api_port(); }
uint16_t HttpsServer::admin_port() const { return impl_->admin_port(); }
MetricsRegistry& HttpsServer::metrics() { return impl_->metrics(); }

Status RunUntilSignalled(HttpsServer& server, const std::function<void()>& on_running) {
  server.impl_->HandleSignals();
  if (on_running) {
    // Started first, so the callback can announce a server that answers, and whose
    // signals are handled.
    if (Status started = server.Start(); !started.ok()) {
      server.impl_->ReleaseSignals();
      return started;
    }
    on_running();
  }
  Status status = server.Run();
  server.impl_->ReleaseSignals();  // no I/O thread runs once Run() has returned
  return status;
}

}  // namespace cg::gateway::server
