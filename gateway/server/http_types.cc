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

Responder::Responder(std::shared_ptr<Target> target) : once_(std::make_shared<Once>()) {
  once_->target = std::move(target);
}

void Responder::operator()(Make make) const {
  if (!once_->answered.exchange(true)) once_->target->Deliver(std::move(make));
}

Responder::Once::~Once() {
  if (!answered.load() && target) target->Deliver(nullptr);
}

}  // namespace cg::gateway::server
