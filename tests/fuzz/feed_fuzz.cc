// Feed files come from outside (operators, bureaus): whatever bytes a file holds,
// reading it as any feed gives rows or rejects, never a crash.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "crypto/pseudonym.h"
#include "mapping/feeds.h"
#include "tests/fuzz/fuzz_target.h"

namespace cg::fuzz {
namespace {

class CountingSink : public mapping::FeedSink {
 public:
  Status OnSzGrade(const mapping::SzGradeRecord&) override { return OkStatus(); }
  Status OnOwnership(const mapping::OwnershipRecord&) override { return OkStatus(); }
  Status OnPerformance(const mapping::PerformanceRecord&) override { return OkStatus(); }
  Status OnHkBureau(const mapping::HkBureauRecord&) override { return OkStatus(); }
  Status OnReject(const mapping::FeedReject&) override { return OkStatus(); }
};

// The feed kind and format come from the first byte, the file from the rest.
const std::string& ScratchFile() {
  static const std::string path = [] {
    char tmpl[] = "/tmp/cg-feed-fuzz-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    if (fd >= 0) ::close(fd);
    return std::string(tmpl);
  }();
  static const bool cleanup_registered = [] {
    std::atexit([] { std::remove(ScratchFile().c_str()); });
    return true;
  }();
  (void)cleanup_registered;
  return path;
}

}  // namespace

CG_FUZZ_TARGET(FuzzFeed) {
  static const crypto::Pseudonymizer* pseudonymizer =
      new crypto::Pseudonymizer(*crypto::Pseudonymizer::FromKey(std::string(32, 'f')));
  if (size == 0) return 0;
  const auto kind = static_cast<mapping::FeedKind>(data[0] % 4);
  const auto format = (data[0] & 4) ? mapping::FeedFormat::kJsonLines : mapping::FeedFormat::kCsv;
  std::FILE* f = std::fopen(ScratchFile().c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data + 1, 1, size - 1, f);
  std::fclose(f);
  CountingSink sink;
  (void)mapping::ReadFeed(kind, ScratchFile(), format, pseudonymizer, sink);
  return 0;
}

}  // namespace cg::fuzz
