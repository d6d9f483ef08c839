#include "gateway/server/http_types.h"

#include <fmt/format.h>

namespace cg::gateway::server {
namespace {

void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace

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
