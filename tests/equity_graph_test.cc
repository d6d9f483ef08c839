#include "mapping/equity_graph.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace cg::mapping {
namespace {

using ::testing::ElementsAre;

// Builds small graphs by name: Person("P1"), Company("A", "HK"), Hold("P1", "A", 0.6).
class GraphMaker {
 public:
  explicit GraphMaker(OverSubscribedHolders policy = OverSubscribedHolders::kReject)
      : builder_(policy) {}

  NodeIndex Person(std::string_view id, std::string_view jurisdiction = "CN-SZ") {
    names_.emplace_back(id);
    return builder_.AddNode(id, NodeKind::kNaturalPerson, jurisdiction, false);
  }
  NodeIndex Company(std::string_view id, std::string_view jurisdiction = "CN-SZ",
                    bool shell = false) {
    names_.emplace_back(id);
    return builder_.AddNode(id, NodeKind::kEntity, jurisdiction, shell);
  }
  void Hold(std::string_view holder, std::string_view owned, double share,
            std::optional<double> voting = std::nullopt) {
    const Status s = builder_.AddHolding(Index(holder), Index(owned), share, voting);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  NodeIndex Index(std::string_view id) const {
    auto it = std::find(names_.begin(), names_.end(), id);
    return it == names_.end() ? kNoNode : static_cast<NodeIndex>(it - names_.begin());
  }
  EquityGraphBuilder& builder() { return builder_; }
  EquityGraph Build() {
    auto g = std::move(builder_).Build();
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return std::move(g).value();
  }

 private:
  EquityGraphBuilder builder_;
  std::vector<std::string> names_;
};

EquityPenetrator MakePenetrator(const EquityGraph& g, PenetrationParams params = {}) {
  auto p = EquityPenetrator::Create(g, std::move(params));
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return std::move(p).value();
}

Penetration PenetrateOk(const EquityPenetrator& p, NodeIndex target) {
  auto r = p.Penetrate(target);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

double ShareOf(const Penetration& p, NodeIndex node) {
  for (const OwnerShare& o : p.ultimate_owners) {
    if (o.node == node) return o.share;
  }
  return 0;
}

double Accounted(const Penetration& p) {
  double sum = p.unknown_share + p.ring_owned_share + p.dropped_share;
  for (const OwnerShare& o : p.ultimate_owners) sum += o.share;
  return sum;
}

std::vector<std::string> Ids(const EquityGraph& g, const std::vector<NodeIndex>& nodes) {
  std::vector<std::string> ids;
  for (NodeIndex n : nodes) ids.emplace_back(g.id(n));
  return ids;
}

// P1 60% of A, P2 70% of B, A 30% of B, B 40% of A, A 51% and B 49% of C.
GraphMaker IssueExample() {
  GraphMaker m;
  m.Person("P1");
  m.Person("P2");
  m.Company("A");
  m.Company("B");
  m.Company("C");
  m.Hold("P1", "A", 0.6);
  m.Hold("P2", "B", 0.7);
  m.Hold("A", "B", 0.3);
  m.Hold("B", "A", 0.4);
  m.Hold("A", "C", 0.51);
  m.Hold("B", "C", 0.49);
  return m;
}

// ---------------------------------------------------------------------------------
// The graph and its validation

TEST(EquityGraphTest, LaysOutBothDirectionsSortedByNode) {
  GraphMaker m;
  m.Company("T", "HK", true);
  m.Company("A", "VG");
  m.Person("P", "CN-SZ");
  m.Hold("P", "T", 0.2);
  m.Hold("A", "T", 0.3);
  m.Hold("P", "A", 1.0);
  m.Hold("P", "T", 0.1);  // a second share class: adds up
  EquityGraph g = m.Build();

  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g.edge_count(), 2u + 1u);
  EXPECT_EQ(g.id(0), "T");
  EXPECT_EQ(g.jurisdiction(1), "VG");
  EXPECT_TRUE(g.shell(0));
  EXPECT_FALSE(g.shell(1));
  EXPECT_EQ(g.kind(2), NodeKind::kNaturalPerson);
  EXPECT_EQ(g.FindNode("A"), 1u);
  EXPECT_EQ(g.FindNode("nobody"), std::nullopt);

  auto holders = g.holders_of(0);
  ASSERT_EQ(holders.size(), 2u);
  EXPECT_EQ(holders[0].node, 1u);
  EXPECT_DOUBLE_EQ(holders[0].share(), 0.3);
  EXPECT_EQ(holders[1].node, 2u);
  EXPECT_EQ(holders[1].share_ppb, 300'000'000u);
  EXPECT_EQ(holders[1].voting_ppb, 300'000'000u);  // voting defaults to the share

  auto holdings = g.holdings_of(2);
  ASSERT_EQ(holdings.size(), 2u);
  EXPECT_EQ(holdings[0].node, 0u);
  EXPECT_EQ(holdings[1].node, 1u);
  EXPECT_TRUE(g.holders_of(2).empty());
}

TEST(EquityGraphTest, RejectsBadHoldingsWithTheirCode) {
  EquityGraphBuilder b;
  const NodeIndex p = b.AddNode("person:1", NodeKind::kNaturalPerson, "HK", false);
  const NodeIndex a = b.AddNode("hkcrn:1", NodeKind::kEntity, "HK", false);
  const NodeIndex c = b.AddNode("hkcrn:2", NodeKind::kEntity, "HK", false);

  EXPECT_EQ(b.AddHolding(p, a, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.AddHolding(p, a, -0.1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.AddHolding(p, a, 1.01).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.AddHolding(p, a, 1e-12).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.AddHolding(p, a, std::numeric_limits<double>::quiet_NaN()).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(b.AddHolding(p, a, 0.5, 1.5).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.AddHolding(p, a, 0.5, -0.5).code(), StatusCode::kInvalidArgument);
  const Status self = b.AddHolding(a, a, 0.5);
  EXPECT_EQ(self.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(self.message().find("hkcrn:1"), std::string::npos) << self.message();
  EXPECT_EQ(b.AddHolding(a, p, 0.5).code(), StatusCode::kInvalidArgument);  // owns a person
  EXPECT_EQ(b.AddHolding(p, 7, 0.5).code(), StatusCode::kOutOfRange);

  EXPECT_TRUE(b.AddHolding(p, a, 1.0, 0.0).ok());  // non-voting shares are fine
  EXPECT_TRUE(b.AddHolding(a, c, 0.5).ok());
  auto g = std::move(b).Build();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->edge_count(), 2u);  // rejected holdings left nothing behind
}

TEST(EquityGraphTest, RejectsDuplicateAndEmptyIds) {
  {
    EquityGraphBuilder b;
    b.AddNode("uscc:X", NodeKind::kEntity, "CN-SZ", false);
    b.AddNode("uscc:X", NodeKind::kEntity, "CN-SZ", false);
    auto g = std::move(b).Build();
    EXPECT_EQ(g.status().code(), StatusCode::kAlreadyExists);
    EXPECT_NE(g.status().message().find("uscc:X"), std::string::npos);
  }
  {
    EquityGraphBuilder b;
    b.AddNode("", NodeKind::kEntity, "CN-SZ", false);
    EXPECT_EQ(std::move(b).Build().status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(EquityGraphTest, RejectsHoldersOverOneHundredPercent) {
  GraphMaker m;
  m.Company("uscc:T");
  m.Person("P");
  m.Person("Q");
  m.Hold("P", "uscc:T", 0.7);
  m.Hold("Q", "uscc:T", 0.5);
  auto g = std::move(m.builder()).Build();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(g.status().message().find("'uscc:T'"), std::string::npos) << g.status().message();
  EXPECT_NE(g.status().message().find("120%"), std::string::npos) << g.status().message();
}

TEST(EquityGraphTest, RejectsVotingOverOneHundredPercent) {
  GraphMaker m;
  m.Company("T");
  m.Person("P");
  m.Person("Q");
  m.Hold("P", "T", 0.5, 0.9);
  m.Hold("Q", "T", 0.5, 0.9);
  auto g = std::move(m.builder()).Build();
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(g.status().message().find("voting"), std::string::npos) << g.status().message();
}

TEST(EquityGraphTest, NormalisesOverSubscribedHoldersWhenAskedAndFlagsThem) {
  GraphMaker m(OverSubscribedHolders::kNormalise);
  m.Company("T");
  m.Company("U");
  m.Person("P");
  m.Person("Q");
  m.Hold("P", "T", 0.7);
  m.Hold("Q", "T", 0.5);
  m.Hold("T", "U", 1.0);
  EquityGraph g = m.Build();
  EXPECT_TRUE(g.normalised(0));
  EXPECT_FALSE(g.normalised(1));
  auto holders = g.holders_of(0);
  EXPECT_EQ(holders[0].share_ppb + holders[1].share_ppb, kShareScale);
  EXPECT_NEAR(holders[0].share(), 0.7 / 1.2, 1e-9);

  EquityPenetrator p = MakePenetrator(g);
  Penetration u = PenetrateOk(p, 1);
  EXPECT_TRUE(u.normalised_on_chain);
  EXPECT_NEAR(ShareOf(u, 2) + ShareOf(u, 3), 1.0, 1e-15);
  EXPECT_EQ(u.unknown_share, 0);
}

TEST(EquityGraphTest, RoundingToPartsPerBillionIsNotOverSubscription) {
  GraphMaker m;
  m.Company("T");
  for (int i = 0; i < 7; ++i) {
    const std::string id = "P" + std::to_string(i);
    m.Person(id);
    m.Hold(id, "T", 1.0 / 7);  // each rounds up to 142857143 ppb
  }
  EquityGraph g = m.Build();
  std::uint64_t sum = 0;
  for (const Holding& h : g.holders_of(0)) sum += h.share_ppb;
  EXPECT_EQ(sum, kShareScale);
  EXPECT_FALSE(g.normalised(0));
}

// ---------------------------------------------------------------------------------
// Integrated ownership

TEST(EquityPenetrationTest, IssueExampleSharesAndController) {
  GraphMaker m = IssueExample();
  EquityGraph g = m.Build();
  EquityPenetrator p = MakePenetrator(g);
  Penetration c = PenetrateOk(p, m.Index("C"));

  // The 2x2 systems: a = 0.6 + 0.4 b, b = 0.3 a (P1's shares of A and B), and
  // b' = 0.7 + 0.3 a', a' = 0.4 b' (P2's).
  const double a1 = 0.6 / (1 - 0.4 * 0.3);
  const double b1 = 0.3 * a1;
  const double b2 = 0.7 / (1 - 0.4 * 0.3);
  const double a2 = 0.4 * b2;
  const double p1 = 0.51 * a1 + 0.49 * b1;
  const double p2 = 0.51 * a2 + 0.49 * b2;
  EXPECT_NEAR(p1, 0.4479545, 1e-7);
  EXPECT_NEAR(p2, 0.5520454, 1e-7);

  ASSERT_EQ(c.ultimate_owners.size(), 2u);
  EXPECT_EQ(c.ultimate_owners[0].node, m.Index("P2"));  // sorted by share
  EXPECT_NEAR(ShareOf(c, m.Index("P1")), p1, 1e-9);
  EXPECT_NEAR(ShareOf(c, m.Index("P2")), p2, 1e-9);
  EXPECT_EQ(c.unknown_share, 0);
  EXPECT_EQ(c.ring_owned_share, 0);
  EXPECT_LT(c.dropped_share, 1e-9);
  EXPECT_NEAR(Accounted(c), 1.0, 1e-15);
  EXPECT_FALSE(c.self_owned_ring);
  EXPECT_FALSE(c.ring_not_converged);
  EXPECT_TRUE(c.ring_on_chain);

  ASSERT_TRUE(c.controller.has_value());
  EXPECT_EQ(*c.controller, m.Index("P1"));
  EXPECT_FALSE(c.control_ring);
  EXPECT_EQ(p.controller_of(m.Index("A")), m.Index("P1"));
  EXPECT_EQ(p.controller_of(m.Index("B")), m.Index("P2"));
}

TEST(EquityPenetrationTest, ChainsMultiply) {
  GraphMaker m;
  m.Company("T");
  m.Company("B");
  m.Company("A");
  m.Person("P");
  m.Person("Q");
  m.Person("R");
  m.Hold("B", "T", 1.0);
  m.Hold("A", "B", 0.5);
  m.Hold("Q", "B", 0.5);
  m.Hold("P", "A", 0.6);
  m.Hold("R", "A", 0.4);
  EquityGraph g = m.Build();
  Penetration t = PenetrateOk(MakePenetrator(g), 0);
  EXPECT_DOUBLE_EQ(ShareOf(t, m.Index("P")), 0.3);
  EXPECT_DOUBLE_EQ(ShareOf(t, m.Index("Q")), 0.5);
  EXPECT_DOUBLE_EQ(ShareOf(t, m.Index("R")), 0.2);
  EXPECT_EQ(t.dropped_share, 0);  // no ring: exact
  EXPECT_FALSE(t.ring_on_chain);
}

TEST(EquityPenetrationTest, ParallelChainsAdd) {
  GraphMaker m;
  m.Company("T");
  m.Company("A");
  m.Company("B");
  m.Person("P");
  m.Person("Q");
  m.Hold("A", "T", 0.5);
  m.Hold("B", "T", 0.5);
  m.Hold("P", "A", 0.5);
  m.Hold("Q", "A", 0.5);
  m.Hold("P", "B", 0.5);
  m.Hold("Q", "B", 0.5);
  EquityGraph g = m.Build();
  Penetration t = PenetrateOk(MakePenetrator(g), 0);
  EXPECT_DOUBLE_EQ(ShareOf(t, m.Index("P")), 0.5);
  EXPECT_DOUBLE_EQ(ShareOf(t, m.Index("Q")), 0.5);
  EXPECT_EQ(t.controller, std::nullopt);  // 50% is not a majority
}

TEST(EquityPenetrationTest, UnknownRemainderIsReportedAndNeverInflatesOthers) {
  GraphMaker m;
  m.Company("T");
  m.Company("A");
  m.Person("P");
  m.Person("Q");
  m.Hold("P", "T", 0.3);
  m.Hold("A", "T", 0.2);
  m.Hold("Q", "A", 0.5);  // A's other half is unknown too
  EquityGraph g = m.Build();
  Penetration t = PenetrateOk(MakePenetrator(g), 0);
  EXPECT_DOUBLE_EQ(ShareOf(t, m.Index("P")), 0.3);
  EXPECT_DOUBLE_EQ(ShareOf(t, m.Index("Q")), 0.1);
  EXPECT_DOUBLE_EQ(t.unknown_share, 0.6);
  EXPECT_NEAR(Accounted(t), 1.0, 1e-15);
  EXPECT_EQ(t.controller, std::nullopt);
}

TEST(EquityPenetrationTest, TopEntitiesAreUltimateOwnersAndControllers) {
  GraphMaker m;
  m.Company("T");
  m.Company("State", "CN");
  m.Company("Listed", "HK");
  m.Hold("State", "T", 0.6);
  m.Hold("Listed", "T", 0.4);
  EquityGraph g = m.Build();
  EquityPenetrator p = MakePenetrator(g);
  Penetration t = PenetrateOk(p, 0);
  EXPECT_DOUBLE_EQ(ShareOf(t, 1), 0.6);
  EXPECT_DOUBLE_EQ(ShareOf(t, 2), 0.4);
  EXPECT_EQ(t.controller, 1u);
  EXPECT_TRUE(t.beneficial_owners.empty());  // no natural person
  EXPECT_TRUE(t.no_identifiable_beneficial_owner);
  EXPECT_TRUE(t.crosses_border);

  Penetration state = PenetrateOk(p, 1);  // a top entity owns and controls itself
  ASSERT_EQ(state.ultimate_owners.size(), 1u);
  EXPECT_EQ(state.ultimate_owners[0].node, 1u);
  EXPECT_EQ(state.ultimate_owners[0].share, 1.0);
  EXPECT_EQ(state.controller, 1u);
}

TEST(EquityPenetrationTest, RingOwningItselfIsFlaggedAndItsMassKept) {
  GraphMaker m;
  m.Company("T");
  m.Company("A");
  m.Company("B");
  m.Person("P");
  m.Hold("A", "T", 0.6);
  m.Hold("P", "T", 0.4);
  m.Hold("B", "A", 1.0);
  m.Hold("A", "B", 1.0);
  EquityGraph g = m.Build();
  EquityPenetrator p = MakePenetrator(g);
  Penetration t = PenetrateOk(p, 0);
  EXPECT_DOUBLE_EQ(ShareOf(t, m.Index("P")), 0.4);
  EXPECT_DOUBLE_EQ(t.ring_owned_share, 0.6);
  EXPECT_TRUE(t.self_owned_ring);
  EXPECT_TRUE(t.ring_on_chain);
  EXPECT_EQ(t.dropped_share, 0);
  EXPECT_FALSE(t.ring_not_converged);
  EXPECT_NEAR(Accounted(t), 1.0, 1e-15);

  Penetration a = PenetrateOk(p, m.Index("A"));
  EXPECT_DOUBLE_EQ(a.ring_owned_share, 1.0);
  EXPECT_TRUE(a.ultimate_owners.empty());
  EXPECT_TRUE(a.control_ring);  // A and B control each other, nobody controls them
}

TEST(EquityPenetrationTest, SmallContributionsAreDroppedAndCounted) {
  GraphMaker m;
  m.Company("T");
  m.Person("P");
  m.Person("Q");
  m.Hold("P", "T", 0.995);
  m.Hold("Q", "T", 0.005);
  EquityGraph g = m.Build();
  PenetrationParams params;
  params.epsilon = 0.01;
  Penetration t = PenetrateOk(MakePenetrator(g, params), 0);
  ASSERT_EQ(t.ultimate_owners.size(), 1u);
  EXPECT_DOUBLE_EQ(t.dropped_share, 0.005);
  EXPECT_NEAR(Accounted(t), 1.0, 1e-15);
}

TEST(EquityPenetrationTest, RingThatBarelyLeaksStopsAtTheSweepCap) {
  GraphMaker m;
  m.Company("A");
  m.Company("B");
  m.Person("P");
  m.Hold("B", "A", 0.999);
  m.Hold("P", "A", 0.001);
  m.Hold("A", "B", 1.0);
  EquityGraph g = m.Build();
  PenetrationParams params;
  params.max_ring_sweeps = 10;
  Penetration a = PenetrateOk(MakePenetrator(g, params), 0);
  EXPECT_TRUE(a.ring_not_converged);
  EXPECT_GT(a.dropped_share, 0.9);
  EXPECT_NEAR(Accounted(a), 1.0, 1e-12);

  Penetration converged = PenetrateOk(MakePenetrator(g), 0);  // 1000 sweeps: ~1/e left
  EXPECT_TRUE(converged.ring_not_converged);
  params.max_ring_sweeps = 100'000;
  Penetration exact = PenetrateOk(MakePenetrator(g, params), 0);
  EXPECT_FALSE(exact.ring_not_converged);
  EXPECT_NEAR(ShareOf(exact, m.Index("P")), 1.0, 1e-8);
}

TEST(EquityPenetrationTest, RejectsBadTargetAndParams) {
  GraphMaker m = IssueExample();
  EquityGraph g = m.Build();
  EquityPenetrator p = MakePenetrator(g);
  EXPECT_EQ(p.Penetrate(99).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(p.Explain(99).status().code(), StatusCode::kOutOfRange);

  auto bad = [&](auto mutate) {
    PenetrationParams params;
    mutate(params);
    return EquityPenetrator::Create(g, params).status().code();
  };
  EXPECT_EQ(bad([](PenetrationParams& q) { q.epsilon = 0; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PenetrationParams& q) { q.epsilon = 0.5; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PenetrationParams& q) { q.max_ring_sweeps = 0; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PenetrationParams& q) { q.control_threshold = 0.4; }),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PenetrationParams& q) { q.default_beneficial_owner_rule.threshold = 0; }),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PenetrationParams& q) { q.secrecy_jurisdictions.push_back(""); }),
            StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------
// Control

TEST(EquityControlTest, HolderCountsTheCompaniesItAlreadyControls) {
  GraphMaker m;
  m.Company("T");
  m.Company("A");
  m.Person("P");
  m.Person("Q");
  m.Person("R");
  m.Hold("P", "T", 0.3);
  m.Hold("A", "T", 0.25);
  m.Hold("Q", "T", 0.45);
  m.Hold("P", "A", 0.51);
  m.Hold("R", "A", 0.49);
  EquityGraph g = m.Build();
  Penetration t = PenetrateOk(MakePenetrator(g), 0);
  EXPECT_EQ(t.controller, m.Index("P"));  // 30% + 25% through A
  EXPECT_NEAR(ShareOf(t, m.Index("P")), 0.3 + 0.25 * 0.51, 1e-15);
}

TEST(EquityControlTest, VotingRightsDecideNotCashFlow) {
  GraphMaker m;
  m.Company("T");
  m.Person("P");
  m.Person("Q");
  m.Hold("P", "T", 0.2, 0.6);
  m.Hold("Q", "T", 0.8, 0.4);
  EquityGraph g = m.Build();
  Penetration t = PenetrateOk(MakePenetrator(g), 0);
  EXPECT_EQ(t.controller, m.Index("P"));
  EXPECT_DOUBLE_EQ(ShareOf(t, m.Index("Q")), 0.8);
}

TEST(EquityControlTest, ControlRingWithoutOutsideControllerIsFlagged) {
  GraphMaker m;
  m.Company("A");
  m.Company("B");
  m.Company("C");
  m.Person("P1");
  m.Person("P2");
  m.Hold("B", "A", 0.6);
  m.Hold("P1", "A", 0.4);
  m.Hold("A", "B", 0.6);
  m.Hold("P2", "B", 0.4);
  m.Hold("A", "C", 1.0);
  EquityGraph g = m.Build();
  EquityPenetrator p = MakePenetrator(g);
  for (const char* id : {"A", "B", "C"}) {
    Penetration t = PenetrateOk(p, m.Index(id));
    EXPECT_EQ(t.controller, std::nullopt) << id;
    EXPECT_TRUE(t.control_ring) << id;
    EXPECT_FALSE(t.self_owned_ring) << id;  // P1 and P2 own it in the end
    EXPECT_NEAR(ShareOf(t, m.Index("P1")) + ShareOf(t, m.Index("P2")), 1.0, 1e-9) << id;
  }
}

TEST(EquityControlTest, RingWithOutsideControllerIsNoControlRing) {
  GraphMaker m;
  m.Company("A");
  m.Company("B");
  m.Person("P");
  m.Person("Q");
  m.Hold("B", "A", 0.3);
  m.Hold("P", "A", 0.7);
  m.Hold("A", "B", 0.6);
  m.Hold("Q", "B", 0.4);
  EquityGraph g = m.Build();
  EquityPenetrator p = MakePenetrator(g);
  Penetration b = PenetrateOk(p, m.Index("B"));
  EXPECT_EQ(b.controller, m.Index("P"));
  EXPECT_FALSE(b.control_ring);
}

// ---------------------------------------------------------------------------------
// Beneficial owners

// P holds 60% of I, I holds 40% of T, Q holds 60% of T directly.
GraphMaker IntermediaryExample(std::string_view target_jurisdiction) {
  GraphMaker m;
  m.Company("T", target_jurisdiction);
  m.Company("I", "HK");
  m.Person("P", "HK");
  m.Person("Q", "HK");
  m.Person("R", "HK");
  m.Hold("I", "T", 0.4);
  m.Hold("Q", "T", 0.6);
  m.Hold("P", "I", 0.6);
  m.Hold("R", "I", 0.4);
  return m;
}

TEST(EquityBeneficialOwnerTest, MainlandAndHongKongRulesDiffer) {
  GraphMaker sz = IntermediaryExample("CN-SZ");
  EquityGraph gs = sz.Build();
  Penetration mainland = PenetrateOk(MakePenetrator(gs), 0);
  EXPECT_NEAR(ShareOf(mainland, sz.Index("P")), 0.24, 1e-15);
  ASSERT_EQ(mainland.beneficial_owners.size(), 1u);  // P's 24% is under 25%
  EXPECT_EQ(mainland.beneficial_owners[0].node, sz.Index("Q"));
  EXPECT_DOUBLE_EQ(mainland.beneficial_owners[0].share, 0.6);
  EXPECT_EQ(mainland.layers_to_beneficial_owner, 0u);

  GraphMaker hk = IntermediaryExample("HK");
  EquityGraph gh = hk.Build();
  Penetration hong_kong = PenetrateOk(MakePenetrator(gh), 0);
  ASSERT_EQ(hong_kong.beneficial_owners.size(), 2u);
  EXPECT_EQ(hong_kong.beneficial_owners[0].node, hk.Index("Q"));
  EXPECT_EQ(hong_kong.beneficial_owners[1].node, hk.Index("P"));
  EXPECT_DOUBLE_EQ(hong_kong.beneficial_owners[1].share, 0.4);  // I's whole holding
  EXPECT_EQ(hong_kong.beneficial_owners[1].layers, 1u);
  EXPECT_EQ(hong_kong.layers_to_beneficial_owner, 1u);
  EXPECT_FALSE(hong_kong.no_identifiable_beneficial_owner);
}

TEST(EquityBeneficialOwnerTest, RulesAreConfigurablePerJurisdiction) {
  GraphMaker m = IntermediaryExample("MO");
  EquityGraph g = m.Build();
  Penetration by_default = PenetrateOk(MakePenetrator(g), 0);
  EXPECT_EQ(by_default.beneficial_owners.size(), 1u);  // the default is multiplicative

  PenetrationParams params;
  params.beneficial_owner_rules.push_back({"MO", BeneficialOwnerRule::HongKong()});
  Penetration macao = PenetrateOk(MakePenetrator(g, params), 0);
  EXPECT_EQ(macao.beneficial_owners.size(), 2u);

  params.beneficial_owner_rules.back().rule.threshold = 0.5;
  Penetration strict = PenetrateOk(MakePenetrator(g, params), 0);
  ASSERT_EQ(strict.beneficial_owners.size(), 1u);
  EXPECT_EQ(strict.beneficial_owners[0].node, m.Index("Q"));
}

TEST(EquityBeneficialOwnerTest, ExactlyTwentyFivePercentMeetsOnlyTheMainlandRule) {
  for (const char* jurisdiction : {"CN-SZ", "HK"}) {
    GraphMaker m;
    m.Company("T", jurisdiction);
    m.Company("I");
    m.Person("P");
    m.Person("Q");
    m.Person("R");
    m.Hold("I", "T", 0.625);
    m.Hold("R", "T", 0.25);
    m.Hold("Q", "T", 0.125);
    m.Hold("P", "I", 0.4);  // 0.625 * 0.4 = 25% integrated, not a majority of I
    m.Hold("Q", "I", 0.6);
    EquityGraph g = m.Build();
    Penetration t = PenetrateOk(MakePenetrator(g), 0);
    std::vector<std::string> bos;
    for (const BeneficialOwner& b : t.beneficial_owners) bos.emplace_back(g.id(b.node));
    if (std::string_view(jurisdiction) == "CN-SZ") {
      // Q: 12.5% + 37.5% = 50%; P and R 25% each.
      EXPECT_THAT(bos, ElementsAre("Q", "P", "R"));
    } else {
      // Q: 12.5% direct + I's 62.5% (Q holds 60% of I) = 75%; R's 25% is not > 25%.
      EXPECT_THAT(bos, ElementsAre("Q"));
      EXPECT_DOUBLE_EQ(t.beneficial_owners[0].share, 0.75);
    }
  }
}

TEST(EquityBeneficialOwnerTest, LayersCountIntermediateCompaniesOnTheStrongestChain) {
  GraphMaker m;
  m.Company("T");
  m.Company("A");
  m.Company("B");
  m.Company("C");
  m.Person("P");
  m.Hold("A", "T", 0.3);
  m.Hold("B", "T", 0.7);
  m.Hold("P", "A", 1.0);  // P -> A -> T: 30%, one layer
  m.Hold("C", "B", 1.0);  // P -> C -> B -> T: 70%, two layers: the strongest
  m.Hold("P", "C", 1.0);
  EquityGraph g = m.Build();
  Penetration t = PenetrateOk(MakePenetrator(g), 0);
  ASSERT_EQ(t.beneficial_owners.size(), 1u);
  EXPECT_DOUBLE_EQ(t.beneficial_owners[0].share, 1.0);
  EXPECT_EQ(t.beneficial_owners[0].layers, 2u);
  EXPECT_EQ(t.layers_to_beneficial_owner, 2u);
}

TEST(EquityBeneficialOwnerTest, DispersedOwnershipHasNoIdentifiableBeneficialOwner) {
  GraphMaker m;
  m.Company("T");
  for (int i = 0; i < 5; ++i) {
    m.Person("P" + std::to_string(i));
    m.Hold("P" + std::to_string(i), "T", 0.2);
  }
  EquityGraph g = m.Build();
  Penetration t = PenetrateOk(MakePenetrator(g), 0);
  EXPECT_TRUE(t.no_identifiable_beneficial_owner);
  EXPECT_EQ(t.layers_to_beneficial_owner, 0u);
  EXPECT_EQ(t.controller, std::nullopt);
}

// ---------------------------------------------------------------------------------
// Opacity

// An SZ company held through a Hong Kong holding company and a BVI shell.
GraphMaker OffshoreExample() {
  GraphMaker m;
  m.Company("T", "CN-SZ");
  m.Company("H", "HK");
  m.Company("V", "VG", /*shell=*/true);
  m.Person("P", "HK");
  m.Person("S", "CN-SZ");
  m.Company("K", "KY");
  m.Hold("H", "T", 0.9);
  m.Hold("S", "T", 0.1);
  m.Hold("V", "H", 0.999);
  m.Hold("K", "H", 0.001);  // a trace through the Caymans
  m.Hold("P", "V", 1.0);
  return m;
}

TEST(EquityOpacityTest, SecrecyShellAndBorderFlags) {
  GraphMaker m = OffshoreExample();
  EquityGraph g = m.Build();
  Penetration t = PenetrateOk(MakePenetrator(g), 0);
  EXPECT_THAT(t.secrecy_jurisdictions, ElementsAre("KY", "VG"));
  EXPECT_TRUE(t.shell_on_chain);
  EXPECT_TRUE(t.crosses_border);
  EXPECT_FALSE(t.ring_on_chain);
  ASSERT_FALSE(t.beneficial_owners.empty());
  EXPECT_EQ(t.beneficial_owners[0].node, m.Index("P"));
  EXPECT_EQ(t.beneficial_owners[0].layers, 2u);

  PenetrationParams params;
  params.opacity_min_share = 0.01;  // ignore the trace
  Penetration material = PenetrateOk(MakePenetrator(g, params), 0);
  EXPECT_THAT(material.secrecy_jurisdictions, ElementsAre("VG"));

  params.secrecy_jurisdictions = {"KY"};
  params.opacity_min_share = 0;
  Penetration custom = PenetrateOk(MakePenetrator(g, params), 0);
  EXPECT_THAT(custom.secrecy_jurisdictions, ElementsAre("KY"));

  // The Hong Kong company's own structure stays outside the mainland.
  Penetration h = PenetrateOk(MakePenetrator(g), m.Index("H"));
  EXPECT_FALSE(h.crosses_border);
}

TEST(EquityOpacityTest, DomesticChainRaisesNoFlag) {
  GraphMaker m;
  m.Company("T", "CN-SZ");
  m.Company("A", "CN-GD");
  m.Person("P", "CN-SZ");
  m.Hold("A", "T", 1.0);
  m.Hold("P", "A", 1.0);
  EquityGraph g = m.Build();
  Penetration t = PenetrateOk(MakePenetrator(g), 0);
  EXPECT_TRUE(t.secrecy_jurisdictions.empty());
  EXPECT_FALSE(t.shell_on_chain);
  EXPECT_FALSE(t.crosses_border);
  EXPECT_FALSE(t.ring_on_chain);
  EXPECT_FALSE(t.normalised_on_chain);
}

// ---------------------------------------------------------------------------------
// Explain

TEST(EquityExplainTest, StrongestChainsToEachBeneficialOwner) {
  GraphMaker m = IssueExample();
  EquityGraph g = m.Build();
  EquityPenetrator p = MakePenetrator(g);
  auto chains = p.Explain(m.Index("C"));
  ASSERT_TRUE(chains.ok()) << chains.status().ToString();
  // Owners in Penetration order (P2 55.2%, then P1 44.8%), two simple chains each.
  ASSERT_EQ(chains->size(), 4u);
  EXPECT_THAT(Ids(g, (*chains)[0].nodes), ElementsAre("C", "B", "P2"));
  EXPECT_THAT((*chains)[0].shares, ElementsAre(0.49, 0.7));
  EXPECT_DOUBLE_EQ((*chains)[0].product, 0.49 * 0.7);
  EXPECT_THAT(Ids(g, (*chains)[1].nodes), ElementsAre("C", "A", "B", "P2"));
  EXPECT_DOUBLE_EQ((*chains)[1].product, 0.51 * 0.4 * 0.7);  // B holds 40% of A
  EXPECT_THAT(Ids(g, (*chains)[2].nodes), ElementsAre("C", "A", "P1"));
  EXPECT_DOUBLE_EQ((*chains)[2].product, 0.51 * 0.6);
  EXPECT_THAT(Ids(g, (*chains)[3].nodes), ElementsAre("C", "B", "A", "P1"));
  EXPECT_THAT((*chains)[3].shares, ElementsAre(0.49, 0.3, 0.6));  // A holds 30% of B
  for (const Chain& c : *chains) EXPECT_FALSE(c.crosses_border);

  auto one = p.Explain(m.Index("C"), 1);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 2u);
  EXPECT_THAT(Ids(g, (*one)[1].nodes), ElementsAre("C", "A", "P1"));
}

TEST(EquityExplainTest, ExpansionCapShortensTheListNeverCorruptsIt) {
  GraphMaker m = IssueExample();
  EquityGraph g = m.Build();
  PenetrationParams params;
  params.explain_max_expansions = 4;  // C, C-A, C-B and C-A-P1
  auto chains = MakePenetrator(g, params).Explain(m.Index("C"));
  ASSERT_TRUE(chains.ok());
  ASSERT_EQ(chains->size(), 1u);
  EXPECT_THAT(Ids(g, (*chains)[0].nodes), ElementsAre("C", "A", "P1"));
}

TEST(EquityExplainTest, BorderCrossingChainsAreMarked) {
  GraphMaker m = OffshoreExample();
  EquityGraph g = m.Build();
  auto chains = MakePenetrator(g).Explain(0);
  ASSERT_TRUE(chains.ok());
  ASSERT_EQ(chains->size(), 1u);  // P is the only beneficial owner
  const Chain& c = (*chains)[0];
  EXPECT_THAT(Ids(g, c.nodes), ElementsAre("T", "H", "V", "P"));
  EXPECT_TRUE(c.crosses_border);
  std::vector<std::string_view> jurisdictions;
  for (NodeIndex n : c.nodes) jurisdictions.push_back(g.jurisdiction(n));
  EXPECT_THAT(jurisdictions, ElementsAre("CN-SZ", "HK", "VG", "HK"));
  EXPECT_NEAR(c.product, 0.9 * 0.999, 1e-15);
}

TEST(EquityExplainTest, WithoutBeneficialOwnerExplainsTheUltimateOwners) {
  GraphMaker m;
  m.Company("T");
  m.Company("State", "CN");
  m.Person("P");
  m.Hold("State", "T", 0.9);
  m.Hold("P", "T", 0.1);
  EquityGraph g = m.Build();
  auto chains = MakePenetrator(g).Explain(0);
  ASSERT_TRUE(chains.ok());
  ASSERT_EQ(chains->size(), 2u);
  EXPECT_THAT(Ids(g, (*chains)[0].nodes), ElementsAre("T", "State"));
  EXPECT_THAT(Ids(g, (*chains)[1].nodes), ElementsAre("T", "P"));
}

// ---------------------------------------------------------------------------------
// Properties on random graphs

struct RandomGraph {
  EquityGraph graph;
  std::vector<NodeIndex> companies;
};

EquityGraph BuildOrDie(EquityGraphBuilder b) {
  auto g = std::move(b).Build();
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return std::move(g).value();
}

// Companies whose holders sum to exactly 100%, each with at least one natural person
// among them (so every ring has an outside owner), and company holders drawn from all
// companies (so rings form).
RandomGraph MakeRandomGraph(std::uint32_t seed, int persons, int companies, bool shuffle_edges) {
  std::mt19937 rng(seed);
  EquityGraphBuilder b;
  std::vector<NodeIndex> ids;
  for (int i = 0; i < persons; ++i) {
    b.AddNode("person:" + std::to_string(i), NodeKind::kNaturalPerson, "HK", false);
  }
  for (int i = 0; i < companies; ++i) {
    ids.push_back(b.AddNode("co:" + std::to_string(i), NodeKind::kEntity, "CN-SZ", false));
  }
  struct Edge {
    NodeIndex holder, owned;
    double share;
  };
  std::vector<Edge> edges;
  for (NodeIndex c : ids) {
    const int k = 1 + static_cast<int>(rng() % 4);
    std::vector<NodeIndex> holders = {static_cast<NodeIndex>(rng() % persons)};
    while (static_cast<int>(holders.size()) < k) {
      const NodeIndex h = ids[rng() % ids.size()];
      if (h != c && std::find(holders.begin(), holders.end(), h) == holders.end()) {
        holders.push_back(h);
      } else if (rng() % 4 == 0) {
        break;
      }
    }
    // Integer weights to ppb summing to exactly 100%, each at least ~5%.
    std::vector<std::uint64_t> w(holders.size());
    std::uint64_t total = 0;
    for (auto& x : w) total += (x = 1 + rng() % 10);
    std::uint64_t assigned = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      const std::uint64_t ppb =
          i + 1 == w.size() ? kShareScale - assigned : w[i] * kShareScale / total;
      assigned += ppb;
      edges.push_back({holders[i], c, static_cast<double>(ppb) / kShareScale});
    }
  }
  if (shuffle_edges) std::shuffle(edges.begin(), edges.end(), rng);
  for (const Edge& e : edges) EXPECT_TRUE(b.AddHolding(e.holder, e.owned, e.share).ok());
  return {BuildOrDie(std::move(b)), std::move(ids)};
}

TEST(EquityPropertyTest, OwnersSumToOneWhenHoldersSumToOneAndRingsHaveOutsideOwners) {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    RandomGraph r = MakeRandomGraph(seed, 30, 60, false);
    EquityPenetrator p = MakePenetrator(r.graph);
    bool saw_ring = false;
    for (NodeIndex c : r.companies) {
      Penetration t = PenetrateOk(p, c);
      double owned = 0;
      for (const OwnerShare& o : t.ultimate_owners) owned += o.share;
      EXPECT_NEAR(owned, 1.0, 1e-7) << "seed " << seed << " company " << r.graph.id(c);
      EXPECT_EQ(t.unknown_share, 0);
      EXPECT_EQ(t.ring_owned_share, 0);
      EXPECT_FALSE(t.ring_not_converged);
      EXPECT_NEAR(Accounted(t), 1.0, 1e-12);
      saw_ring |= t.ring_on_chain;
    }
    EXPECT_TRUE(saw_ring) << "seed " << seed << " made no ring";
  }
}

// The through-flow x of the target solves x (I - W) = e_target, W[c][h] being h's
// share of c; the ultimate owners' shares are x at the sinks.
std::vector<double> DenseLeontief(const EquityGraph& g, NodeIndex target) {
  const std::size_t n = g.size();
  std::vector<std::vector<double>> a(n, std::vector<double>(n + 1, 0.0));  // (I - W)^T | e
  for (std::size_t i = 0; i < n; ++i) a[i][i] = 1;
  for (NodeIndex c = 0; c < n; ++c) {
    for (const Holding& h : g.holders_of(c)) a[h.node][c] -= h.share();
  }
  a[target][n] = 1;
  for (std::size_t col = 0; col < n; ++col) {
    std::size_t pivot = col;
    for (std::size_t r = col + 1; r < n; ++r) {
      if (std::abs(a[r][col]) > std::abs(a[pivot][col])) pivot = r;
    }
    std::swap(a[col], a[pivot]);
    for (std::size_t r = 0; r < n; ++r) {
      if (r == col || a[r][col] == 0) continue;
      const double f = a[r][col] / a[col][col];
      for (std::size_t k = col; k <= n; ++k) a[r][k] -= f * a[col][k];
    }
  }
  std::vector<double> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = a[i][n] / a[i][i];
  return x;
}

TEST(EquityPropertyTest, MatchesTheDenseLeontiefSolution) {
  for (std::uint32_t seed = 100; seed < 105; ++seed) {
    RandomGraph r = MakeRandomGraph(seed, 10, 30, false);
    EquityPenetrator p = MakePenetrator(r.graph);
    for (NodeIndex c : r.companies) {
      const std::vector<double> x = DenseLeontief(r.graph, c);
      Penetration t = PenetrateOk(p, c);
      for (NodeIndex v = 0; v < r.graph.size(); ++v) {
        if (r.graph.kind(v) != NodeKind::kNaturalPerson) continue;
        EXPECT_NEAR(ShareOf(t, v), x[v], 1e-8) << "seed " << seed << " target " << c;
      }
    }
  }
}

bool SameResult(const Penetration& a, const Penetration& b) {
  auto same_owners = [](const auto& x, const auto& y) {
    return std::equal(x.begin(), x.end(), y.begin(), y.end(), [](const auto& p, const auto& q) {
      return p.node == q.node && p.share == q.share;
    });
  };
  return same_owners(a.ultimate_owners, b.ultimate_owners) &&
         same_owners(a.beneficial_owners, b.beneficial_owners) &&
         a.unknown_share == b.unknown_share && a.ring_owned_share == b.ring_owned_share &&
         a.dropped_share == b.dropped_share && a.controller == b.controller &&
         a.control_ring == b.control_ring &&
         a.layers_to_beneficial_owner == b.layers_to_beneficial_owner &&
         a.ring_on_chain == b.ring_on_chain;
}

TEST(EquityPropertyTest, BitIdenticalAcrossEdgeOrderAndThreads) {
  RandomGraph ordered = MakeRandomGraph(7, 200, 800, false);
  RandomGraph shuffled = MakeRandomGraph(7, 200, 800, true);
  EquityPenetrator p = MakePenetrator(ordered.graph);
  EquityPenetrator q = MakePenetrator(shuffled.graph);
  const std::size_t n = ordered.graph.size();

  std::vector<Penetration> threaded(n);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      PenetrationScratch scratch;
      for (NodeIndex v = t; v < n; v += 2) threaded[v] = q.Penetrate(v, scratch).value();
    });
  }
  for (std::thread& t : threads) t.join();
  for (NodeIndex v = 0; v < n; ++v) {
    EXPECT_TRUE(SameResult(PenetrateOk(p, v), threaded[v])) << "node " << v;
  }
}

// ---------------------------------------------------------------------------------
// Scale

// A synthetic shareholding graph with realistic shapes: heavy-tailed holder counts
// (Pareto, alpha 1.5) and heavy-tailed holders (a few persons and groups hold very
// many companies), mostly older companies holding newer ones, 2% of companies in a
// cross-holding pair, 10% with holders under 100%, 5% top entities, offshore layers.
EquityGraphBuilder HeavyTailedGraph(int persons, int companies, std::uint64_t seed,
                                    std::size_t& edges) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const char* jurisdictions[] = {"CN-SZ", "CN-SZ", "CN-SZ", "CN-GD", "HK", "HK", "VG", "KY"};
  EquityGraphBuilder b(OverSubscribedHolders::kNormalise);
  for (int i = 0; i < persons; ++i) {
    b.AddNode("person:" + std::to_string(i), NodeKind::kNaturalPerson,
              jurisdictions[rng() % 2 == 0 ? 0 : 4], false);
  }
  for (int i = 0; i < companies; ++i) {
    b.AddNode("co:" + std::to_string(i), NodeKind::kEntity, jurisdictions[rng() % 8],
              rng() % 50 == 0);
  }
  const auto company = [&](std::int64_t i) { return static_cast<NodeIndex>(persons + i); };
  std::vector<std::vector<NodeIndex>> ring_holders(companies);
  for (int i = 6; i < companies; ++i) {
    if (rng() % 50 != 0) continue;
    const int j = i - 1 - static_cast<int>(rng() % 5);
    ring_holders[i].push_back(company(j));
    ring_holders[j].push_back(company(i));
  }
  edges = 0;
  std::vector<NodeIndex> holders;
  std::vector<double> weights;
  for (int i = 0; i < companies; ++i) {
    holders = ring_holders[i];
    if (holders.empty() && rng() % 20 == 0) continue;  // a top entity
    const int k = std::min(300, static_cast<int>(std::pow(1 - u(rng), -1 / 1.5)) + 1);
    for (int j = 0; j < k; ++j) {
      if (u(rng) < 0.78) {
        holders.push_back(static_cast<NodeIndex>(persons * std::pow(u(rng), 3)));
      } else if (u(rng) < 0.97 && i > 0) {
        holders.push_back(company(static_cast<std::int64_t>(i * std::pow(u(rng), 2))));
      } else {
        holders.push_back(company(static_cast<std::int64_t>(rng() % companies)));
      }
    }
    weights.clear();
    double total = 0;
    for (std::size_t j = 0; j < holders.size(); ++j) total += weights.emplace_back(0.05 + u(rng));
    const double held = rng() % 10 == 0 ? 0.8 : 1.0;
    for (std::size_t j = 0; j < holders.size(); ++j) {
      if (holders[j] == company(i)) continue;
      const double share = std::max(1e-6, held * weights[j] / total);
      EXPECT_TRUE(b.AddHolding(holders[j], company(i), share).ok());
      ++edges;
    }
  }
  return b;
}

TEST(EquityScaleTest, PenetratesEveryNodeOfAHeavyTailedGraph) {
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t edges = 0;
  EquityGraphBuilder b = HeavyTailedGraph(90'000, 110'000, 20250601, edges);
  auto built = std::move(b).Build();
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  const EquityGraph& g = *built;
  const auto t1 = std::chrono::steady_clock::now();
  EquityPenetrator p = MakePenetrator(g);
  const auto t2 = std::chrono::steady_clock::now();

  std::vector<double> worst(2, 0);
  std::vector<std::size_t> owners(2, 0), rings(2, 0);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      PenetrationScratch scratch;
      for (NodeIndex v = t; v < g.size(); v += 2) {
        const Penetration r = p.Penetrate(v, scratch).value();
        worst[t] = std::max(worst[t], std::abs(Accounted(r) - 1));
        owners[t] += r.ultimate_owners.size();
        rings[t] += r.ring_on_chain;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const auto t3 = std::chrono::steady_clock::now();
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  std::cout << "equity scale: " << g.size() << " nodes, " << g.edge_count() << " edges (" << edges
            << " added); build " << ms(t1 - t0) << " ms, precompute " << ms(t2 - t1)
            << " ms, penetrate all on 2 threads " << ms(t3 - t2) << " ms; " << owners[0] + owners[1]
            << " owner shares, " << rings[0] + rings[1] << " targets with a ring on the chain\n";
  EXPECT_LT(std::max(worst[0], worst[1]), 1e-9);
}

}  // namespace
}  // namespace cg::mapping

namespace cg::mapping {
namespace {

// The entities above a target carry their integrated share of it: in the must-hold
// example A carries a = 0.657 / 0.88 of C and B carries 0.49 + 0.4 a.
TEST(EquityPenetrationTest, EntitiesAboveCarryTheirIntegratedShare) {
  EquityGraphBuilder b;
  const NodeIndex p1 = b.AddNode("person:p1", NodeKind::kNaturalPerson, "HK", false);
  const NodeIndex p2 = b.AddNode("person:p2", NodeKind::kNaturalPerson, "HK", false);
  const NodeIndex a = b.AddNode("hkcrn:0000001", NodeKind::kEntity, "HK", false);
  const NodeIndex bb = b.AddNode("hkcrn:0000002", NodeKind::kEntity, "HK", false);
  const NodeIndex c = b.AddNode("uscc:c", NodeKind::kEntity, "CN-SZ", false);
  ASSERT_TRUE(b.AddHolding(p1, a, 0.6).ok());
  ASSERT_TRUE(b.AddHolding(p2, bb, 0.7).ok());
  ASSERT_TRUE(b.AddHolding(a, bb, 0.3).ok());
  ASSERT_TRUE(b.AddHolding(bb, a, 0.4).ok());
  ASSERT_TRUE(b.AddHolding(a, c, 0.51).ok());
  ASSERT_TRUE(b.AddHolding(bb, c, 0.49).ok());
  auto graph = std::move(b).Build();
  ASSERT_TRUE(graph.ok());
  auto penetrator = EquityPenetrator::Create(*graph, {});
  ASSERT_TRUE(penetrator.ok());
  auto p = penetrator->Penetrate(c);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->entities_above.size(), 2u);
  const double share_a = 0.657 / 0.88;
  const double share_b = 0.49 + 0.4 * share_a;
  EXPECT_EQ(p->entities_above[0].node, bb);
  EXPECT_NEAR(p->entities_above[0].share, share_b, 1e-8);
  EXPECT_EQ(p->entities_above[1].node, a);
  EXPECT_NEAR(p->entities_above[1].share, share_a, 1e-8);
}

}  // namespace
}  // namespace cg::mapping
