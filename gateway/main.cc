#include <google/protobuf/stubs/common.h>

#include <cstdio>
#include <string>

#include "gateway/cli.h"

namespace {

// Protobuf logs each malformed string field it meets while parsing; on input from
// peers and files that is noise (the parse fails and we report it ourselves), so
// only its fatal messages are kept.
void ProtobufLog(google::protobuf::LogLevel level, const char* file, int line,
                 const std::string& message) {
  if (level >= google::protobuf::LOGLEVEL_FATAL) {
    std::fprintf(stderr, "protobuf fatal: %s:%d: %s\n", file, line, message.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  GOOGLE_PROTOBUF_VERIFY_VERSION;
  google::protobuf::SetLogHandler(&ProtobufLog);
  const int code = cg::gateway::RunCli(argc, argv);
  google::protobuf::ShutdownProtobufLibrary();
  return code;
}
