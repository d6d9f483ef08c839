// The joint model against the vectors that an independent implementation of
// specs/joint-model.md made (specs/vectors/joint_model_reference.py).
#include "mapping/joint_model.h"

#include <google/protobuf/struct.pb.h>
#include <gtest/gtest.h>

#include <cmath>

#include "mapping/calendar.h"
#include "specs/file_io.h"
#include "specs/json.h"

namespace cg::mapping {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

const Value* Field(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? nullptr : &it->second;
}
std::string Str(const Struct& s, const std::string& key) {
  const Value* v = Field(s, key);
  return v ? v->string_value() : "";
}
double Num(const Struct& s, const std::string& key) {
  const Value* v = Field(s, key);
  return v ? v->number_value() : 0;
}
bool Bool(const Struct& s, const std::string& key) {
  const Value* v = Field(s, key);
  return v && v->bool_value();
}
const google::protobuf::ListValue* List(const Struct& s, const std::string& key) {
  const Value* v = Field(s, key);
  return v ? &v->list_value() : nullptr;
}

HkBureauRecord HkRecord(const Struct& r) {
  HkBureauRecord out;
  out.incorporation_date = Str(r, "incorporation_date");
  if (auto* list = List(r, "facilities")) {
    for (const auto& v : list->values()) {
      const Struct& f = v.struct_value();
      out.facilities.push_back({"", "", Num(f, "limit"), Num(f, "outstanding"),
                                static_cast<uint32_t>(Num(f, "worst_dpd_12m")), Str(f, "status")});
    }
  }
  for (const char* key : {"defaults", "judgments"}) {
    if (auto* list = List(r, key)) {
      for (const auto& v : list->values()) {
        const Struct& d = v.struct_value();
        (std::string(key) == "defaults" ? out.defaults : out.judgments)
            .push_back({Str(d, "date"), Num(d, "amount"), Bool(d, "satisfied")});
      }
    }
  }
  if (auto* list = List(r, "winding_up_petitions")) {
    for (const auto& v : list->values()) out.winding_up_petitions.push_back(v.string_value());
  }
  if (auto* list = List(r, "trade_payments")) {
    for (const auto& v : list->values()) {
      const Struct& t = v.struct_value();
      out.trade_payments.push_back(
          {static_cast<uint32_t>(Num(t, "days_beyond_terms")), Num(t, "amount")});
    }
  }
  return out;
}

PerformanceStatus StatusOf(const std::string& s) {
  if (s == "late") return PerformanceStatus::kLate;
  if (s == "defaulted") return PerformanceStatus::kDefaulted;
  if (s == "disputed") return PerformanceStatus::kDisputed;
  return PerformanceStatus::kOnTime;
}

// Relative agreement to 1e-9: the reference uses the same IEEE doubles and libm but
// not the same order of every operation.
void ExpectClose(double actual, double expected, const std::string& what) {
  EXPECT_NEAR(actual, expected, 1e-9 * std::max(1.0, std::fabs(expected))) << what;
}

TEST(JointModelTest, MatchesTheReferenceVectors) {
  auto text = ReadFileLimited(CG_SOURCE_DIR "/specs/vectors/joint-model.json", 1 << 20);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  Struct root;
  ASSERT_TRUE(JsonToMessage(*text, &root).ok());
  EXPECT_EQ(Str(root, "model_version"), kJointModelVersion);
  const JointModelParams params;
  ASSERT_TRUE(ValidateParams(params).ok());
  const Scale scales[] = {ShenzhenSixLevelScale(), HongKongBureauScale()};
  const auto* cases = List(root, "cases");
  ASSERT_NE(cases, nullptr);
  ASSERT_GE(cases->values_size(), 7);
  for (const auto& v : cases->values()) {
    const Struct& c = v.struct_value();
    const std::string name = Str(c, "name");
    SCOPED_TRACE(name);
    const Struct& n = Field(c, "native")->struct_value();
    NativeAssessment native;
    if (Str(n, "kind") == "sz") {
      const Struct& r = Field(n, "record")->struct_value();
      SzGradeRecord record;
      record.grade = Str(r, "grade");
      record.serious_dishonesty = Bool(r, "serious_dishonesty");
      record.abnormal_operation = Bool(r, "abnormal_operation");
      record.shell_risk = Bool(r, "shell_risk");
      native = AssessShenzhen(record, params);
    } else if (Str(n, "kind") == "hk") {
      native = AssessHongKong(HkRecord(Field(n, "record")->struct_value()),
                              DaysFromDate(Str(n, "as_of")), params);
    } else {
      native = NoNativeRecord(params);
    }
    const Struct& e = Field(c, "equity")->struct_value();
    EquityFactors equity;
    if (auto* parents = List(e, "parents")) {
      for (const auto& p : parents->values()) {
        const Struct& ps = p.struct_value();
        equity.parents.push_back({Num(ps, "integrated_share"), Num(ps, "pd")});
      }
    }
    equity.layers_to_beneficial_owner = static_cast<uint32_t>(Num(e, "layers_to_beneficial_owner"));
    if (auto* list = List(e, "secrecy_jurisdictions")) {
      for (const auto& j : list->values()) equity.secrecy_jurisdictions.push_back(j.string_value());
    }
    equity.ring_on_chain = Bool(e, "ring_on_chain");
    equity.no_identifiable_beneficial_owner = Bool(e, "no_identifiable_beneficial_owner");
    equity.shell_on_chain = Bool(e, "shell_on_chain");
    equity.unknown_share = Num(e, "unknown_share");
    std::vector<PerformanceRecord> records;
    for (const auto& p : List(c, "performance")->values()) {
      const Struct& ps = p.struct_value();
      PerformanceRecord r;
      r.record_id = Str(ps, "record_id");
      r.due_date = Str(ps, "due_date");
      r.settled_date = Str(ps, "settled_date");
      r.amount = Num(ps, "amount");
      r.currency = Str(ps, "currency");
      r.status = StatusOf(Str(ps, "status"));
      records.push_back(r);
    }
    const PerformanceResult performance =
        AssessPerformance(records, Str(c, "period"), params.performance);
    const JointResult result = Combine(native, equity, performance, params);

    const Struct& expected = Field(c, "expected")->struct_value();
    ExpectClose(result.native_pd, Num(expected, "native_pd"), "native_pd");
    ExpectClose(result.joint_pd, Num(expected, "joint_pd"), "joint_pd");
    EXPECT_EQ(result.score, static_cast<uint32_t>(Num(expected, "score")));
    const Struct& grades = Field(expected, "grades")->struct_value();
    for (const Scale& scale : scales) {
      EXPECT_EQ(scale.GradeForPd(result.joint_pd), Str(grades, scale.name())) << scale.name();
    }
    for (const char* key : {"all_reasons", "top_reasons"}) {
      const auto& want = List(expected, key)->values();
      const auto& got = std::string(key) == "all_reasons" ? result.all_reasons : result.top_reasons;
      ASSERT_EQ(got.size(), static_cast<size_t>(want.size())) << key;
      for (int i = 0; i < want.size(); ++i) {
        const Struct& w = want[i].struct_value();
        EXPECT_EQ(got[static_cast<size_t>(i)].code, Str(w, "code")) << key << " " << i;
        ExpectClose(got[static_cast<size_t>(i)].contribution, Num(w, "contribution"),
                    Str(w, "code"));
      }
    }
  }
}

TEST(JointModelTest, InsufficientEvidenceIsNeutral) {
  const JointModelParams params;
  PerformanceRecord defaulted;
  defaulted.due_date = "2026-05-31";
  defaulted.amount = 1e6;
  defaulted.currency = "CNY";
  defaulted.status = PerformanceStatus::kDefaulted;
  const std::vector<PerformanceRecord> two = {defaulted, defaulted};
  const PerformanceResult result = AssessPerformance(two, "2026-10", params.performance);
  EXPECT_FALSE(result.sufficient_evidence);
  EXPECT_EQ(result.defaults, 2u);
  EXPECT_TRUE(result.reasons.empty()) << "too little evidence must never be a penalty";
}

TEST(JointModelTest, DaysBeyondTermsScore) {
  EXPECT_EQ(DaysBeyondTermsScore(0), 80);
  EXPECT_EQ(DaysBeyondTermsScore(15), 70);
  EXPECT_DOUBLE_EQ(DaysBeyondTermsScore(45), 45);
  EXPECT_EQ(DaysBeyondTermsScore(500), 20);
  for (double d = 0; d < 200; d += 0.5) {
    EXPECT_GE(DaysBeyondTermsScore(d), DaysBeyondTermsScore(d + 0.5)) << "not monotonic at " << d;
  }
}

TEST(JointModelTest, WorseInputsNeverImprove) {
  const JointModelParams params;
  const char* grades[] = {"A+", "A", "B", "C", "D", "E"};
  double previous = 0;
  for (const char* g : grades) {
    SzGradeRecord r;
    r.grade = g;
    const double pd = Combine(AssessShenzhen(r, params), {}, {}, params).joint_pd;
    EXPECT_GT(pd, previous) << g;
    previous = pd;
  }
  SzGradeRecord flagged;
  flagged.grade = "B";
  const double clean = Combine(AssessShenzhen(flagged, params), {}, {}, params).joint_pd;
  flagged.abnormal_operation = true;
  EXPECT_GT(Combine(AssessShenzhen(flagged, params), {}, {}, params).joint_pd, clean);
}

TEST(JointModelTest, ParamsAreValidatedAndDigestible) {
  JointModelParams params;
  EXPECT_TRUE(ValidateParams(params).ok());
  const std::string text = CanonicalParams(params);
  EXPECT_EQ(text.rfind("model joint-1.0.0\n", 0), 0u);
  EXPECT_NE(text.find("shenzhen.grade_pd.A+ 0.00029999999999999997\n"), std::string::npos);
  params.equity.per_layer = 0.2;
  EXPECT_NE(CanonicalParams(params), text);
  params.min_pd = 0.5;
  params.max_pd = 0.4;
  EXPECT_EQ(ValidateParams(params).code(), StatusCode::kInvalidArgument);
  JointModelParams bad;
  bad.shenzhen.grade_pd["A"] = 1.5;
  EXPECT_EQ(ValidateParams(bad).code(), StatusCode::kInvalidArgument);
}

TEST(CalendarTest, DaysAndWindows) {
  EXPECT_EQ(DaysFromDate("1970-01-01"), 0);
  EXPECT_EQ(DaysFromDate("2026-11-26"), 20783);
  EXPECT_EQ(PeriodEndDay("2024-02"), DaysFromDate("2024-02-29"));
  EXPECT_EQ(MonthsBefore(DaysFromDate("2026-10-31"), 24), DaysFromDate("2024-10-31"));
  EXPECT_EQ(MonthsBefore(DaysFromDate("2026-03-31"), 1), DaysFromDate("2026-02-28"));
  EXPECT_EQ(MonthsBefore(DaysFromDate("2026-01-15"), 13), DaysFromDate("2024-12-15"));
}

}  // namespace
}  // namespace cg::mapping
