#include <gtest/gtest.h>

#include <string>

#include "gateway/api.h"
#include "proto/api.pb.h"
#include "specs/json.h"
#include "specs/timestamps.h"

namespace cg::gateway {
namespace {

cg::v1::AuditRecord Record() {
  cg::v1::AuditRecord r;
  *r.mutable_time() =
      ToProtoTimestamp(Clock::time_point(std::chrono::microseconds(1795000000123456)));
  r.set_request_id("a1b2c3d4e5f60718");
  r.set_client("bank-client");
  r.set_client_fingerprint(std::string(64, 'f'));
  r.set_role("bank");
  r.set_action("lookup");
  r.set_subject("uscc:91440300MA5G2U7B88");
  r.set_http_status(200);
  r.set_result("ok");
  return r;
}

// The audit line is written by hand for speed; it must say what protobuf's JSON
// mapping says.
TEST(AuditLineTest, IsTheRecordsJsonMapping) {
  cg::v1::AuditRecord r = Record();
  EXPECT_EQ(AuditLine(r), MessageToJson(r, /*compact=*/true));
  r.set_attestation_id("0193a1b2c3d4e5f60718293a4b5c6d7e");
  r.clear_subject();
  r.set_http_status(0);
  *r.mutable_time() = ToProtoTimestamp(Clock::time_point(std::chrono::seconds(1795000000)));
  EXPECT_EQ(AuditLine(r), MessageToJson(r, /*compact=*/true));
  EXPECT_EQ(AuditLine(cg::v1::AuditRecord()), "{}\n");
}

TEST(AuditLineTest, EscapesWhatJsonMust) {
  cg::v1::AuditRecord r = Record();
  r.set_client("quote \" back \\ tab \t nl \n cr \r bell \a del \x7f end");
  r.set_result("not valid: 你好 \xF0\x9F\x94\x91");  // UTF-8 kept as it is
  const std::string line = AuditLine(r);
  ASSERT_EQ(line.find('\n'), line.size() - 1);  // one line
  cg::v1::AuditRecord back;
  ASSERT_TRUE(JsonToMessage(line, &back).ok()) << line;
  EXPECT_EQ(back.SerializeAsString(), r.SerializeAsString());
  EXPECT_NE(line.find("\\u0007"), std::string::npos);
  EXPECT_NE(line.find("\\u007f"), std::string::npos);

  // Bytes that are not UTF-8 become U+FFFD, one each; the line stays valid JSON.
  r.set_client(
      std::string("a\xFF"
                  "b\xC0\xAF"
                  "c\xED\xA0\x80"
                  "d\xE2\x82",
                  12));
  const std::string mended = AuditLine(r);
  ASSERT_TRUE(JsonToMessage(mended, &back).ok()) << mended;
  EXPECT_EQ(back.client(),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD\xEF\xBF\xBD"
            "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
            "d\xEF\xBF\xBD\xEF\xBF\xBD");
}

}  // namespace
}  // namespace cg::gateway
