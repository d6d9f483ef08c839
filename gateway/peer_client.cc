// The one place node-to-node calls touch Beast, Asio and OpenSSL: every library
// error is translated into the Status codes of peer_client.h in Classify*() below.
#include "gateway/peer_client.h"

// GCC 12 reports a false -Wmaybe-uninitialized inside Beast's response parser
// (boost::optional in basic_parser::content_length) at some optimisation levels.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "gateway/server/tls_context.h"

namespace cg::gateway {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kMaxChainDepth = 4;
constexpr int kMaxAttempts = 10;
constexpr std::string_view kUserAgent = "credit-gateway-peer";

// Beast 1.74 speaks boost::string_view.
beast::string_view ToBeast(std::string_view text) { return {text.data(), text.size()}; }
std::string_view ToStd(beast::string_view text) { return {text.data(), text.size()}; }

Status CheckFile(const std::string& file, std::string_view what) {
  std::error_code ec;
  if (file.empty()) return InvalidArgumentError(fmt::format("peer {} file not configured", what));
  if (!std::filesystem::exists(file, ec))
    return NotFoundError(fmt::format("peer {} file {} does not exist", what, file));
  return OkStatus();
}

struct ParsedUrl {
  std::string host;  // without brackets
  std::string port;  // digits
  uint16_t port_number = 0;
  std::string authority;  // as written, for the Host field
};

StatusOr<ParsedUrl> ParseBaseUrl(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  const auto bad = [&](std::string_view why) {
    return InvalidArgumentError(fmt::format("peer base_url \"{}\": {}", url, why));
  };
  if (!url.starts_with(kScheme)) return bad("must start with https://");
  std::string_view rest = url.substr(kScheme.size());
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find_first_of("/?#@ \t\r\n") != std::string_view::npos)
    return bad("only https://host:port is allowed (no path, query or user)");
  ParsedUrl parsed;
  parsed.authority = std::string(rest);
  std::string_view port;
  if (rest.starts_with('[')) {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    parsed.host = std::string(rest.substr(1, close - 1));
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("junk after the IPv6 address");
      port = after.substr(1);
    }
  } else {
    const size_t colon = rest.find(':');
    parsed.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (parsed.host.empty()) return bad("no host");
  if (port.empty()) {
    parsed.port = "443";
    parsed.port_number = 443;
  } else {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return bad("bad port");
    const int number = std::stoi(std::string(port));
    if (number < 1 || number > 65535) return bad("bad port");
    parsed.port = std::string(port);
    parsed.port_number = static_cast<uint16_t>(number);
  }
  return parsed;
}

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A header field value: visible characters, spaces and tabs, no CR, LF, NUL or
// other control characters.
bool IsFieldValue(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7f);
  });
}

Status CheckRequest(std::string_view method, std::string_view path, std::string_view content_type,
                    std::string_view request_id) {
  if (method.empty() || !std::all_of(method.begin(), method.end(), IsTokenChar))
    return InvalidArgumentError("peer call: the method is not an HTTP token");
  if (!path.starts_with('/') || !std::all_of(path.begin(), path.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u != 0x7f;
      }))
    return InvalidArgumentError(
        "peer call: the path must start with '/' and hold no spaces or "
        "control characters");
  if (!IsFieldValue(content_type))
    return InvalidArgumentError("peer call: the content type holds control characters");
  if (!IsFieldValue(request_id))
    return InvalidArgumentError("peer call: the request id holds control characters");
  return OkStatus();
}

// The whole seconds of a Retry-After given as delta-seconds; nullopt for an
// HTTP-date or anything else.
std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty() || value.size() > 9) return std::nullopt;
  int64_t seconds = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    seconds = seconds * 10 + (c - '0');
  }
  return std::chrono::seconds(seconds);
}

// The wait before retry `retry` (1-based): uniform in [d/2, d], d the capped
// exponential backoff.
milliseconds Backoff(const PeerClientOptions& options, int retry) {
  int64_t d = options.backoff_initial.count();
  for (int i = 1; i < retry && d < options.backoff_max.count(); ++i) d *= 2;
  d = std::min<int64_t>(d, options.backoff_max.count());
  if (d <= 0) return milliseconds(0);
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_int_distribution<int64_t> jitter(d / 2, d);
  return milliseconds(jitter(random));
}

// The reason code of an OpenSSL error carried by an Asio error_code; 0 for any
// other error.
int SslReason(const error_code& ec) {
  if (ec.category() != asio::error::get_ssl_category()) return 0;
  return ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
}

// A TLS alert from the peer saying it does not accept this node's certificate.
bool IsClientCertificateRejected(const error_code& ec) {
  switch (SslReason(ec)) {
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
      return true;
    default:
      return false;
  }
}

bool IsHttpError(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::end_of_stream).category();
}

// The outcome of one attempt: a response, or an error and whether a new attempt may
// help. `stale` marks a failure of a reused connection before the peer can have
// seen the request.
struct AttemptResult {
  std::optional<PeerResponse> response;
  Status error;
  bool retryable = false;
  bool stale = false;
  std::optional<std::chrono::seconds> retry_after;

  static AttemptResult Fail(Status status, bool retryable) {
    AttemptResult result;
    result.error = std::move(status);
    result.retryable = retryable;
    return result;
  }
};

Status Unavailable(std::string_view why) {
  return UnavailableError(fmt::format("peer unavailable: {}", why));
}
Status TimedOut(std::string_view why) {
  return Status(StatusCode::kDeadlineExceeded, fmt::format("peer timed out: {}", why));
}
Status BadPeer(std::string_view why) { return DataLossError(fmt::format("bad peer: {}", why)); }
Status CertificateRejected(const error_code& ec) {
  return UnauthenticatedError(
      fmt::format("peer refused this node's client certificate: {}", ec.message()));
}

// "message (context)": the message keeps its stable prefix ("peer unavailable: ").
Status Annotate(const Status& status, std::string_view context) {
  return Status(status.code(), fmt::format("{} ({})", status.message(), context));
}

// One TLS connection to the peer with its own I/O context, used by one thread at a
// time: operations are started and then run to completion on the caller's thread.
struct Connection {
  asio::io_context io{1};
  beast::ssl_stream<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  bool reused = false;
  Clock::time_point idle_since;

  explicit Connection(asio::ssl::context& tls) : stream(io, tls) {}
  ~Connection() {
    error_code ignored;
    beast::get_lowest_layer(stream).socket().close(ignored);
  }

  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream); }

  template <typename Start>
  error_code Run(Start&& start) {
    std::optional<error_code> result;
    start([&result](const error_code& ec, auto&&...) { result = ec; });
    io.restart();
    io.run();
    return result.value_or(asio::error::operation_aborted);
  }
};

}  // namespace

class PeerClient::Impl {
 public:
  Impl(PeerEndpoint endpoint, PeerClientOptions options, ParsedUrl url)
      : endpoint_(std::move(endpoint)),
        options_(options),
        url_(std::move(url)),
        tls_(asio::ssl::context::tls_client) {}

  Status Init() {
    ERR_clear_error();
    SSL_CTX* ctx = tls_.native_handle();
    CG_RETURN_IF_ERROR(server::ApplyTlsPolicy(ctx));
    // Only the configured CAs: the system trust store is never consulted.
    if (SSL_CTX_load_verify_locations(ctx, endpoint_.ca_file.c_str(), nullptr) != 1)
      return server::OpenSslError("cannot load the peer CA", endpoint_.ca_file);
    if (SSL_CTX_use_certificate_chain_file(ctx, endpoint_.client_certificate_file.c_str()) != 1)
      return server::OpenSslError("cannot load the peer client certificate",
                                  endpoint_.client_certificate_file);
    if (SSL_CTX_use_PrivateKey_file(ctx, endpoint_.client_key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      return server::OpenSslError("cannot load the peer client key", endpoint_.client_key_file);
    if (SSL_CTX_check_private_key(ctx) != 1)
      return server::OpenSslError("the peer client key does not match its certificate",
                                  endpoint_.client_key_file);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_verify_depth(ctx, kMaxChainDepth);
    server_name_ =
        endpoint_.expected_server_name.empty() ? url_.host : endpoint_.expected_server_name;
    error_code ec;
    const asio::ip::address address = asio::ip::make_address(url_.host, ec);
    if (!ec) host_address_ = address;
    asio::ip::make_address(server_name_, ec);
    server_name_is_ip_ = !ec;
    ERR_clear_error();
    return OkStatus();
  }

  ~Impl() {
    const std::lock_guard lock(mutex_);
    idle_.clear();
  }

  StatusOr<PeerResponse> Call(std::string_view method, std::string_view path, std::string_view body,
                              std::string_view content_type, std::string_view request_id) {
    CG_RETURN_IF_ERROR(CheckRequest(method, path, content_type, request_id));
    http::request<http::string_body> request;
    request.version(11);
    request.method_string(ToBeast(method));
    request.target(ToBeast(path));
    request.set(http::field::host, ToBeast(url_.authority));
    request.set(http::field::user_agent, ToBeast(kUserAgent));
    if (!request_id.empty()) request.set("X-Request-Id", ToBeast(request_id));
    if (!content_type.empty()) {
      request.set(http::field::accept, ToBeast(content_type));
      if (!body.empty()) request.set(http::field::content_type, ToBeast(content_type));
    }
    request.body() = std::string(body);
    request.keep_alive(true);
    request.prepare_payload();
    const bool head = method == "HEAD";

    // For messages and logs: the query may carry more than an operator needs to see.
    const std::string what =
        fmt::format("{} {}{}", method, url_.authority, path.substr(0, path.find('?')));
    for (int attempt = 1;; ++attempt) {
      AttemptResult result = Attempt(request, head);
      const bool last = attempt >= options_.attempts;
      milliseconds wait = last ? milliseconds(0) : Backoff(options_, attempt);
      if (result.response) {
        if (result.response->status != 503) return std::move(*result.response);
        if (last)
          return Unavailable(fmt::format("answered 503 on all {} attempts ({}, last request id {})",
                                         attempt, what, result.response->request_id));
        if (result.retry_after)
          wait =
              std::max(wait, std::min<milliseconds>(*result.retry_after, options_.retry_after_cap));
        spdlog::info("peer call {} (attempt {} of {}) answered 503; retrying in {} ms", what,
                     attempt, options_.attempts, wait.count());
      } else {
        if (!result.retryable) return Annotate(result.error, what);
        if (last) return Annotate(result.error, fmt::format("{}, {} attempts", what, attempt));
        spdlog::info("peer call {} (attempt {} of {}) failed: {}; retrying in {} ms", what, attempt,
                     options_.attempts, result.error.message(), wait.count());
      }
      std::this_thread::sleep_for(wait);
    }
  }

  const std::string& base_url() const { return endpoint_.base_url; }

 private:
  // One attempt: on a pooled connection when there is one (then once more on a new
  // connection if the pooled one turns out to have been closed by the peer), else
  // on a new one.
  AttemptResult Attempt(const http::request<http::string_body>& request, bool head) {
    std::unique_ptr<Connection> connection = TakeIdle();
    for (;;) {
      if (!connection) {
        connection = std::make_unique<Connection>(tls_);
        AttemptResult failed;
        if (!Connect(*connection, failed)) return failed;
      }
      bool keep = false;
      AttemptResult result = Exchange(*connection, request, head, keep);
      if (result.stale) {
        spdlog::debug("pooled connection to peer {} was closed; reconnecting", url_.authority);
        connection.reset();
        continue;
      }
      if (keep) ReturnIdle(std::move(connection));
      return result;
    }
  }

  // Resolves, connects and shakes hands within connect_timeout. False with `failed`
  // set when that fails.
  bool Connect(Connection& connection, AttemptResult& failed) {
    const Clock::time_point deadline = Clock::now() + options_.connect_timeout;
    std::vector<tcp::endpoint> endpoints;
    if (host_address_) {
      endpoints.emplace_back(*host_address_, url_.port_number);
    } else {
      // Bounded by the system resolver's own timeouts, which Asio cannot cancel.
      tcp::resolver resolver(connection.io);
      tcp::resolver::results_type results;
      const error_code ec = connection.Run([&](auto handler) {
        resolver.async_resolve(
            url_.host, url_.port,
            [&results, handler](const error_code& e, tcp::resolver::results_type r) mutable {
              results = std::move(r);
              handler(e);
            });
      });
      if (ec) {
        failed = AttemptResult::Fail(
            Unavailable(fmt::format("cannot resolve {}: {}", url_.host, ec.message())), true);
        return false;
      }
      for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    }
    if (Clock::now() >= deadline) {
      failed =
          AttemptResult::Fail(Unavailable("name resolution took the whole connect_timeout"), true);
      return false;
    }

    connection.Tcp().expires_at(deadline);
    error_code ec = connection.Run(
        [&](auto handler) { connection.Tcp().async_connect(endpoints, std::move(handler)); });
    if (ec) {
      failed =
          AttemptResult::Fail(Unavailable(ec == beast::error::timeout
                                              ? fmt::format("connect timed out after {} ms",
                                                            options_.connect_timeout.count())
                                              : fmt::format("connect failed: {}", ec.message())),
                              true);
      return false;
    }

    SSL* ssl = connection.stream.native_handle();
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int name_set = server_name_is_ip_
                             ? X509_VERIFY_PARAM_set1_ip_asc(param, server_name_.c_str())
                             : X509_VERIFY_PARAM_set1_host(param, server_name_.c_str(), 0);
    if (name_set != 1 ||
        (!server_name_is_ip_ && SSL_set_tlsext_host_name(ssl, server_name_.c_str()) != 1)) {
      ERR_clear_error();
      failed = AttemptResult::Fail(
          InvalidArgumentError(fmt::format("cannot use \"{}\" as the peer's name", server_name_)),
          false);
      return false;
    }

    connection.Tcp().expires_at(deadline);
    ec = connection.Run([&](auto handler) {
      connection.stream.async_handshake(asio::ssl::stream_base::client, std::move(handler));
    });
    if (ec) {
      failed = ClassifyHandshakeError(ssl, ec);
      return false;
    }
    return true;
  }

  AttemptResult ClassifyHandshakeError(SSL* ssl, const error_code& ec) const {
    const long verify = SSL_get_verify_result(ssl);
    ERR_clear_error();
    if (verify != X509_V_OK)
      return AttemptResult::Fail(
          BadPeer(fmt::format("server certificate verification failed for \"{}\": {}", server_name_,
                              X509_verify_cert_error_string(verify))),
          false);
    if (SslReason(ec) == SSL_R_CERTIFICATE_VERIFY_FAILED)
      return AttemptResult::Fail(BadPeer("server certificate verification failed"), false);
    if (IsClientCertificateRejected(ec)) return AttemptResult::Fail(CertificateRejected(ec), false);
    if (ec == beast::error::timeout)
      return AttemptResult::Fail(Unavailable(fmt::format("TLS handshake timed out after {} ms",
                                                         options_.connect_timeout.count())),
                                 true);
    return AttemptResult::Fail(Unavailable(fmt::format("TLS handshake failed: {}", ec.message())),
                               true);
  }

  // Writes the request and reads the response within request_timeout. `keep` says
  // whether the connection may serve another request.
  AttemptResult Exchange(Connection& connection, const http::request<http::string_body>& request,
                         bool head, bool& keep) {
    keep = false;
    const Clock::time_point deadline = Clock::now() + options_.request_timeout;
    connection.Tcp().expires_at(deadline);
    error_code ec = connection.Run(
        [&](auto handler) { http::async_write(connection.stream, request, std::move(handler)); });
    ERR_clear_error();
    if (ec) {
      if (IsClientCertificateRejected(ec))
        return AttemptResult::Fail(CertificateRejected(ec), false);
      if (ec == beast::error::timeout)
        return AttemptResult::Fail(TimedOut(fmt::format("could not send the request within {} ms",
                                                        options_.request_timeout.count())),
                                   true);
      AttemptResult result = AttemptResult::Fail(
          Unavailable(fmt::format("sending the request failed: {}", ec.message())), true);
      result.stale = connection.reused;
      return result;
    }

    http::response_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<size_t>(options_.max_response_header_bytes, UINT32_MAX)));
    parser.body_limit(options_.max_response_bytes);
    parser.skip(head);
    // The header first, then the body: Beast 1.74's eager parse forgets a
    // Content-Length over the body limit when the header and body arrive together,
    // so the length is checked here too.
    connection.Tcp().expires_at(deadline);
    ec = connection.Run([&](auto handler) {
      http::async_read_header(connection.stream, connection.buffer, parser, std::move(handler));
    });
    const unsigned status = ec ? 0 : parser.get().result_int();
    if (!ec && !head && status != 204 && status != 304 && parser.content_length() &&
        *parser.content_length() > options_.max_response_bytes)
      ec = http::error::body_limit;
    if (!ec && !parser.is_done()) {
      connection.Tcp().expires_at(deadline);
      ec = connection.Run([&](auto handler) {
        http::async_read(connection.stream, connection.buffer, parser, std::move(handler));
      });
    }
    ERR_clear_error();
    if (ec) {
      const bool got_some = parser.got_some() || connection.buffer.size() > 0;
      return ClassifyReadError(ec, got_some, connection.reused);
    }

    auto& message = parser.get();
    PeerResponse response;
    response.status = static_cast<int>(message.result_int());
    if (response.status < 200 || response.status > 599)
      return AttemptResult::Fail(BadPeer(fmt::format("unexpected HTTP status {}", response.status)),
                                 false);
    response.content_type = std::string(ToStd(message[http::field::content_type]));
    response.request_id = std::string(ToStd(message["X-Request-Id"]));
    response.body = std::move(message.body());
    AttemptResult result;
    if (response.status == 503)
      result.retry_after = ParseRetryAfter(ToStd(message[http::field::retry_after]));
    // Bytes beyond the response were not asked for: the connection is not reused.
    keep =
        message.keep_alive() && connection.buffer.size() == 0 && options_.max_idle_connections > 0;
    result.response = std::move(response);
    return result;
  }

  AttemptResult ClassifyReadError(const error_code& ec, bool got_some, bool reused) const {
    if (IsClientCertificateRejected(ec)) return AttemptResult::Fail(CertificateRejected(ec), false);
    if (ec == beast::error::timeout) {
      if (got_some)
        return AttemptResult::Fail(
            TimedOut(fmt::format("the response did not complete within {} ms",
                                 options_.request_timeout.count())),
            false);
      return AttemptResult::Fail(
          TimedOut(fmt::format("no response within {} ms", options_.request_timeout.count())),
          true);
    }
    if (ec == http::error::body_limit)
      return AttemptResult::Fail(
          BadPeer(fmt::format("response body over {} bytes", options_.max_response_bytes)), false);
    if (ec == http::error::header_limit)
      return AttemptResult::Fail(
          BadPeer(fmt::format("response header over {} bytes", options_.max_response_header_bytes)),
          false);
    if (!got_some) {
      // The peer closed the connection (or reset it) without answering: on a pooled
      // connection, most likely its idle timeout; on a new one, it is unwell.
      AttemptResult result = AttemptResult::Fail(
          Unavailable(fmt::format("connection closed before a response: {}", ec.message())), true);
      result.stale = reused;
      return result;
    }
    if (IsHttpError(ec) && ec != http::error::partial_message && ec != http::error::end_of_stream)
      return AttemptResult::Fail(
          BadPeer(fmt::format("unparseable HTTP response: {}", ec.message())), false);
    return AttemptResult::Fail(BadPeer(fmt::format("response cut off: {}", ec.message())), false);
  }

  std::unique_ptr<Connection> TakeIdle() {
    const Clock::time_point now = Clock::now();
    std::vector<std::unique_ptr<Connection>> expired;  // closed outside the lock
    std::unique_ptr<Connection> connection;
    {
      const std::lock_guard lock(mutex_);
      while (!idle_.empty()) {
        std::unique_ptr<Connection> candidate = std::move(idle_.back());
        idle_.pop_back();
        if (now - candidate->idle_since < options_.idle_connection_ttl) {
          connection = std::move(candidate);
          break;
        }
        expired.push_back(std::move(candidate));
      }
    }
    if (connection) connection->reused = true;
    return connection;
  }

  void ReturnIdle(std::unique_ptr<Connection> connection) {
    connection->idle_since = Clock::now();
    const std::lock_guard lock(mutex_);
    if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(connection));
  }

  const PeerEndpoint endpoint_;
  const PeerClientOptions options_;
  const ParsedUrl url_;
  asio::ssl::context tls_;  // shared by every connection; OpenSSL allows that
  std::string server_name_;
  bool server_name_is_ip_ = false;
  std::optional<asio::ip::address> host_address_;

  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;  // most recently used last
};

StatusOr<std::unique_ptr<PeerClient>> PeerClient::Create(PeerEndpoint endpoint,
                                                         PeerClientOptions options) {
  CG_ASSIGN_OR_RETURN(ParsedUrl url, ParseBaseUrl(endpoint.base_url));
  if (options.connect_timeout.count() <= 0 || options.request_timeout.count() <= 0)
    return InvalidArgumentError("peer client: timeouts must be positive");
  if (options.attempts < 1 || options.attempts > kMaxAttempts)
    return InvalidArgumentError(
        fmt::format("peer client: attempts must be in 1..{}", kMaxAttempts));
  if (options.backoff_initial.count() < 0 || options.backoff_max.count() < 0 ||
      options.retry_after_cap.count() < 0)
    return InvalidArgumentError("peer client: backoffs must not be negative");
  if (options.max_response_bytes == 0 || options.max_response_header_bytes == 0)
    return InvalidArgumentError("peer client: response limits must be positive");
  CG_RETURN_IF_ERROR(CheckFile(endpoint.ca_file, "CA"));
  CG_RETURN_IF_ERROR(CheckFile(endpoint.client_certificate_file, "client certificate"));
  CG_RETURN_IF_ERROR(CheckFile(endpoint.client_key_file, "client key"));

  std::unique_ptr<Impl> impl;
  try {
    impl = std::make_unique<Impl>(std::move(endpoint), options, std::move(url));
  } catch (const boost::system::system_error& e) {
    return InternalError(fmt::format("cannot create a TLS context: {}", e.what()));
  }
  CG_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<PeerClient>(new PeerClient(std::move(impl)));
}

PeerClient::PeerClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PeerClient::~PeerClient() = default;

StatusOr<PeerResponse> PeerClient::Call(std::string_view method, std::string_view path,
                                        std::string_view body, std::string_view content_type,
                                        std::string_view request_id) {
  try {
    return impl_->Call(method, path, body, content_type, request_id);
  } catch (const std::exception& e) {
    // Allocation failure or a library bug; nothing the peer sends is handled by
    // throwing.
    return InternalError(fmt::format("peer call failed: {}", e.what()));
  }
}

const std::string& PeerClient::base_url() const { return impl_->base_url(); }

}  // namespace cg::gateway
