// The client side of node-to-node calls (DESIGN §2, §7): this node calls the other
// node's HTTPS API as a `peer` (POST /v1/attestations, GET /v1/keys,
// GET /v1/status-list, ...) over mutual TLS, with timeouts, bounded retries and a
// small pool of keep-alive connections. Beast and Asio stay inside peer_client.cc.
//
// TLS: 1.3, or 1.2 with ECDHE and AEAD ciphers only (the server's policy,
// gateway/server/tls_context.h). The server certificate must chain to a CA in
// PeerEndpoint::ca_file (the system trust store is not used) and match
// expected_server_name (DNS name or IP address literal); this node presents its
// client certificate (OU mapped to `peer` on the other node).
//
// What Call() returns:
//   PeerResponse          any well-formed HTTP response, 2xx to 5xx, so the caller can
//                         read the peer's error body. The one exception is 503: it is
//                         retried, and a 503 on the last attempt becomes kUnavailable.
//   kUnavailable          "peer unavailable: <why>": the peer could not be reached
//                         (name resolution, TCP connect, a TLS handshake failure other
//                         than certificate verification, the connection closed before
//                         any response byte) or kept answering 503, after all
//                         attempts. The gateway answers its caller 503
//                         PEER_UNAVAILABLE.
//   kDeadlineExceeded     "peer timed out: <why>": no complete response within
//                         request_timeout (on every attempt, when it came before any
//                         response byte; at once when part of a response had
//                         arrived). The gateway answers 504 (or folds it into
//                         503 PEER_UNAVAILABLE).
//   kDataLoss             "bad peer: <why>": the peer answered something this node
//                         must not trust or cannot read: its certificate failed
//                         verification (unknown CA, wrong name, expired, ...),
//                         unparseable HTTP (a 1xx status included: this client
//                         never asks for one), a response header or body over the
//                         limits, a response cut off in the middle. Never retried.
//                         The gateway answers 502 BAD_PEER.
//   kUnauthenticated      "peer refused this node's client certificate: <alert>": the
//                         peer's TLS stack rejected our certificate (an operator must
//                         fix the PKI). Never retried. The gateway answers 502
//                         BAD_PEER too, and logs it as this node's misconfiguration.
//   kInvalidArgument      the arguments cannot make a valid request (a method that is
//                         not a token, a path not starting with '/', CR/LF/NUL in a
//                         header value). Nothing is sent.
//   kInternal             an unexpected exception (out of memory); never from input.
//
// Retries: an attempt is retried (up to PeerClientOptions::attempts in all, after a
// backoff) only when retrying is safe and useful: failures to connect, TLS handshake
// failures that are not certificate verification failures, timeouts and closed
// connections before any response byte, and 503 responses. A 4xx (429 included) is
// never retried, nor is anything after the first response byte. Because a request
// that timed out may have been carried out by the peer, a retried POST may arrive
// twice: callers must make their POSTs idempotent (the attestation nonce, the
// request id) before relying on retries, or set attempts = 1.
// Separately, a request on a pooled keep-alive connection that the peer had already
// closed (write error or end of stream before any response byte) is resent once on a
// new connection without counting as an attempt: the usual cause is the peer's idle
// timeout, when the peer never saw the request.
//
// Error messages keep the prefixes above (stable for matching) and end with
// " (METHOD host:port/path[, N attempts])"; they never hold response bodies or the
// query string. Each retry is logged (spdlog, info).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "specs/status.h"

namespace cg::gateway {

// Where the other node is and how to authenticate each other.
struct PeerEndpoint {
  // "https://host:port" (port 443 when absent; an IPv6 host in brackets); an
  // optional trailing "/" and nothing else: request paths are absolute.
  std::string base_url;
  // PEM bundle of the CAs the peer's server certificate must chain to.
  std::string ca_file;
  // PEM: this node's client certificate (then any intermediates), OU = peer.
  std::string client_certificate_file;
  // PEM: its unencrypted private key.
  std::string client_key_file;
  // The name the server certificate must carry (a SAN DNS name, or a SAN IP for an
  // address literal); empty: the host of base_url. Also sent as SNI when a DNS name.
  std::string expected_server_name;
};

// Every limit of the peer client, with its default. Worst-case time of one Call(),
// name resolution aside: attempts * (connect_timeout + request_timeout) + the
// backoffs between attempts, plus one more connect_timeout + request_timeout when a
// pooled connection turns out to have been closed by the peer.
struct PeerClientOptions {
  // Name resolution, TCP connect and the TLS handshake, per attempt.
  std::chrono::milliseconds connect_timeout{2'000};
  // Writing the request and reading the whole response, per attempt.
  std::chrono::milliseconds request_timeout{5'000};
  // Tries in all, first included; 1 disables retries. 1..10.
  int attempts = 3;
  // The wait before retry n (n = 1, 2, ...) is drawn uniformly from
  // [d/2, d] with d = min(backoff_initial * 2^(n-1), backoff_max) (jitter, so that
  // clients do not retry in step).
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{2'000};
  // A 503's Retry-After (delta-seconds; an HTTP-date is ignored) lengthens that wait
  // up to this cap.
  std::chrono::milliseconds retry_after_cap{2'000};
  // Response body, in bytes; beyond it the response is a bad-peer error.
  size_t max_response_bytes = 4 * 1024 * 1024;
  // Status line plus header fields, in bytes; beyond it, a bad-peer error.
  size_t max_response_header_bytes = 64 * 1024;
  // Keep-alive connections kept open between calls; 0 closes each after its call.
  size_t max_idle_connections = 4;
  // An idle connection older than this is closed rather than reused; keep it below
  // the peer's idle timeout (the server's default is 30 s).
  std::chrono::milliseconds idle_connection_ttl{20'000};
};

struct PeerResponse {
  int status = 0;            // 200..599
  std::string content_type;  // the Content-Type field; empty when absent
  std::string body;          // at most max_response_bytes
  std::string request_id;    // the peer's own X-Request-Id for the request; empty when absent
};

// A client of one peer node. Thread-safe: concurrent Calls each use their own
// connection, taken from the idle pool or opened for the call, and returned to the
// pool after a complete keep-alive response.
class PeerClient {
 public:
  // Checks the endpoint and options and builds the TLS context (loads the CA file
  // and this node's certificate and key); connects to nothing yet.
  // kInvalidArgument for a bad URL, options out of range, files that are not valid
  // PEM or a key that does not match the certificate; kNotFound when a file does not
  // exist.
  static StatusOr<std::unique_ptr<PeerClient>> Create(PeerEndpoint endpoint,
                                                      PeerClientOptions options = {});

  // Closes the idle connections. No Call may be running.
  ~PeerClient();
  PeerClient(const PeerClient&) = delete;
  PeerClient& operator=(const PeerClient&) = delete;

  // Sends `method path` (path absolute, with any query) to the peer with `body`, and
  // returns its response or an error as listed at the top of this file. Blocks for at
  // most the worst-case time of PeerClientOptions.
  // `content_type` is sent as Content-Type when `body` is not empty, and as Accept
  // (the encoding asked for back) when not empty. `request_id` (this node's id for
  // the request it is serving, so that both nodes' audit logs can be matched) is
  // sent as X-Request-Id when not empty.
  StatusOr<PeerResponse> Call(std::string_view method, std::string_view path, std::string_view body,
                              std::string_view content_type, std::string_view request_id);

  // "https://host:port" as configured; for logs.
  const std::string& base_url() const;

  class Impl;

 private:
  explicit PeerClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cg::gateway
