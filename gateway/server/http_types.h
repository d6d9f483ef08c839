// The interface between the HTTPS server and the code that answers requests: plain
// structs and std::functions, no Beast or Asio types. Handlers plug into
// HttpsServer (https_server.h) through ServerOptions.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/server/client_identity.h"

namespace cg::gateway::server {

// One header field; names are lowercase, values as received (surrounding
// whitespace trimmed by the parser).
using HttpHeader = std::pair<std::string, std::string>;

struct HttpRequest {
  std::string method;               // "GET", "POST", ... as sent
  std::string target;               // the request target as sent: "/v1/attestations?x=1"
  std::vector<HttpHeader> headers;  // in the order received, repeated names kept
  std::string body;                 // at most ServerLimits::max_body_bytes
  std::string request_id;           // 16 lowercase hex characters, also X-Request-Id
  // On the API listener, the verified client; on the admin listener only
  // peer_address is set.
  ClientIdentity client;

  // The value of the first header named `lowercase_name`, or nullptr.
  const std::string* FindHeader(std::string_view lowercase_name) const {
    for (const auto& [name, value] : headers)
      if (name == lowercase_name) return &value;
    return nullptr;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";  // empty: no Content-Type
  std::string body;
  // Extra fields. The server sets Content-Length, Transfer-Encoding, Connection,
  // Server and X-Request-Id itself and drops extra fields of those names, and any
  // field whose name or value holds CR, LF or NUL.
  std::vector<HttpHeader> headers;
};

// Answers one request. Called on a handler thread (or on the network thread, for
// requests ServerOptions::answering sends to Answering::kInline), one request at a
// time per connection but concurrently across connections, so it must be
// thread-safe. It should return promptly: Stop() waits for running handlers.
// An exception escaping it, or a status outside 200..599, becomes a 500 INTERNAL
// response and is logged.
using RequestHandler = std::function<HttpResponse(const HttpRequest&)>;

// Answers, later and from any thread, a request an AsyncRequestHandler took. Call it
// once with a function that makes the response: the server runs that function on
// the network thread of the request's connection and sends what it returns (so the
// rendering runs there, not on the thread that finished the work). An exception
// from it, or a status outside 200..599, becomes 500 INTERNAL as for a
// RequestHandler. Calls after the first are ignored; when the last copy of a
// Responder goes without a call, the request gets 500 INTERNAL. Copies share one
// answer; thread-safe.
class Responder {
 public:
  using Make = std::function<HttpResponse()>;

  // Where the answer goes (the server's side). Deliver is called exactly once: with
  // the maker, or with an empty one when no call came. It must not throw.
  class Target {
   public:
    virtual ~Target() = default;
    virtual void Deliver(Make make) noexcept = 0;
  };

  explicit Responder(std::shared_ptr<Target> target);
  void operator()(Make make) const;

 private:
  struct Once {
    std::shared_ptr<Target> target;
    std::atomic<bool> answered{false};
    ~Once();
  };
  std::shared_ptr<Once> once_;
};

// Starts answering one request and returns without waiting for anything slow (it
// runs on a network thread, which serves other connections meanwhile); the answer
// goes through the Responder when it is ready. The request stays alive until the
// Responder's maker has run. Thread-safe, as RequestHandler. An exception escaping
// it before the Responder is called becomes 500 INTERNAL.
using AsyncRequestHandler = std::function<void(const HttpRequest&, Responder)>;

// How the server answers an API request that passed its own checks.
enum class Answering {
  // `handler` on a handler thread: the default, for anything that may wait.
  kHandlerThread,
  // `handler` on the network thread that read the request, without the hand-off to
  // a handler thread and back: only for quick handlers that never wait long
  // (lookups), since the thread serves other connections meanwhile.
  kInline,
  // `async_handler` on the network thread that read the request: it starts the
  // work and returns, and answers through its Responder when the work is done on
  // another thread (a group commit), so no thread is held while it waits.
  kAsync,
};

// Maps a request to the route template used as the `route` label of the request
// metrics ("/v1/attestations/{id}"), so labels stay few. Called on I/O threads; must
// be cheap and thread-safe. The default names every route "other".
using RouteNamer = std::function<std::string(std::string_view method, std::string_view target)>;

// The JSON error body every server-made error uses, and handlers may too:
// {"code":"...","message":"...","request_id":"..."}.
std::string ErrorBody(std::string_view code, std::string_view message, std::string_view request_id);

}  // namespace cg::gateway::server
