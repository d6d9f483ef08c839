#include "specs/timestamps.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "specs/file_io.h"

namespace cg {
namespace {

TEST(TimestampsTest, Rfc3339RoundTrip) {
  auto t = ParseRfc3339("2026-11-26T08:00:00Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-26T08:00:00Z");
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count(),
            1795680000);
  auto offset = ParseRfc3339("2026-11-26T16:00:00+08:00");
  ASSERT_TRUE(offset.ok());
  EXPECT_EQ(*offset, *t);
  EXPECT_EQ(FromProtoTimestamp(ToProtoTimestamp(*t)), *t);
}

TEST(TimestampsTest, RejectsNonsense) {
  for (const char* bad : {"", "yesterday", "2026-13-01T00:00:00Z", "2026-11-26"}) {
    auto t = ParseRfc3339(bad);
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(TimestampsTest, Durations) {
  EXPECT_EQ(*ParseDuration("30d"), std::chrono::hours(24 * 30));
  EXPECT_EQ(*ParseDuration("12h"), std::chrono::hours(12));
  EXPECT_EQ(*ParseDuration("2w"), std::chrono::hours(24 * 14));
  EXPECT_EQ(*ParseDuration("45s"), std::chrono::seconds(45));
  for (const char* bad : {"", "d", "10", "10y", "-1d", "1.5d", "99999999999999999999d"}) {
    EXPECT_EQ(ParseDuration(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(FileIoTest, AtomicWriteAndBoundedRead) {
  const std::string dir = ::testing::TempDir();
  const std::string path = dir + "/file_io_test.txt";
  ASSERT_TRUE(WriteFileAtomically(path, "hello", 0600).ok());
  auto read = ReadFileLimited(path, 5);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, "hello");
  EXPECT_EQ(ReadFileLimited(path, 4).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(ReadFileLimited(dir + "/no-such-file", 10).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadFileLimited(dir, 10).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(WriteFileAtomically(path, "replaced").ok());
  EXPECT_EQ(*ReadFileLimited(path, 100), "replaced");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace cg

namespace cg {
namespace {

// Regression: times past 2262 wrapped around in 64-bit nanoseconds.
TEST(TimestampsTest, OutOfRangeTimesAreRefusedOrClampedNeverWrapped) {
  EXPECT_EQ(ParseRfc3339("9999-12-31T00:00:00Z").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRfc3339("2200-01-01T00:00:00Z").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ParseRfc3339("2199-12-31T23:59:59Z").ok());
  google::protobuf::Timestamp far;
  far.set_seconds(253402214400);  // 9999-12-31
  const auto clamped = FromProtoTimestamp(far);
  EXPECT_GT(clamped, *ParseRfc3339("2199-12-31T23:59:59Z"));
  far.set_seconds(-62135596800);  // 0001-01-01
  EXPECT_LT(FromProtoTimestamp(far), *ParseRfc3339("1970-01-01T00:00:00Z"));
  EXPECT_EQ(ParseDuration("5300w").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cg

namespace cg {
namespace {

// Regression: opening a FIFO blocked for ever before the regular-file check.
TEST(FileIoTest, FifoIsRefusedNotWaitedOn) {
  const std::string path = ::testing::TempDir() + "/file_io_fifo";
  std::remove(path.c_str());
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  auto read = ReadFileLimited(path, 100);
  EXPECT_EQ(read.status().code(), StatusCode::kInvalidArgument);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace cg
