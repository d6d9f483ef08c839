#include "mapping/evaluation.h"

#include <gtest/gtest.h>

#include <limits>

namespace cg::mapping {
namespace {

cg::v1::Evaluation Good() {
  cg::v1::Evaluation e;
  e.mutable_subject()->set_id("uscc:91440300MA5G2U7B88");
  e.set_period("2026-10");
  e.mutable_joint_grade()->set_scale("sz-six-level");
  e.mutable_joint_grade()->set_grade("A");
  e.set_joint_pd(0.006);
  return e;
}

TEST(EvaluationTest, AcceptsACompleteEvaluation) { EXPECT_TRUE(ValidateEvaluation(Good()).ok()); }

TEST(EvaluationTest, RejectsEachProblemNamingTheField) {
  auto expect_bad = [](auto mutate, const std::string& says) {
    cg::v1::Evaluation e = Good();
    mutate(e);
    Status s = ValidateEvaluation(e);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << says;
    EXPECT_NE(s.message().find(says), std::string::npos) << s.message();
  };
  expect_bad([](auto& e) { e.mutable_subject()->set_id("foo:1"); }, "subject.id");
  expect_bad([](auto& e) { e.mutable_subject()->set_id("uscc:"); }, "subject.id");
  expect_bad([](auto& e) { e.mutable_subject()->set_id("uscc:91440300MA5G2U7B89"); },
             "check character");
  expect_bad([](auto& e) { e.mutable_subject()->set_id("person:A1234567"); }, "natural person");
  expect_bad([](auto& e) { e.mutable_subject()->set_scheme(cg::v1::ID_SCHEME_LEI); },
             "subject.scheme");
  expect_bad([](auto& e) { e.set_period("2026-13"); }, "period");
  expect_bad([](auto& e) { e.set_period("202610"); }, "period");
  expect_bad([](auto& e) { e.clear_joint_grade(); }, "joint_grade");
  expect_bad([](auto& e) { e.set_joint_pd(1.5); }, "joint_pd");
  expect_bad([](auto& e) { e.set_joint_pd(std::numeric_limits<double>::quiet_NaN()); }, "joint_pd");
  expect_bad([](auto& e) { e.set_joint_score(1001); }, "joint_score");
  expect_bad([](auto& e) { e.set_evidence_digest("short"); }, "digest");
}

TEST(EvaluationTest, Periods) {
  EXPECT_TRUE(IsPeriod("2026-01"));
  EXPECT_TRUE(IsPeriod("2026-12"));
  for (const char* bad : {"2026-00", "2026-13", "2026-1", "26-01", "2026/01", ""}) {
    EXPECT_FALSE(IsPeriod(bad)) << bad;
  }
}

}  // namespace
}  // namespace cg::mapping
