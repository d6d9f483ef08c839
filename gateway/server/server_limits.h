// ServerLimits: every size, timeout, count and rate the HTTPS server enforces, with
// its default. The defaults of those a node's configuration can set ([limits]) come
// from their one home, the ranges in config/node_config.h; the others live here.
#pragma once

#include <chrono>
#include <cstddef>

#include "config/node_config.h"

namespace cg::gateway::server {

// A configurable limit's default, from the node configuration's table of limits.
constexpr size_t DefaultOf(config::IntRange range) {
  return static_cast<size_t>(range.default_value);
}

struct ServerLimits {
  // Request line plus header fields, in bytes. Beyond it: 431 HEADER_TOO_LARGE and
  // the connection is closed.
  size_t max_header_bytes = DefaultOf(config::kMaxHeaderBytesRange);
  // Request body, in bytes (Content-Length or the sum of the chunks). Beyond it:
  // 413 BODY_TOO_LARGE and the connection is closed.
  size_t max_body_bytes = DefaultOf(config::kMaxBodyBytesRange);

  // From the first byte of a request until its header is complete. A client that
  // has not sent a full header within it (slowloris) is cut off without a response
  // and counted in rejected_requests_total{reason="header_timeout"}.
  std::chrono::milliseconds header_read_timeout{config::kHeaderReadTimeoutMsRange.default_value};
  // From the end of the header until the body is complete; counted as
  // reason="body_timeout".
  std::chrono::milliseconds body_read_timeout{config::kBodyReadTimeoutMsRange.default_value};
  // A keep-alive connection with nothing in flight is closed after this long
  // without the first byte of a new request.
  std::chrono::milliseconds idle_timeout{config::kIdleTimeoutMsRange.default_value};
  // The TLS handshake, from accept.
  std::chrono::milliseconds handshake_timeout{config::kHandshakeTimeoutMsRange.default_value};
  // Closing a TLS connection: how long the server waits for the client's
  // close_notify after sending its own before dropping the TCP connection.
  std::chrono::milliseconds close_timeout{1'000};
  // Writing one response; a client that does not read it is cut off
  // (reason="write_timeout").
  std::chrono::milliseconds write_timeout{30'000};

  // Open connections on the API listener. A connection accepted beyond it is
  // closed at once (no TLS handshake) and counted as
  // reason="too_many_connections".
  size_t max_connections = DefaultOf(config::kMaxConnectionsRange);
  // Open connections on the admin listener, counted separately so that a flood on
  // the API listener cannot blind monitoring. Beyond it: a 503 and close.
  size_t max_admin_connections = 64;
  // Requests read ahead and queued on one connection (HTTP/1.1 pipelining) while
  // earlier ones are answered; reading pauses when the queue is full.
  size_t max_pipelined = DefaultOf(config::kMaxPipelinedRange);

  // Per-client token bucket: `rate_per_second` tokens added per second up to
  // `rate_burst`; one request takes one token. A client is its certificate's
  // SHA-256 fingerprint on the API listener and its IP address on the admin
  // listener. A request without a token gets 429 RATE_LIMITED with Retry-After.
  double rate_per_second = static_cast<double>(config::kClientRatePerSecondRange.default_value);
  double rate_burst = static_cast<double>(config::kClientBurstRange.default_value);

  // Stop(): in-flight requests get this long to finish before every connection is
  // closed regardless.
  std::chrono::milliseconds shutdown_grace{config::kShutdownGraceMsRange.default_value};
};

}  // namespace cg::gateway::server
