#include "gateway/batch_evaluation.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "mapping/synthetic_feeds.h"
#include "proto/attestation.pb.h"

namespace cg::gateway {
namespace {

namespace fs = std::filesystem;

// Loads a small synthetic world (both sides' ownership, performance) into a store.
class BatchEvaluationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/batch-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    mapping::SynthOptions synth;
    synth.entities = 3000;
    synth.seed = 42;
    ASSERT_TRUE(mapping::WriteSyntheticFeeds(synth, dir_).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Store> LoadedStore(const std::string& name) {
    auto store = Store::Open("sqlite:" + dir_ + "/" + name);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    for (auto kind : {mapping::FeedKind::kSzGrades, mapping::FeedKind::kOwnership,
                      mapping::FeedKind::kPerformance, mapping::FeedKind::kHkBureau}) {
      auto load = (*store)->BeginLoad(kind);
      EXPECT_TRUE(load.ok());
      Sink sink(**load);
      const bool nested = kind == mapping::FeedKind::kHkBureau;
      const std::string file =
          dir_ + "/" + std::string(mapping::FeedKindName(kind)) + (nested ? ".jsonl" : ".csv");
      auto read = mapping::ReadFeed(
          kind, file, nested ? mapping::FeedFormat::kJsonLines : mapping::FeedFormat::kCsv,
          &pseudonymizer_, sink);
      EXPECT_TRUE(read.ok()) << read.status().ToString();
      EXPECT_EQ(read->rejected, 0u);
      EXPECT_TRUE((*load)->Commit({file, read->rows, 0}).ok());
    }
    return std::move(store).value();
  }

  struct Sink : mapping::FeedSink {
    explicit Sink(FeedLoad& l) : load(l) {}
    Status OnSzGrade(const mapping::SzGradeRecord& r) override { return load.Put(r); }
    Status OnOwnership(const mapping::OwnershipRecord& r) override { return load.Put(r); }
    Status OnPerformance(const mapping::PerformanceRecord& r) override { return load.Put(r); }
    Status OnHkBureau(const mapping::HkBureauRecord& r) override { return load.Put(r); }
    Status OnReject(const mapping::FeedReject&) override { return OkStatus(); }
    FeedLoad& load;
  };

  std::string dir_;
  crypto::Pseudonymizer pseudonymizer_ = *crypto::Pseudonymizer::FromKey(std::string(32, 'p'));
};

TEST_F(BatchEvaluationTest, EvaluatesEveryGradedEntityAndStoresIt) {
  auto store = LoadedStore("a.db");
  BatchOptions options;
  options.period = "2026-10";
  auto summary = EvaluatePeriod(*store, options);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  const uint64_t graded = *store->CountRows(mapping::FeedKind::kSzGrades);
  EXPECT_EQ(summary->evaluated, graded);
  uint64_t total = 0;
  for (const auto& [grade, n] : summary->distribution) total += n;
  EXPECT_EQ(total, graded);
  EXPECT_GT(summary->graph_edges, 0u);
  EXPECT_TRUE(summary->previous_period.empty());

  // Each graded entity's evaluation is stored, and the latest is found without a period.
  std::string first_id;
  ASSERT_TRUE(store
                  ->ScanSzGrades("2026-10",
                                 [&](const mapping::SzGradeRecord& r) {
                                   if (first_id.empty()) first_id = r.entity_id;
                                   return OkStatus();
                                 })
                  .ok());
  auto latest = store->GetEvaluation(first_id, "");
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(latest->period, "2026-10");
  EXPECT_TRUE(summary->distribution.count(latest->grade));
  EXPECT_EQ(store->GetEvaluation("uscc:none", "").status().code(), StatusCode::kNotFound);
}

TEST_F(BatchEvaluationTest, SameResultsWithOneOrTwoThreadsAndOnRerun) {
  auto a = LoadedStore("a.db");
  auto b = LoadedStore("b.db");
  BatchOptions one;
  one.period = "2026-10";
  one.threads = 1;
  BatchOptions two = one;
  two.threads = 2;
  ASSERT_TRUE(EvaluatePeriod(*a, one).ok());
  ASSERT_TRUE(EvaluatePeriod(*b, two).ok());
  auto again = EvaluatePeriod(*b, two);
  ASSERT_TRUE(again.ok());
  // Compare a sample of entities' stored evaluations byte for byte.
  std::vector<std::string> ids;
  ASSERT_TRUE(a->ScanSzGrades("2026-10", [&](const mapping::SzGradeRecord& r) {
                 if (ids.size() < 300) ids.push_back(r.entity_id);
                 return OkStatus();
               }).ok());
  for (const auto& id : ids) {
    auto ea = a->GetEvaluation(id, "2026-10");
    auto eb = b->GetEvaluation(id, "2026-10");
    ASSERT_TRUE(ea.ok() && eb.ok()) << id;
    EXPECT_EQ(ea->evaluation, eb->evaluation) << id;
    cg::v1::Evaluation e;
    ASSERT_TRUE(e.ParseFromString(ea->evaluation));
    EXPECT_EQ(e.subject().id(), id);
    EXPECT_EQ(e.parameter_digest().size(), 32u);
    EXPECT_EQ(e.evidence_digest().size(), 32u);
    EXPECT_EQ(e.joint_grade().scale(), "sz-six-level");
    EXPECT_EQ(e.joint_grade().grade(), ea->grade);
    EXPECT_LE(e.reasons_size(), 4);
  }
}

TEST_F(BatchEvaluationTest, ComparesWithThePreviousPeriod) {
  auto store = LoadedStore("a.db");
  // The same grades as an earlier period: copy them under 2026-09.
  auto load = store->BeginLoad(mapping::FeedKind::kSzGrades);
  ASSERT_TRUE(load.ok());
  uint64_t copied = 0;
  std::vector<mapping::SzGradeRecord> rows;
  ASSERT_TRUE(store
                  ->ScanSzGrades("2026-10",
                                 [&](const mapping::SzGradeRecord& r) {
                                   rows.push_back(r);
                                   return OkStatus();
                                 })
                  .ok());
  for (auto r : rows) {
    r.period = "2026-09";
    ASSERT_TRUE((*load)->Put(r).ok());
    ++copied;
  }
  ASSERT_TRUE((*load)->Commit({"copy", copied, 0}).ok());
  BatchOptions options;
  options.period = "2026-09";
  ASSERT_TRUE(EvaluatePeriod(*store, options).ok());
  options.period = "2026-10";
  auto summary = EvaluatePeriod(*store, options);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->previous_period, "2026-09");
  uint64_t compared = 0;
  for (const auto& t : summary->transitions) {
    EXPECT_FALSE(t.from.empty());
    compared += t.count;
  }
  EXPECT_EQ(compared, summary->evaluated);
}

TEST_F(BatchEvaluationTest, HongKongNodeEvaluatesItsBureauEntities) {
  auto store = LoadedStore("a.db");
  BatchOptions options;
  options.period = "2026-10";
  options.side = HomeSide::kHongKong;
  options.scales = {mapping::HongKongBureauScale(), mapping::ShenzhenSixLevelScale()};
  auto summary = EvaluatePeriod(*store, options);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->evaluated, *store->CountRows(mapping::FeedKind::kHkBureau));
  std::string hk_id;
  ASSERT_TRUE(store
                  ->ScanHkBureau([&](const mapping::HkBureauRecord& r) {
                    if (hk_id.empty()) hk_id = r.entity_id;
                    return OkStatus();
                  })
                  .ok());
  auto stored = store->GetEvaluation(hk_id, "2026-10");
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  cg::v1::Evaluation e;
  ASSERT_TRUE(e.ParseFromString(stored->evaluation));
  EXPECT_EQ(e.joint_grade().scale(), "hk-bureau");
  EXPECT_EQ(e.native_grade().scale(), "hk-bureau");
  EXPECT_EQ(e.subject().jurisdiction(), "HK");
  ASSERT_EQ(e.other_grades_size(), 1);
  EXPECT_EQ(e.other_grades(0).scale(), "sz-six-level");
}

TEST_F(BatchEvaluationTest, RefusesBadPeriodsAndEmptyStores) {
  auto store = Store::Open("sqlite::memory:");
  ASSERT_TRUE(store.ok());
  BatchOptions options;
  options.period = "2026-13";
  EXPECT_EQ(EvaluatePeriod(**store, options).status().code(), StatusCode::kInvalidArgument);
  options.period = "2026-10";
  auto empty = EvaluatePeriod(**store, options);
  EXPECT_EQ(empty.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(empty.status().message().find("load them first"), std::string::npos);
}

}  // namespace
}  // namespace cg::gateway
