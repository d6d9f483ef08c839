#include "specs/json.h"

#include <google/protobuf/util/json_util.h>

namespace cg {

std::string MessageToJson(const google::protobuf::Message& message, bool compact) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = !compact;
  options.preserve_proto_field_names = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  if (compact || json.empty() || json.back() != '\n') json += '\n';
  return json;
}

Status JsonToMessage(std::string_view json, google::protobuf::Message* message) {
  message->Clear();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(json, message, options);
  if (!status.ok()) return InvalidArgumentError(std::string(status.message()));
  return OkStatus();
}

}  // namespace cg
