// The gateway node's HTTP/1.1 server (DESIGN §7): one object, two listeners.
//  - The API listener: TLS with a required, verified client certificate
//    (tls_context.h). Each request carries the client's identity and role
//    (client_identity.h) to `handler`; a client without a role gets 403 NO_ROLE.
//  - The admin listener: plain HTTP, loopback by default, answering /healthz,
//    /readyz and /metrics (Prometheus text) itself and anything else through
//    `admin_handler`.
// Both enforce ServerLimits (server_limits.h). Errors the server makes itself carry
// the JSON body of ErrorBody (http_types.h) and the status:
//   400 MALFORMED_REQUEST     unparseable HTTP (the connection is closed)
//   403 NO_ROLE               API client whose certificate maps to no role
//   404 NOT_FOUND             admin path nobody answers
//   413 BODY_TOO_LARGE        body over max_body_bytes (the connection is closed)
//   431 HEADER_TOO_LARGE      header over max_header_bytes (the connection is closed)
//   429 RATE_LIMITED          client over its rate; Retry-After says when to retry
//   500 INTERNAL              the handler threw or returned an invalid status
//   503 SHUTTING_DOWN         a request not yet started when Stop() began
//   503 TOO_MANY_CONNECTIONS  admin connection over its cap (API ones are just closed)
// Every response carries X-Request-Id. The server keeps serving other connections
// after each of these. Requests on one connection are answered in order, one
// handler call at a time; a connection reads ahead up to max_pipelined requests.
// The role and the rate limit are checked once a request has been read in full
// (within the size limits), so a refused request leaves the connection usable.
// "Expect: 100-continue" is answered before the body is read when nothing else is
// pending on the connection. HEAD responses carry the Content-Length the handler's
// body would have, without the body; 204 and 304 never carry one.
//
// Threads: `io_threads` run all network I/O; handlers run on `handler_threads`
// other threads, unless `answering` says otherwise. Everything here is thread-safe
// unless said otherwise.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "gateway/server/client_identity.h"
#include "gateway/server/http_types.h"
#include "gateway/server/metrics.h"
#include "gateway/server/server_limits.h"
#include "gateway/server/tls_context.h"
#include "specs/status.h"

namespace cg::gateway::server {

struct ServerOptions {
  // Where each listener binds: an IP address literal; port 0 picks a free port
  // (read it back with api_port() / admin_port()).
  std::string api_address = "0.0.0.0";
  uint16_t api_port = 8443;
  std::string admin_address = "127.0.0.1";
  uint16_t admin_port = 9090;

  int io_threads = 2;       // >= 1
  int handler_threads = 4;  // >= 1

  ServerLimits limits;
  TlsFiles tls;
  // OU value -> role, for API clients.
  RoleMapping roles;
  // The peer nodes' CAs (also to be listed in tls.client_ca_files): their client
  // certificates are peers only (PeerAuthorities).
  std::vector<PeerAuthorities::Ca> peer_cas;

  // Answers every API request that passed the server's own checks. Required.
  RequestHandler handler;
  // How each API request is answered (Answering), by the request and its route
  // label (as route_namer gave it). Called on I/O threads; must be cheap. Empty:
  // every request goes to a handler thread.
  std::function<Answering(const HttpRequest&, std::string_view route)> answering;
  // Answers the requests `answering` sends to kAsync (a 500 INTERNAL without it).
  AsyncRequestHandler async_handler;
  // Answers admin requests other than /healthz, /readyz and /metrics; when empty
  // they get 404 NOT_FOUND.
  RequestHandler admin_handler;
  // /readyz answers 200 while this returns true (empty: always) and the server is
  // not stopping, 503 otherwise. Called on I/O threads; must be cheap.
  std::function<bool()> readiness;
  // Called on SIGHUP (under RunUntilSignalled) after the TLS files are reloaded,
  // on the signal's strand: reload whatever else the node keeps in files.
  std::function<void()> on_hangup;
  // Route label of the API request metrics; empty: every API route is "other".
  RouteNamer route_namer;
  // Where the server's metrics go, shared with the handlers' own; a new registry
  // when null.
  std::shared_ptr<MetricsRegistry> metrics;
};

class HttpsServer {
 public:
  // Checks `options`, builds the TLS context and binds both listeners (so the
  // ports are known), but serves nothing until Start(). kInvalidArgument for bad
  // options (no handler, thread counts < 1, a bad address), errors of
  // BuildServerTlsContext for the TLS files, kUnavailable when a listener cannot
  // bind.
  static StatusOr<std::unique_ptr<HttpsServer>> Create(ServerOptions options);

  // Stops the server (as Stop()) if it is running.
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  // Starts the I/O and handler threads and begins accepting; returns at once. A
  // server starts once: kFailedPrecondition when already started or stopped.
  Status Start();

  // Starts the server if it is not running, then blocks until it has stopped
  // (Stop() or RequestStop() from elsewhere, or a signal under
  // RunUntilSignalled). Returns OK after a graceful stop.
  Status Run();

  // Graceful stop, blocking: stops accepting, closes idle connections, lets
  // requests whose handler has started finish and answers queued ones with 503,
  // for at most limits.shutdown_grace; then closes every connection and joins the
  // threads. Returns once done; a handler still running after the grace is waited
  // for, and so is an answer a Responder still owes (its maker is not run once the
  // network threads have gone). Idempotent. Must not be called from a handler or
  // I/O thread (use RequestStop there), nor from a thread that holds a Responder it
  // has yet to call.
  void Stop();
  // Begins the graceful stop and returns at once; Run() returns when it is done.
  // Safe from any thread, including handlers.
  void RequestStop();

  // Rereads the TLS files given at Create (e.g. after certificate renewal on
  // disk), or switches to `files`. New connections use the new context; open ones
  // keep theirs. On error (as BuildServerTlsContext) the old context stays in use.
  Status ReloadTls();
  Status ReloadTls(const TlsFiles& files);

  // The bound ports.
  uint16_t api_port() const;
  uint16_t admin_port() const;

  // The registry /metrics renders; handlers may add their own families.
  MetricsRegistry& metrics();

  class Impl;

 private:
  explicit HttpsServer(std::unique_ptr<Impl> impl);
  friend Status RunUntilSignalled(HttpsServer& server, const std::function<void()>& on_running);
  std::unique_ptr<Impl> impl_;
};

// Runs `server` (as Run()) until SIGTERM or SIGINT, which stop it gracefully;
// SIGHUP reloads its TLS files (ReloadTls(); a failure is logged and the old files
// stay in use). For a main() that has nothing else to do. The handlers for these
// signals are installed for the duration of the call. `on_running`, when given, is
// called once the server is accepting and the handlers are in place: the moment to
// tell the world (a signal sent after it is always handled).
Status RunUntilSignalled(HttpsServer& server, const std::function<void()>& on_running = {});

}  // namespace cg::gateway::server
