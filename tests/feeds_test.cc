#include "mapping/feeds.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace cg::mapping {
namespace {

namespace fs = std::filesystem;

class Collect : public FeedSink {
 public:
  Status OnSzGrade(const SzGradeRecord& r) override {
    grades.push_back(r);
    return OkStatus();
  }
  Status OnOwnership(const OwnershipRecord& r) override {
    holdings.push_back(r);
    return OkStatus();
  }
  Status OnPerformance(const PerformanceRecord& r) override {
    performance.push_back(r);
    return OkStatus();
  }
  Status OnReject(const FeedReject& r) override {
    rejects.push_back(r);
    return OkStatus();
  }
  std::vector<SzGradeRecord> grades;
  std::vector<OwnershipRecord> holdings;
  std::vector<PerformanceRecord> performance;
  std::vector<FeedReject> rejects;
};

class FeedsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/feeds-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  StatusOr<FeedReadSummary> Read(FeedKind kind, const std::string& name, const std::string& text,
                                 Collect& sink) {
    const std::string path = Write(name, text);
    auto format = FeedFormatForPath(path);
    EXPECT_TRUE(format.ok());
    return ReadFeed(kind, path, *format, &pseudonymizer_, sink);
  }

  std::string dir_;
  crypto::Pseudonymizer pseudonymizer_ = *crypto::Pseudonymizer::FromKey(std::string(32, 'k'));
};

constexpr char kGradeHeader[] =
    "entity_id,name,period,grade,industry,business_changes,registration_licensing,penalties,"
    "complaints,commendations,serious_dishonesty,abnormal_operation,shell_risk\n";

TEST_F(FeedsTest, SzGradesCsvGoodAndBadRows) {
  const std::string text =
      std::string(kGradeHeader) +
      "uscc:91440300MA5G2U7B88,\"Qianhai Trading, Ltd.\",2026-10,A,F5171,80,70.5,90,88,60,0,0,1\n"
      "uscc:91440300MA5G2U7B89,Bad check,2026-10,A,C39,1,1,1,1,1,0,0,0\n"
      "uscc:91440300MA5G2U7B88,No grade,2026-10,,C39,1,1,1,1,1,0,0,0\n"
      "uscc:91440300MA5G2U7B88,Score,2026-10,B,C39,101,1,1,1,1,0,0,0\n"
      "uscc:91440300MA5G2U7B88,Period,2026-13,B,C39,1,1,1,1,1,0,0,0\n"
      "uscc:91440300MA5G2U7B88,Flag,2026-10,B,C39,1,1,1,1,1,yes,0,0\n"
      "hkcrn:1234567,Not uscc,2026-10,B,C39,1,1,1,1,1,0,0,0\n"
      "uscc:91440300MA5G2U7B88,Short row,2026-10\n"
      "\n"
      "uscc:91440300MA5G2U7B88,\"Say \"\"hi\"\"\",2026-11,E,C39,0,0,0,0,0,1,1,1\r\n"
      "uscc:91440300MA5G2U7B88,\"Multi\nline\",2026-12,E,C39,0,0,0,0,0,1,1,1\n";
  Collect sink;
  auto summary = Read(FeedKind::kSzGrades, "g.csv", text, sink);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->rows, 10u);
  EXPECT_EQ(summary->accepted, 2u);
  EXPECT_EQ(summary->rejected, 8u);
  ASSERT_EQ(sink.grades.size(), 2u);
  EXPECT_EQ(sink.grades[0].name, "Qianhai Trading, Ltd.");
  EXPECT_EQ(sink.grades[0].dimensions[1], 70.5);
  EXPECT_TRUE(sink.grades[0].shell_risk);
  EXPECT_EQ(sink.grades[1].name, "Say \"hi\"");
  EXPECT_TRUE(sink.grades[1].serious_dishonesty);
  ASSERT_EQ(sink.rejects.size(), 8u);
  struct Expected {
    uint64_t line;
    std::string column, says;
  };
  const std::vector<Expected> expected = {{3, "entity_id", "check character"},
                                          {4, "grade", "is missing"},
                                          {5, "business_changes", "from 0 to 100"},
                                          {6, "period", "YYYY-MM"},
                                          {7, "serious_dishonesty", "0, 1, true or false"},
                                          {8, "entity_id", "uscc:"},
                                          {9, "", "has 3 fields"},
                                          {12, "name", "not printable"}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(sink.rejects[i].line, expected[i].line) << i;
    EXPECT_EQ(sink.rejects[i].column, expected[i].column) << i;
    EXPECT_NE(sink.rejects[i].reason.find(expected[i].says), std::string::npos)
        << sink.rejects[i].reason;
  }
}

// The file is read in blocks of 1 MiB: rows that straddle two blocks, quoted and
// plain rows, a row too long to load between good rows, CRLF and a last row without
// a line end all come out as they were written, with their line numbers.
TEST_F(FeedsTest, RowsAcrossReadBlocksComeOutWhole) {
  std::string text = kGradeHeader;
  std::vector<std::string> names;
  const size_t long_row = 12'000;
  for (size_t i = 0; i < 25'000; ++i) {
    if (i == long_row) {
      text += "uscc:91440300MA5G2U7B88," + std::string(kMaxFeedRowBytes + 100, 'y') +
              ",2026-10,A,C39,1,1,1,1,1,0,0,0\n";
      continue;
    }
    std::string name = "Firm " + std::to_string(i) + std::string(i % 97, 'x');
    if (i % 10 == 3) name += ", Ltd";
    names.push_back(name);
    const std::string field = i % 10 == 3 ? "\"" + name + "\"" : name;
    text += "uscc:91440300MA5G2U7B88," + field + ",2026-10,B,C39,1,2,3,4,5,0,1,0";
    text += i % 7 == 0 ? "\r\n" : "\n";
  }
  text += "uscc:91440300MA5G2U7B88,Last,2026-10,C,C39,1,2,3,4,5,0,1,0";  // no line end
  names.push_back("Last");
  ASSERT_GT(text.size(), size_t{3} << 20);
  Collect sink;
  auto summary = Read(FeedKind::kSzGrades, "blocks.csv", text, sink);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->rows, 25'001u);
  ASSERT_EQ(sink.grades.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    ASSERT_EQ(sink.grades[i].name, names[i]) << i;
    ASSERT_EQ(sink.grades[i].dimensions[4], 5) << i;
    ASSERT_TRUE(sink.grades[i].abnormal_operation) << i;
  }
  ASSERT_EQ(sink.rejects.size(), 1u);
  EXPECT_EQ(sink.rejects[0].line, long_row + 2);  // after the header, 1-based
  EXPECT_NE(sink.rejects[0].reason.find("longer than"), std::string::npos)
      << sink.rejects[0].reason;
}

TEST_F(FeedsTest, HeaderProblemsStopTheLoad) {
  Collect sink;
  auto unknown =
      Read(FeedKind::kSzGrades, "u.csv", std::string(kGradeHeader).insert(10, "colour,"), sink);
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("unknown column 'colour'"), std::string::npos);
  auto missing = Read(FeedKind::kSzGrades, "m.csv", "entity_id,name\n", sink);
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("required column 'period'"), std::string::npos);
  auto empty = Read(FeedKind::kSzGrades, "e.csv", "", sink);
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  auto twice = Read(FeedKind::kOwnership, "t.csv", "holder_id,holder_id\n", sink);
  EXPECT_NE(twice.status().message().find("appears twice"), std::string::npos);
  EXPECT_EQ(ReadFeed(FeedKind::kSzGrades, dir_ + "/none.csv", FeedFormat::kCsv, nullptr, sink)
                .status()
                .code(),
            StatusCode::kNotFound);
  EXPECT_EQ(FeedFormatForPath("x.xlsx").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(FeedsTest, OwnershipPseudonymisesPersonsAndChecksKinds) {
  const std::string text =
      "holder_id,holder_kind,holder_jurisdiction,owned_id,share,voting,as_of\n"
      "person:A123456(7),person,HK,uscc:91440300MA5G2U7B88,60,,2026-10-01\n"
      "hkcrn:1234567,entity,HK,uscc:91440300MA5G2U7B88,40,55.5,2026-10-01\n"
      "hkcrn:1234567,person,HK,uscc:91440300MA5G2U7B88,40,,2026-10-01\n"
      "uscc:91440300MA5G2U7B88,entity,CN-SZ,uscc:91440300MA5G2U7B88,10,,2026-10-01\n"
      "hkcrn:1234567,entity,hk,uscc:91440300MA5G2U7B88,10,,2026-10-01\n"
      "hkcrn:1234567,entity,HK,person:B1,10,,2026-10-01\n"
      "hkcrn:1234567,entity,HK,uscc:91440300MA5G2U7B88,0,,2026-10-01\n"
      "hkcrn:1234567,entity,HK,uscc:91440300MA5G2U7B88,10,,2026-02-30\n";
  Collect sink;
  auto summary = Read(FeedKind::kOwnership, "o.csv", text, sink);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  ASSERT_EQ(sink.holdings.size(), 2u);
  EXPECT_EQ(sink.holdings[0].holder_id, *pseudonymizer_.Pseudonymize("person:A123456(7)"));
  EXPECT_TRUE(sink.holdings[0].holder_is_person);
  EXPECT_DOUBLE_EQ(sink.holdings[0].share, 0.6);
  EXPECT_DOUBLE_EQ(sink.holdings[0].voting, 0.6);
  EXPECT_DOUBLE_EQ(sink.holdings[1].voting, 0.555);
  const std::vector<std::string> says = {"holder_id is not a person",
                                         "cannot hold itself",
                                         "ISO 3166",
                                         "not a natural person",
                                         "above 0",
                                         "date YYYY-MM-DD"};
  ASSERT_EQ(sink.rejects.size(), says.size());
  for (size_t i = 0; i < says.size(); ++i) {
    EXPECT_NE(sink.rejects[i].reason.find(says[i]), std::string::npos) << sink.rejects[i].reason;
    EXPECT_EQ(sink.rejects[i].reason.find("A123456"), std::string::npos) << "raw id leaked";
  }
}

TEST_F(FeedsTest, PerformanceJsonLines) {
  const std::string text =
      R"({"subject_id":"uscc:91440300MA5G2U7B88","record_id":"r1","counterparty_jurisdiction":"HK","kind":"trade_payment","due_date":"2026-01-31","settled_date":"2026-02-20","amount":125000.5,"currency":"HKD","status":"late"})"
      "\n"
      R"({"subject_id":"uscc:91440300MA5G2U7B88","record_id":"r2","counterparty_jurisdiction":"HK","kind":"customs","due_date":"2026-01-31","amount":10,"currency":"CNY","status":"defaulted"})"
      "\n"
      R"({"subject_id":"uscc:91440300MA5G2U7B88","record_id":"r3","counterparty_jurisdiction":"HK","kind":"customs","due_date":"2026-01-31","settled_date":"2026-01-30","amount":10,"currency":"CNY","status":"late"})"
      "\n"
      R"({"subject_id":"uscc:91440300MA5G2U7B88","record_id":"r4","colour":"red"})"
      "\n"
      "not json\n";
  Collect sink;
  auto summary = Read(FeedKind::kPerformance, "p.jsonl", text, sink);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  ASSERT_EQ(sink.performance.size(), 2u);
  EXPECT_EQ(sink.performance[0].status, PerformanceStatus::kLate);
  EXPECT_DOUBLE_EQ(sink.performance[0].amount, 125000.5);
  EXPECT_EQ(sink.performance[1].settled_date, "");
  ASSERT_EQ(sink.rejects.size(), 3u);
  EXPECT_NE(sink.rejects[0].reason.find("late needs a settled_date after"), std::string::npos);
  EXPECT_EQ(sink.rejects[1].column, "colour");
  EXPECT_NE(sink.rejects[2].reason.find("not a JSON object"), std::string::npos);
  EXPECT_EQ(sink.rejects[2].line, 5u);
}

class CollectHk : public Collect {
 public:
  Status OnHkBureau(const HkBureauRecord& r) override {
    bureau.push_back(r);
    return OkStatus();
  }
  std::vector<HkBureauRecord> bureau;
};

TEST_F(FeedsTest, HkBureauJsonLines) {
  const std::string good =
      R"({"entity_id":"hkcrn:1234567","name":"Harbour Trading Limited","as_of":"2026-10-31",)"
      R"("incorporation_date":"2015-03-01","facilities":[{"lender":"Bank","type":"term_loan",)"
      R"("limit":1000000,"outstanding":250000,"worst_dpd_12m":0,"status":"current"}],)"
      R"("defaults":[],"judgments":[{"date":"2025-01-02","amount":5000,"satisfied":true}],)"
      R"("winding_up_petitions":[],"trade_payments":[{"days_beyond_terms":3,"amount":1200.5}]})";
  const std::string text =
      good + "\n" +
      R"({"entity_id":"uscc:91440300MA5G2U7B88","name":"Not HK","as_of":"2026-10-31"})" + "\n" +
      R"({"entity_id":"hkcrn:1234567","name":"X","as_of":"2026-10-31","facilities":[{"type":"loan","status":"current"}]})" +
      "\n" + R"({"entity_id":"hkcrn:1234567","name":"X","as_of":"2026-10-31","colour":1})" + "\n" +
      R"({"entity_id":"hkcrn:1234567","name":"X","as_of":"2026-10-31","incorporation_date":"2027-01-01"})" +
      "\n";
  CollectHk sink;
  const std::string path = Write("h.jsonl", text);
  auto summary = ReadFeed(FeedKind::kHkBureau, path, FeedFormat::kJsonLines, nullptr, sink);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->accepted, 1u);
  ASSERT_EQ(sink.bureau.size(), 1u);
  const HkBureauRecord& r = sink.bureau[0];
  EXPECT_EQ(r.entity_id, "hkcrn:1234567");
  ASSERT_EQ(r.facilities.size(), 1u);
  EXPECT_EQ(r.facilities[0].outstanding, 250000);
  ASSERT_EQ(r.judgments.size(), 1u);
  EXPECT_TRUE(r.judgments[0].satisfied);
  ASSERT_EQ(sink.rejects.size(), 4u);
  EXPECT_NE(sink.rejects[0].reason.find("hkbrn: or hkcrn:"), std::string::npos);
  EXPECT_EQ(sink.rejects[1].column, "facilities[0].type");
  EXPECT_NE(sink.rejects[2].reason.find("colour"), std::string::npos);
  EXPECT_EQ(sink.rejects[3].column, "incorporation_date");
  // The stored form round-trips.
  auto back = ParseHkBureau(SerializeHkBureau(r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(SerializeHkBureau(*back), SerializeHkBureau(r));
  EXPECT_EQ(ParseHkBureau("\xff\xff").status().code(), StatusCode::kDataLoss);
  // CSV cannot carry the nested record.
  EXPECT_EQ(ReadFeed(FeedKind::kHkBureau, Write("h.csv", "a\n"), FeedFormat::kCsv, nullptr, sink)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cg::mapping
