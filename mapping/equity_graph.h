// Equity penetration (股权穿透) over the shareholding graph of both sides: integrated
// (direct + indirect) ownership, ultimate controllers, beneficial owners under each
// side's rule, opacity indicators, and the chains that explain them.
//
// Units: every share is a fraction of the owned company in [0, 1] (0.25 is 25%).
// Shares are stored in parts per billion (kShareScale), so a share given as a double
// is rounded to the nearest 1e-9; sums of stored shares and the majority and
// attribution tests on them are exact integer arithmetic.
//
// The model:
// - Integrated cash-flow ownership is the Leontief form U = W_P (I - W_C)^-1: chains
//   multiply, parallel chains add, cross-holding rings converge. It is computed per
//   target by pushing the target's unit mass up the holder edges, company by company
//   in topological order of the rings (strongly connected components); inside a ring
//   the mass is iterated until what is left in the ring is under `epsilon`.
// - Every unit of mass ends in exactly one bucket: an ultimate owner (a natural
//   person, or an entity with no recorded holders), `unknown_share` (a company whose
//   holders sum under 100%), `ring_owned_share` (a ring that owns itself with no
//   outside owner: the mass circulates for ever), or `dropped_share` (amounts under
//   `epsilon`, ring remainders). The four sum to 1 up to rounding.
// - Control follows the majority rule on voting shares, computed once for the whole
//   graph: a holder controls a company when it, together with the companies it
//   already controls, holds more than `control_threshold` of the votes (a fixpoint).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "specs/status.h"

namespace cg::mapping {

// Dense index of a node in an EquityGraph: 0 .. size()-1, in the order AddNode saw them.
using NodeIndex = std::uint32_t;
inline constexpr NodeIndex kNoNode = 0xFFFFFFFFu;

// Stored shares are integers in parts per billion: kShareScale is 100%.
inline constexpr std::uint32_t kShareScale = 1'000'000'000u;

enum class NodeKind : std::uint8_t {
  kEntity,         // a company or other legal entity, any jurisdiction
  kNaturalPerson,  // a (pseudonymised) natural person; never owned
};

// One ownership edge as seen from one end: in holders_of(c) `node` is a holder of c,
// in holdings_of(h) `node` is a company h holds.
struct Holding {
  NodeIndex node;
  std::uint32_t share_ppb;   // cash-flow (equity) share, parts per billion
  std::uint32_t voting_ppb;  // voting share, parts per billion

  double share() const { return static_cast<double>(share_ppb) / kShareScale; }
  double voting() const { return static_cast<double>(voting_ppb) / kShareScale; }
};

// The shareholding graph in compressed sparse rows, both directions, each row sorted
// by node index. Immutable once built; safe to share between threads for reads.
// Move-only (it may hold hundreds of MB).
class EquityGraph {
 public:
  EquityGraph(EquityGraph&&) noexcept = default;
  EquityGraph& operator=(EquityGraph&&) noexcept = default;
  EquityGraph(const EquityGraph&) = delete;
  EquityGraph& operator=(const EquityGraph&) = delete;

  std::size_t size() const { return kind_.size(); }
  std::size_t edge_count() const { return holders_.size(); }

  // Preconditions for the accessors below: i < size().
  std::string_view id(NodeIndex i) const;
  NodeKind kind(NodeIndex i) const { return kind_[i]; }
  // As given to AddNode ("HK", "VG", "CN-SZ"; may be empty). The view lives as long as
  // the graph.
  std::string_view jurisdiction(NodeIndex i) const { return jurisdiction_names_[jurisdiction_[i]]; }
  bool shell(NodeIndex i) const { return (flags_[i] & kShellFlag) != 0; }
  // True when the holders of i summed over 100% and were scaled down at build time
  // (OverSubscribedHolders::kNormalise).
  bool normalised(NodeIndex i) const { return (flags_[i] & kNormalisedFlag) != 0; }

  // The holders of company i (empty for natural persons and top entities).
  std::span<const Holding> holders_of(NodeIndex i) const {
    return {holders_.data() + holder_offsets_[i], holders_.data() + holder_offsets_[i + 1]};
  }
  // The companies node i holds shares of.
  std::span<const Holding> holdings_of(NodeIndex i) const {
    return {holdings_.data() + holding_offsets_[i], holdings_.data() + holding_offsets_[i + 1]};
  }

  // The node with this id, or nullopt.
  std::optional<NodeIndex> FindNode(std::string_view id) const;

  // Interned jurisdictions: jurisdiction(i) == jurisdiction_name(jurisdiction_code(i)).
  std::uint16_t jurisdiction_code(NodeIndex i) const { return jurisdiction_[i]; }
  std::size_t jurisdiction_count() const { return jurisdiction_names_.size(); }
  std::string_view jurisdiction_name(std::uint16_t code) const { return jurisdiction_names_[code]; }

 private:
  friend class EquityGraphBuilder;
  static constexpr std::uint8_t kShellFlag = 1;
  static constexpr std::uint8_t kNormalisedFlag = 2;

  EquityGraph() = default;

  std::string id_chars_;                   // every id, back to back
  std::vector<std::uint64_t> id_offsets_;  // size()+1 offsets into id_chars_
  std::vector<NodeIndex> id_slots_;        // open-addressing hash table of node indexes
  std::vector<NodeKind> kind_;
  std::vector<std::uint8_t> flags_;
  std::vector<std::uint16_t> jurisdiction_;
  std::vector<std::string> jurisdiction_names_;
  std::vector<std::uint32_t> holder_offsets_;   // size()+1
  std::vector<Holding> holders_;                // grouped by owned company
  std::vector<std::uint32_t> holding_offsets_;  // size()+1
  std::vector<Holding> holdings_;               // grouped by holder
};

// What Build does with a company whose holders sum over 100% (of cash-flow or of
// voting rights) by more than rounding: sums within half a ppb per holder of 100% are
// rounding and are always scaled to exactly 100% silently.
enum class OverSubscribedHolders {
  kReject,     // Build fails with kInvalidArgument naming the company and the sum
  kNormalise,  // scale the holders down to exactly 100% and flag the company
};

// Collects nodes and holdings, then Build validates them and lays out the graph.
// Not thread-safe. Memory: about 16 bytes per pending holding and the ids' size.
class EquityGraphBuilder {
 public:
  explicit EquityGraphBuilder(OverSubscribedHolders policy = OverSubscribedHolders::kReject)
      : policy_(policy) {}

  // Adds a node and returns its index (consecutive from 0). `id` is opaque (already
  // pseudonymised for persons) and must be non-empty and unique; `jurisdiction` is
  // ISO 3166-1 alpha-2 or an ISO 3166-2 subdivision ("HK", "VG", "CN-SZ"), or empty
  // when unknown. A duplicate or empty id, or too many nodes or jurisdictions, is
  // reported by Build.
  NodeIndex AddNode(std::string_view id, NodeKind kind, std::string_view jurisdiction, bool shell);

  // Room for `nodes` nodes whose ids take `id_bytes` in all, and `holdings`
  // holdings, when the caller knows: at millions of nodes, growing by doubling
  // copies hundreds of megabytes and fills fresh pages each time.
  void Reserve(std::size_t nodes, std::size_t id_bytes, std::size_t holdings);

  // Records that `holder` holds `share` of the cash-flow rights of `owned` and
  // `voting` of its votes (defaults to `share`). Errors, nothing recorded:
  // kOutOfRange for an index AddNode did not return; kInvalidArgument for
  // holder == owned (self-holding), an owned natural person, share not in (0, 1] or
  // under 0.5 ppb, voting not in [0, 1], NaN. Holding the same company twice adds the
  // two shares (two share classes, say).
  Status AddHolding(NodeIndex holder, NodeIndex owned, double share,
                    std::optional<double> voting = std::nullopt);

  // Validates and produces the graph. Errors: the first AddNode problem
  // (kInvalidArgument empty id, kAlreadyExists duplicate id, kResourceExhausted past
  // 2^32-2 nodes or 65536 jurisdictions); kInvalidArgument for holders over 100% under
  // kReject. Consumes the builder.
  StatusOr<EquityGraph> Build() &&;

 private:
  struct PendingHolding {
    NodeIndex holder;
    NodeIndex owned;
    std::uint32_t share_ppb;
    std::uint32_t voting_ppb;
  };

  OverSubscribedHolders policy_;
  Status first_error_;
  std::string id_chars_;
  std::vector<std::uint64_t> id_offsets_{0};
  std::vector<NodeKind> kind_;
  std::vector<std::uint8_t> flags_;
  std::vector<std::uint16_t> jurisdiction_;
  std::vector<std::string> jurisdiction_names_;
  std::unordered_map<std::string, std::uint16_t> jurisdiction_codes_;
  std::vector<PendingHolding> pending_;
};

// How a jurisdiction identifies beneficial owners (natural persons only).
struct BeneficialOwnerRule {
  enum class Comparison {
    kAtLeast,   // share >= threshold
    kMoreThan,  // share > threshold
  };
  enum class ChainRule {
    // The person's integrated cash-flow share: products along chains, summed.
    kMultiplicative,
    // Majority attribution: a person is attributed the whole direct holding in the
    // target of every holder it controls by the majority rule (through any chain of
    // majority-held intermediaries), plus its own direct holding.
    kMajorityAttribution,
  };

  // Under kMultiplicative an integrated share within 1e-12 of the threshold counts as
  // equal to it (0.625 * 0.4 meets ">= 25%"); attributed shares compare exactly.
  double threshold = 0.25;
  Comparison comparison = Comparison::kAtLeast;
  ChainRule chain_rule = ChainRule::kMultiplicative;

  // Mainland (PBoC/SAMR beneficial-owner measures, ownership prong): >= 25% of
  // integrated equity through multiplied chains.
  static BeneficialOwnerRule Mainland() { return {}; }
  // Hong Kong significant controller (Companies Ordinance Cap. 622 Part 12A, Sch. 5A):
  // > 25%, counted through majority-held intermediaries.
  static BeneficialOwnerRule HongKong() {
    return {0.25, Comparison::kMoreThan, ChainRule::kMajorityAttribution};
  }
};

// A jurisdiction pattern: "CN" matches "CN" and every "CN-xx" subdivision; "CN-HK"
// matches only itself. Where several patterns match, the longest wins.
struct JurisdictionBeneficialOwnerRule {
  std::string jurisdiction;
  BeneficialOwnerRule rule;
};

// Every tunable of the penetration, with its default. The defaults are illustrative
// until an operator calibrates them.
struct PenetrationParams {
  // Mass under this is dropped (and counted in dropped_share); a ring is iterated
  // until the mass left in it is under this. In (0, 0.01].
  double epsilon = 1e-9;
  // Sweeps over one ring per target before the rest is dropped and
  // `ring_not_converged` set (only rings that nearly own themselves get here).
  std::uint32_t max_ring_sweeps = 1000;
  // A holder group controls a company when its voting share is strictly above this.
  // In [0.5, 1).
  double control_threshold = 0.5;
  // Beneficial-owner rule by the target's jurisdiction, and the rule for the rest.
  std::vector<JurisdictionBeneficialOwnerRule> beneficial_owner_rules = {
      {"CN", BeneficialOwnerRule::Mainland()},
      {"HK", BeneficialOwnerRule::HongKong()},
      {"CN-HK", BeneficialOwnerRule::HongKong()},
  };
  BeneficialOwnerRule default_beneficial_owner_rule = BeneficialOwnerRule::Mainland();
  // Secrecy jurisdictions (patterns as above). An illustrative list of common
  // offshore incorporation centres, not a legal or regulatory classification.
  std::vector<std::string> secrecy_jurisdictions = {"VG", "KY", "BM", "SC", "PA", "WS",
                                                    "MH", "BS", "AI", "JE", "GG", "IM"};
  // The two sides of the border; a node matching neither is on no side.
  std::vector<std::string> mainland_jurisdictions = {"CN"};
  std::vector<std::string> hong_kong_jurisdictions = {"HK", "CN-HK"};
  // Opacity flags ignore nodes carrying less than this of the target (and always
  // those carrying less than epsilon).
  double opacity_min_share = 0.0;
  // Explain: chains per owner by default, and the cap on partial chains built (it
  // bounds Explain's time and memory on a target with very many owners).
  std::size_t explain_max_chains = 5;
  std::size_t explain_max_expansions = 100'000;
};

// A canonical text of the parameters ("penetration.<name> <value>" lines, numbers
// as %.17g, lists in order), hashed into the evaluations' parameter digest.
std::string CanonicalPenetrationParams(const PenetrationParams& params);

struct OwnerShare {
  NodeIndex node;
  double share;  // integrated cash-flow share of the target
};

struct BeneficialOwner {
  NodeIndex node;  // always a natural person
  double share;    // the share the rule measured (integrated or attributed)
  // Intermediate companies between the target and the person on the chain that
  // qualifies it: the strongest (highest product) chain for kMultiplicative, the
  // control chain through the attributed holder with the largest share for
  // kMajorityAttribution. 0 for a direct holder.
  std::uint32_t layers;
};

// The penetration of one target. Ultimate owners, unknown, ring-owned and dropped
// shares add up to 1 (to floating-point rounding, ~1e-15 per node visited).
struct Penetration {
  NodeIndex target = kNoNode;

  // Natural persons and entities without recorded holders, with at least epsilon of
  // the target; sorted by share descending, then node index. A target that is a
  // person or a top entity is its own sole ultimate owner (share 1).
  std::vector<OwnerShare> ultimate_owners;
  double unknown_share = 0;         // behind companies whose holders sum under 100%
  double ring_owned_share = 0;      // caught in rings that own themselves
  double dropped_share = 0;         // under epsilon, or left when a ring did not converge
  bool self_owned_ring = false;     // ring_owned_share comes from such a ring
  bool ring_not_converged = false;  // max_ring_sweeps was reached

  // The ultimate controller (a natural person or a top entity; the target itself if
  // it is one), or nullopt when no holder group has a majority.
  std::optional<NodeIndex> controller;
  // The target is in, or controlled by, a set of companies controlling each other
  // with no outside controller.
  bool control_ring = false;

  // Beneficial owners under the rule for the target's jurisdiction, sorted by share
  // descending, then node index.
  std::vector<BeneficialOwner> beneficial_owners;
  bool no_identifiable_beneficial_owner = true;
  std::uint32_t layers_to_beneficial_owner = 0;  // max of beneficial_owners[].layers

  // Opacity over the ownership structure: every node other than the target through
  // which at least max(epsilon, opacity_min_share) of it passes.
  std::vector<std::string_view> secrecy_jurisdictions;  // sorted, distinct; graph-owned
  bool ring_on_chain = false;                           // a cross-holding ring is on the structure
  bool shell_on_chain = false;                          // a node flagged shell is on the structure
  // The target and its structure include both a mainland and a Hong Kong node.
  bool crosses_border = false;
  // The target or a node on its structure had holders over 100%, normalised.
  bool normalised_on_chain = false;
  // Every entity above the target (intermediate holding companies and top entities)
  // with the integrated share of the target it carries (the mass that passed through
  // it: the Leontief column), at least max(epsilon, opacity_min_share); sorted by
  // share descending, then node index. The joint model weighs their risk by it.
  std::vector<OwnerShare> entities_above;
};

// One ownership chain from the target up to an owner.
struct Chain {
  std::vector<NodeIndex> nodes;  // nodes.front() is the target, nodes.back() the owner
  std::vector<double> shares;    // shares[i]: what nodes[i+1] holds of nodes[i]
  double product = 1;            // product of shares
  bool crosses_border = false;   // both a mainland and a Hong Kong node on the chain
};

// Per-thread working memory for EquityPenetrator: about 8 bytes per graph node plus
// what one target touches. Reusable across targets and penetrators; not shareable
// between threads at the same time.
class PenetrationScratch {
 public:
  PenetrationScratch();
  ~PenetrationScratch();
  PenetrationScratch(PenetrationScratch&&) noexcept;
  PenetrationScratch& operator=(PenetrationScratch&&) noexcept;

 private:
  friend class EquityPenetrator;
  struct State;
  std::unique_ptr<State> state_;
};

// Penetrates targets of one graph. Create precomputes, in O(nodes + edges), the rings
// (Tarjan's strongly connected components), which rings own themselves, and control
// over the whole graph; each Penetrate then costs O(a log a + e) for the a nodes and
// e edges above the target (times the sweeps inside rings). The graph must outlive
// the penetrator. All methods are const and thread-safe; results are bit-identical
// whatever the thread count and the order holdings were added in.
class EquityPenetrator {
 public:
  // kInvalidArgument for parameters out of their documented ranges.
  static StatusOr<EquityPenetrator> Create(const EquityGraph& graph, PenetrationParams params);

  EquityPenetrator(EquityPenetrator&&) noexcept;
  EquityPenetrator& operator=(EquityPenetrator&&) noexcept;
  ~EquityPenetrator();

  const PenetrationParams& params() const { return params_; }

  // kOutOfRange when target >= graph.size(). The first form uses a thread-local
  // scratch kept for the life of the thread.
  StatusOr<Penetration> Penetrate(NodeIndex target) const;
  StatusOr<Penetration> Penetrate(NodeIndex target, PenetrationScratch& scratch) const;

  // The strongest chains (highest product of cash-flow shares, simple paths, at least
  // epsilon) to each beneficial owner, or to each ultimate owner when there is no
  // beneficial owner: up to max_chains per owner, owners in Penetration order, each
  // owner's chains by product descending. Once explain_max_expansions partial chains
  // are built no more are started, so an owner may get fewer chains (never wrong ones).
  // kOutOfRange for a bad target. Uses the thread-local scratch.
  StatusOr<std::vector<Chain>> Explain(NodeIndex target) const;
  StatusOr<std::vector<Chain>> Explain(NodeIndex target, std::size_t max_chains) const;

  // The ultimate controller of any node, from the whole-graph fixpoint (kNoNode for
  // none); itself for a person or top entity. Precondition: i < graph.size().
  NodeIndex controller_of(NodeIndex i) const { return controller_[i]; }

 private:
  EquityPenetrator(const EquityGraph& graph, PenetrationParams params);
  void Precompute();
  void ComputeRings();
  void ComputeControl();
  bool IsSink(NodeIndex i) const;
  void Propagate(NodeIndex target, PenetrationScratch::State& st, Penetration& out) const;
  void PushMass(std::uint32_t slot, double mass, bool in_ring, PenetrationScratch::State& st,
                Penetration& out) const;
  void IterateRing(std::uint32_t rank, PenetrationScratch::State& st, Penetration& out) const;
  void SummariseStructure(NodeIndex target, PenetrationScratch::State& st, Penetration& out) const;
  void FindBeneficialOwners(NodeIndex target, PenetrationScratch::State& st,
                            Penetration& out) const;
  std::uint32_t ControlLayers(NodeIndex holder, NodeIndex controller) const;
  std::uint8_t SideMask(std::span<const NodeIndex> nodes) const;

  const EquityGraph* graph_;
  PenetrationParams params_;
  std::uint32_t control_threshold_ppb_ = 0;
  // Per jurisdiction code.
  std::vector<std::uint8_t> side_;
  std::vector<std::uint8_t> secrecy_;
  std::vector<std::uint8_t> rule_index_;  // into rules_
  std::vector<BeneficialOwnerRule> rules_;
  // Per node.
  std::vector<std::uint32_t> ring_rank_;   // SCC id, a reverse topological order
  std::vector<std::uint8_t> node_flags_;   // kInRing, kClosedRing, kInControlRing
  std::vector<NodeIndex> controller_;      // ultimate controller or kNoNode
  std::vector<NodeIndex> control_parent_;  // next node up the control chain
};

}  // namespace cg::mapping
