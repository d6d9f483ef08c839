// ServerLimits: every size, timeout, count and rate the HTTPS server enforces, with
// its default. This is the one place these numbers live; the server reads them from
// here and nowhere else (STYLE habit 5).
#pragma once

#include <chrono>
#include <cstddef>

namespace cg::gateway::server {

struct ServerLimits {
  // Request line plus header fields, in bytes. Beyond it: 431 HEADER_TOO_LARGE and
  // the connection is closed.
  size_t max_header_bytes = 8 * 1024;
  // Request body, in bytes (Content-Length or the sum of the chunks). Beyond it:
  // 413 BODY_TOO_LARGE and the connection is closed.
  size_t max_body_bytes = 1024 * 1024;

  // From the first byte of a request until its header is complete. A client that
  // has not sent a full header within it (slowloris) is cut off without a response
  // and counted in rejected_requests_total{reason="header_timeout"}.
  std::chrono::milliseconds header_read_timeout{10'000};
  // From the end of the header until the body is complete; counted as
  // reason="body_timeout".
  std::chrono::milliseconds body_read_timeout{30'000};
  // A keep-alive connection with nothing in flight is closed after this long
  // without the first byte of a new request.
  std::chrono::milliseconds idle_timeout{30'000};
  // The TLS handshake, from accept.
  std::chrono::milliseconds handshake_timeout{10'000};
  // Closing a TLS connection: how long the server waits for the client's
  // close_notify after sending its own before dropping the TCP connection.
  std::chrono::milliseconds close_timeout{1'000};
  // Writing one response; a client that does not read it is cut off
  // (reason="write_timeout").
  std::chrono::milliseconds write_timeout{30'000};

  // Open connections on the API listener. A connection accepted beyond it is
  // closed at once (no TLS handshake) and counted as
  // reason="too_many_connections".
  size_t max_connections = 1024;
  // Open connections on the admin listener, counted separately so that a flood on
  // the API listener cannot blind monitoring. Beyond it: a 503 and close.
  size_t max_admin_connections = 64;
  // Requests read ahead and queued on one connection (HTTP/1.1 pipelining) while
  // earlier ones are answered; reading pauses when the queue is full.
  size_t max_pipelined = 16;

  // Per-client token bucket: `rate_per_second` tokens added per second up to
  // `rate_burst`; one request takes one token. A client is its certificate's
  // SHA-256 fingerprint on the API listener and its IP address on the admin
  // listener. A request without a token gets 429 RATE_LIMITED with Retry-After.
  double rate_per_second = 1000;
  double rate_burst = 2000;

  // Stop(): in-flight requests get this long to finish before every connection is
  // closed regardless.
  std::chrono::milliseconds shutdown_grace{10'000};
};

}  // namespace cg::gateway::server
