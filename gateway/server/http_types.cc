#include "gateway/server/http_types.h"

#include "specs/json_text.h"

namespace cg::gateway::server {

std::string ErrorBody(std::string_view code, std::string_view message,
                      std::string_view request_id) {
  std::string body = "{\"code\":";
  AppendJsonString(body, code);
  body += ",\"message\":";
  AppendJsonString(body, message);
  body += ",\"request_id\":";
  AppendJsonString(body, request_id);
  body += "}\n";
  return body;
}

}  // namespace cg::gateway::server
