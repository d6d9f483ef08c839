#include "gateway/batch_evaluation.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "crypto/ed25519.h"
#include "gateway/entity_statement.h"
#include "gateway/ownership_chains.h"
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

// A Shenzhen firm held 60% by a Hong Kong company the Shenzhen feed knows nothing
// more of; the Hong Kong node's statement says a person owns 80% of that company.
TEST_F(BatchEvaluationTest, PenetratesAcrossTheBorderThroughAnEntityStatement) {
  const std::string firm = "uscc:91440300MA5G2U7B88";
  const std::string parent = "hkbrn:12345678";
  const std::string owner = *pseudonymizer_.Pseudonymize("A123456(7)");
  auto add_firm = [&](Store& store) {
    auto grades = store.BeginLoad(mapping::FeedKind::kSzGrades);
    ASSERT_TRUE(grades.ok());
    mapping::SzGradeRecord g;
    g.entity_id = firm;
    g.name = "Qianhai Trading Co";
    g.period = "2026-10";
    g.grade = "A";
    g.industry = "F51";
    g.dimensions = {80, 80, 80, 80, 80};
    ASSERT_TRUE((*grades)->Put(g).ok());
    ASSERT_TRUE((*grades)->Commit({"extra-grades.csv", 1, 0}).ok());
    auto holdings = store.BeginLoad(mapping::FeedKind::kOwnership);
    ASSERT_TRUE(holdings.ok());
    mapping::OwnershipRecord h;
    h.holder_id = parent;
    h.holder_jurisdiction = "HK";
    h.owned_id = firm;
    h.share = h.voting = 0.6;
    h.as_of = "2026-10-01";
    ASSERT_TRUE((*holdings)->Put(h).ok());
    ASSERT_TRUE((*holdings)->Commit({"extra-ownership.csv", 1, 0}).ok());
  };
  const crypto::SigningKey hk_key = crypto::SigningKey::Generate();
  auto add_statement = [&](Store& store) {
    cg::v1::Evaluation hk;
    hk.mutable_subject()->set_id(parent);
    hk.mutable_subject()->set_scheme(cg::v1::ID_SCHEME_HKBRN);
    hk.set_period("2026-10");
    hk.set_native_pd(0.3);
    hk.set_joint_pd(0.32);
    auto* bo = hk.mutable_equity()->add_beneficial_owners();
    bo->set_holder_id(owner);
    bo->set_integrated_share(0.8);
    cg::v1::Issuer issuer;
    issuer.set_node_id("hk-node-1");
    issuer.set_side("hk");
    // Issued 2026-10-20T00:00:00Z, valid 35 days.
    const Clock::time_point issued{std::chrono::seconds(1792454400)};
    auto statement = MakeEntityStatement(hk, issuer, issued, kDefaultStatementValidity);
    auto envelope = SignEntityStatement(statement, hk_key);
    ASSERT_TRUE(envelope.ok()) << envelope.status().ToString();
    statement.mutable_issuer()->set_key_id(hk_key.key_id());
    statement.set_version(1);
    const std::vector<StoredEntityStatement> rows = {
        ToStoredEntityStatement(statement, *envelope, issued)};
    ASSERT_TRUE(store.PutEntityStatements(rows).ok());
  };

  auto plain = LoadedStore("plain.db");
  auto a = LoadedStore("a.db");
  auto b = LoadedStore("b.db");
  for (Store* store : {plain.get(), a.get(), b.get()}) add_firm(*store);
  add_statement(*a);
  add_statement(*b);
  BatchOptions one;
  one.period = "2026-10";
  one.threads = 1;
  BatchOptions four = one;
  four.threads = 4;
  auto without = EvaluatePeriod(*plain, one);
  auto with_one = EvaluatePeriod(*a, one);
  auto with_four = EvaluatePeriod(*b, four);
  ASSERT_TRUE(without.ok() && with_one.ok() && with_four.ok());
  EXPECT_EQ(without->entity_statements_used, 0u);
  EXPECT_EQ(with_one->entity_statements_used, 1u);
  EXPECT_EQ(with_four->entity_statements_used, 1u);
  EXPECT_EQ(with_one->entity_statements_rejected, 0u);
  // The parent no longer carries the prior PD (NO_NATIVE_DATA).
  EXPECT_EQ(with_one->foreign_entities_without_native_data + 1,
            without->foreign_entities_without_native_data);

  auto evaluation = [&](Store& store) {
    auto stored = store.GetEvaluation(firm, "2026-10");
    EXPECT_TRUE(stored.ok()) << stored.status().ToString();
    cg::v1::Evaluation e;
    EXPECT_TRUE(stored.ok() && e.ParseFromString(stored->evaluation));
    return e;
  };
  const cg::v1::Evaluation before = evaluation(*plain);
  const cg::v1::Evaluation after = evaluation(*a);
  EXPECT_TRUE(before.equity().no_identifiable_beneficial_owner());
  ASSERT_EQ(after.equity().beneficial_owners_size(), 1);
  EXPECT_EQ(after.equity().beneficial_owners(0).holder_id(), owner);
  EXPECT_NEAR(after.equity().beneficial_owners(0).integrated_share(), 0.48, 1e-9);
  EXPECT_FALSE(after.equity().no_identifiable_beneficial_owner());
  EXPECT_TRUE(after.equity().crosses_border());
  // The parent's stated PD (30%) is riskier than the prior (2%).
  EXPECT_GT(after.joint_pd(), before.joint_pd());
  EXPECT_GT(after.native_pd(), 0);
  EXPECT_NE(after.evidence_digest(), before.evidence_digest());
  for (const auto& r : after.reasons()) EXPECT_NE(r.code(), "NO_NATIVE_DATA");

  // Bit-identical with 1 and 4 threads.
  ASSERT_TRUE(a->ScanSzGrades("2026-10", [&](const mapping::SzGradeRecord& r) -> Status {
                 auto ea = a->GetEvaluation(r.entity_id, "2026-10");
                 auto eb = b->GetEvaluation(r.entity_id, "2026-10");
                 EXPECT_TRUE(ea.ok() && eb.ok()) << r.entity_id;
                 if (ea.ok() && eb.ok()) {
                   EXPECT_EQ(ea->evaluation, eb->evaluation) << r.entity_id;
                 }
                 return OkStatus();
               }).ok());

  // explain shows the chain through the statement.
  auto chains = ExplainOwnership(*a, firm, "CN-SZ", "2026-10", mapping::PenetrationParams{});
  ASSERT_TRUE(chains.ok()) << chains.status().ToString();
  bool found = false;
  for (const auto& chain : *chains) {
    if (chain.links.back().id != owner) continue;
    found = true;
    ASSERT_EQ(chain.links.size(), 3u);
    EXPECT_EQ(chain.links[1].id, parent);
    EXPECT_TRUE(chain.links[1].via_statement.empty());
    EXPECT_EQ(chain.links[2].via_statement, "hk-node-1");
    EXPECT_TRUE(chain.via_statement);
    EXPECT_NEAR(chain.product, 0.48, 1e-9);
  }
  EXPECT_TRUE(found);

  // A statement for a later period than the one evaluated is not used.
  BatchOptions earlier = one;
  earlier.period = "2026-09";
  auto september = EvaluatePeriod(*a, earlier);
  if (september.ok()) {
    EXPECT_EQ(september->entity_statements_used, 0u);
  }
}

}  // namespace
}  // namespace cg::gateway
