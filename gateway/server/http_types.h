// The interface between the HTTPS server and the code that answers requests: plain
// structs and std::functions, no Beast or Asio types. Handlers plug into
// HttpsServer (https_server.h) through ServerOptions.
#pragma once

#include <functional>
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

// Answers one request. Called on a handler thread (never an I/O thread), one
// request at a time per connection but concurrently across connections, so it must
// be thread-safe. It should return promptly: Stop() waits for running handlers.
// An exception escaping it, or a status outside 200..599, becomes a 500 INTERNAL
// response and is logged.
using RequestHandler = std::function<HttpResponse(const HttpRequest&)>;

// Maps a request to the route template used as the `route` label of the request
// metrics ("/v1/attestations/{id}"), so labels stay few. Called on I/O threads; must
// be cheap and thread-safe. The default names every route "other".
using RouteNamer = std::function<std::string(std::string_view method, std::string_view target)>;

// The JSON error body every server-made error uses, and handlers may too:
// {"code":"...","message":"...","request_id":"..."}.
std::string ErrorBody(std::string_view code, std::string_view message, std::string_view request_id);

}  // namespace cg::gateway::server
