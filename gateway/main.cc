#include <google/protobuf/stubs/common.h>

#include "gateway/cli.h"

int main(int argc, char** argv) {
  GOOGLE_PROTOBUF_VERIFY_VERSION;
  const int code = cg::gateway::RunCli(argc, argv);
  google::protobuf::ShutdownProtobufLibrary();
  return code;
}
