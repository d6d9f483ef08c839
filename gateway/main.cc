#include <google/protobuf/stubs/common.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/cli.h"

// jemalloc's settings (the program links it: CMakeLists.txt says why). The batch
// commands fault in gigabytes of memory; 4 KiB at a time that is over half a million
// page faults per million entities, which a virtual machine makes dear: so the heap
// is backed by transparent huge pages. MALLOC_CONF in the environment still
// overrides these.
extern "C" {
const char* malloc_conf = "thp:always,metadata_thp:auto";
}

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
