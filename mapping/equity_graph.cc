#include "mapping/equity_graph.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <tuple>
#include <utility>

namespace cg::mapping {
namespace {

constexpr std::uint8_t kInRing = 1;         // in a strongly connected component of size > 1
constexpr std::uint8_t kClosedRing = 2;     // ... whose holders are all inside and sum to 100%
constexpr std::uint8_t kInControlRing = 4;  // controlled by companies controlling each other

constexpr std::uint8_t kSideMainland = 1;
constexpr std::uint8_t kSideHongKong = 2;
constexpr std::uint8_t kBothSides = kSideMainland | kSideHongKong;

constexpr std::uint32_t kNoSlot = 0xFFFFFFFFu;
constexpr std::size_t kMaxJurisdictions = 65536;
constexpr std::size_t kMaxRules = 255;
// Integrated shares within this of a beneficial-owner threshold count as equal to it,
// so that 0.5 * 0.5 and 0.625 * 0.4 both meet ">= 25%" despite binary rounding.
constexpr double kThresholdTolerance = 1e-12;

__extension__ typedef unsigned __int128 Wide;

double FromPpb(std::uint64_t ppb) { return static_cast<double>(ppb) / kShareScale; }

std::uint32_t ThresholdPpb(double fraction) {
  return static_cast<std::uint32_t>(std::llround(fraction * kShareScale));
}

std::string Percent(std::uint64_t ppb) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.7g%%", static_cast<double>(ppb) / 1e7);
  return buf;
}

// The length of the longest pattern that matches `jurisdiction`, or 0. "CN" matches
// "CN" and "CN-SZ" but not "CNX".
std::size_t LongestMatch(std::string_view jurisdiction, const std::vector<std::string>& patterns) {
  std::size_t best = 0;
  for (const std::string& p : patterns) {
    bool match =
        jurisdiction == p || (jurisdiction.size() > p.size() && jurisdiction.starts_with(p) &&
                              jurisdiction[p.size()] == '-');
    if (match) best = std::max(best, p.size());
  }
  return best;
}

std::size_t HashSlot(std::string_view id, std::size_t mask) {
  const std::size_t hash = std::hash<std::string_view>{}(id);
  return hash & mask;
}

// Scales `values` (summing over kShareScale) to sum to exactly kShareScale by the
// largest-remainder method; ties go to the earlier entry, so the result is
// deterministic.
void NormaliseToWhole(std::vector<std::uint64_t>& values) {
  std::uint64_t sum = 0;
  for (std::uint64_t v : values) sum += v;
  std::vector<std::pair<std::uint64_t, std::size_t>> remainders;
  remainders.reserve(values.size());
  std::uint64_t assigned = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    Wide scaled = static_cast<Wide>(values[i]) * kShareScale;
    values[i] = static_cast<std::uint64_t>(scaled / sum);
    remainders.emplace_back(static_cast<std::uint64_t>(scaled % sum), i);
    assigned += values[i];
  }
  std::sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  for (std::uint64_t i = 0; assigned + i < kShareScale; ++i) ++values[remainders[i].second];
}

}  // namespace

// ---------------------------------------------------------------------------------
// EquityGraph

std::string_view EquityGraph::id(NodeIndex i) const {
  return std::string_view(id_chars_).substr(id_offsets_[i], id_offsets_[i + 1] - id_offsets_[i]);
}

std::optional<NodeIndex> EquityGraph::FindNode(std::string_view id) const {
  if (id_slots_.empty()) return std::nullopt;
  const std::size_t mask = id_slots_.size() - 1;
  for (std::size_t slot = HashSlot(id, mask);; slot = (slot + 1) & mask) {
    NodeIndex i = id_slots_[slot];
    if (i == kNoNode) return std::nullopt;
    if (this->id(i) == id) return i;
  }
}

// ---------------------------------------------------------------------------------
// EquityGraphBuilder

void EquityGraphBuilder::Reserve(std::size_t nodes, std::size_t id_bytes, std::size_t holdings) {
  id_chars_.reserve(id_bytes);
  id_offsets_.reserve(nodes + 1);
  kind_.reserve(nodes);
  flags_.reserve(nodes);
  jurisdiction_.reserve(nodes);
  pending_.reserve(holdings);
}

NodeIndex EquityGraphBuilder::AddNode(std::string_view id, NodeKind kind,
                                      std::string_view jurisdiction, bool shell) {
  if (kind_.size() >= kNoNode) {
    if (first_error_.ok()) first_error_ = ResourceExhaustedError("too many graph nodes");
    return kNoNode;
  }
  if (id.empty() && first_error_.ok()) {
    first_error_ =
        InvalidArgumentError("empty node id (node " + std::to_string(kind_.size()) + ")");
  }
  auto [it, inserted] = jurisdiction_codes_.try_emplace(std::string(jurisdiction), 0);
  if (inserted) {
    if (jurisdiction_names_.size() >= kMaxJurisdictions) {
      if (first_error_.ok()) first_error_ = ResourceExhaustedError("more than 65536 jurisdictions");
    } else {
      it->second = static_cast<std::uint16_t>(jurisdiction_names_.size());
      jurisdiction_names_.emplace_back(jurisdiction);
    }
  }
  const std::uint16_t code = it->second;
  id_chars_.append(id);
  id_offsets_.push_back(id_chars_.size());
  kind_.push_back(kind);
  flags_.push_back(shell ? EquityGraph::kShellFlag : 0);
  jurisdiction_.push_back(code);
  return static_cast<NodeIndex>(kind_.size() - 1);
}

Status EquityGraphBuilder::AddHolding(NodeIndex holder, NodeIndex owned, double share,
                                      std::optional<double> voting) {
  const std::size_t n = kind_.size();
  if (holder >= n || owned >= n) {
    return OutOfRangeError("holding between nodes " + std::to_string(holder) + " and " +
                           std::to_string(owned) + ": only " + std::to_string(n) + " nodes added");
  }
  auto describe = [&] {
    auto name = [&](NodeIndex i) {
      return std::string_view(id_chars_).substr(id_offsets_[i],
                                                id_offsets_[i + 1] - id_offsets_[i]);
    };
    return "holding of '" + std::string(name(holder)) + "' in '" + std::string(name(owned)) + "'";
  };
  if (holder == owned) return InvalidArgumentError(describe() + ": a company cannot hold itself");
  if (kind_[owned] == NodeKind::kNaturalPerson) {
    return InvalidArgumentError(describe() + ": a natural person cannot be owned");
  }
  if (!(share > 0 && share <= 1)) {
    return InvalidArgumentError(describe() + ": share " + std::to_string(share) +
                                " is not in (0, 1]");
  }
  const double vote = voting.value_or(share);
  if (!(vote >= 0 && vote <= 1)) {
    return InvalidArgumentError(describe() + ": voting share " + std::to_string(vote) +
                                " is not in [0, 1]");
  }
  const auto share_ppb = static_cast<std::uint32_t>(std::llround(share * kShareScale));
  if (share_ppb == 0) {
    return InvalidArgumentError(describe() + ": share " + std::to_string(share) +
                                " is under the 1e-9 resolution");
  }
  const auto voting_ppb = static_cast<std::uint32_t>(std::llround(vote * kShareScale));
  pending_.push_back({holder, owned, share_ppb, voting_ppb});
  return OkStatus();
}

StatusOr<EquityGraph> EquityGraphBuilder::Build() && {
  CG_RETURN_IF_ERROR(first_error_);
  const std::size_t n = kind_.size();
  if (pending_.size() >= std::numeric_limits<std::uint32_t>::max()) {
    return ResourceExhaustedError("too many holdings: " + std::to_string(pending_.size()));
  }

  EquityGraph g;
  g.id_chars_ = std::move(id_chars_);
  g.id_offsets_ = std::move(id_offsets_);
  g.kind_ = std::move(kind_);
  g.flags_ = std::move(flags_);
  g.jurisdiction_ = std::move(jurisdiction_);
  g.jurisdiction_names_ = std::move(jurisdiction_names_);
  if (g.jurisdiction_names_.empty()) g.jurisdiction_names_.emplace_back();
  jurisdiction_codes_.clear();

  // Id index: open addressing at load factor <= 1/2.
  std::size_t capacity = 16;
  while (capacity < 2 * n) capacity *= 2;
  g.id_slots_.assign(capacity, kNoNode);
  const std::size_t mask = capacity - 1;
  for (NodeIndex i = 0; i < n; ++i) {
    const std::string_view id = g.id(i);
    std::size_t slot = HashSlot(id, mask);
    for (; g.id_slots_[slot] != kNoNode; slot = (slot + 1) & mask) {
      if (g.id(g.id_slots_[slot]) == id) {
        return AlreadyExistsError("duplicate node id '" + std::string(id) + "' (nodes " +
                                  std::to_string(g.id_slots_[slot]) + " and " + std::to_string(i) +
                                  ")");
      }
    }
    g.id_slots_[slot] = i;
  }

  // Holdings grouped by owned company (counting sort), then sorted by holder within a
  // company, so the layout does not depend on the order AddHolding saw them.
  std::vector<PendingHolding> pending = std::move(pending_);
  pending_ = {};
  std::vector<std::uint32_t> start(n + 1, 0);
  for (const PendingHolding& p : pending) ++start[p.owned + 1];
  for (std::size_t i = 0; i < n; ++i) start[i + 1] += start[i];
  std::vector<PendingHolding> by_owned(pending.size());
  {
    std::vector<std::uint32_t> next(start.begin(), start.end() - 1);
    for (const PendingHolding& p : pending) by_owned[next[p.owned]++] = p;
  }
  pending.clear();
  pending.shrink_to_fit();

  g.holder_offsets_.assign(n + 1, 0);
  g.holders_.reserve(by_owned.size());
  std::vector<std::uint64_t> cash;
  std::vector<std::uint64_t> votes;
  for (NodeIndex c = 0; c < n; ++c) {
    auto first = by_owned.begin() + start[c];
    auto last = by_owned.begin() + start[c + 1];
    std::sort(first, last,
              [](const PendingHolding& a, const PendingHolding& b) { return a.holder < b.holder; });
    const std::size_t row = g.holders_.size();
    cash.clear();
    votes.clear();
    std::uint64_t cash_sum = 0;
    std::uint64_t vote_sum = 0;
    for (auto it = first; it != last; ++it) {
      cash_sum += it->share_ppb;
      vote_sum += it->voting_ppb;
      if (g.holders_.size() > row && g.holders_.back().node == it->holder) {
        cash.back() += it->share_ppb;  // the same holder twice: its shares add
        votes.back() += it->voting_ppb;
      } else {
        g.holders_.push_back({it->holder, 0, 0});
        cash.push_back(it->share_ppb);
        votes.push_back(it->voting_ppb);
      }
    }
    // Each share was rounded to the nearest ppb: n holders may overshoot by n/2.
    const auto rounding = static_cast<std::uint64_t>(last - first) / 2;
    for (auto [values, sum, what] : {std::tuple(&cash, cash_sum, "cash-flow rights"),
                                     std::tuple(&votes, vote_sum, "voting rights")}) {
      if (sum <= kShareScale) continue;
      if (sum > kShareScale + rounding) {
        if (policy_ == OverSubscribedHolders::kReject) {
          return InvalidArgumentError("holders of '" + std::string(g.id(c)) + "' sum to " +
                                      Percent(sum) + " of its " + what + " (over 100%)");
        }
        g.flags_[c] |= EquityGraph::kNormalisedFlag;
      }
      NormaliseToWhole(*values);
    }
    for (std::size_t k = 0; k < cash.size(); ++k) {
      g.holders_[row + k].share_ppb = static_cast<std::uint32_t>(cash[k]);
      g.holders_[row + k].voting_ppb = static_cast<std::uint32_t>(votes[k]);
    }
    g.holder_offsets_[c + 1] = static_cast<std::uint32_t>(g.holders_.size());
  }
  by_owned = {};

  // The other direction: walking companies in index order fills each holder's row in
  // ascending order of the owned company.
  g.holding_offsets_.assign(n + 1, 0);
  for (const Holding& h : g.holders_) ++g.holding_offsets_[h.node + 1];
  for (std::size_t i = 0; i < n; ++i) g.holding_offsets_[i + 1] += g.holding_offsets_[i];
  g.holdings_.resize(g.holders_.size());
  {
    std::vector<std::uint32_t> next(g.holding_offsets_.begin(), g.holding_offsets_.end() - 1);
    for (NodeIndex c = 0; c < n; ++c) {
      for (const Holding& h : g.holders_of(c)) {
        g.holdings_[next[h.node]++] = {c, h.share_ppb, h.voting_ppb};
      }
    }
  }
  return g;
}

// ---------------------------------------------------------------------------------
// PenetrationScratch

namespace {

// What one target's penetration knows about one node it reached.
struct Local {
  NodeIndex node;
  std::uint32_t pred;   // slot of the previous node on the strongest chain
  std::uint32_t edges;  // edges on the strongest chain from the target
  double residual;      // mass waiting to be pushed to the node's holders
  double flow;          // mass that passed through (or ended at) the node
  double best;          // product of the strongest chain from the target; -1 if none
};

}  // namespace

struct PenetrationScratch::State {
  std::vector<std::uint64_t> mark;  // per graph node: generation << 32 | slot
  std::uint32_t generation = 0;
  std::vector<Local> locals;
  std::vector<std::uint64_t> heap;  // ring rank << 32 | (kNoNode - node): max-heap
  std::vector<std::uint32_t> ring;  // slots of the ring being iterated
  std::vector<std::uint32_t> owners;
  std::vector<std::tuple<double, std::uint32_t, std::uint32_t>> chain_heap;
  std::vector<std::tuple<NodeIndex, std::uint32_t, NodeIndex>> attributed;
  std::vector<std::uint16_t> codes;

  void Begin(std::size_t graph_size) {
    if (mark.size() < graph_size) mark.resize(graph_size, 0);
    if (++generation == 0) {
      std::fill(mark.begin(), mark.end(), 0);
      generation = 1;
    }
    locals.clear();
    heap.clear();
    owners.clear();
  }
  std::uint32_t Find(NodeIndex node) const {
    const std::uint64_t m = mark[node];
    return (m >> 32) == generation ? static_cast<std::uint32_t>(m) : kNoSlot;
  }
  // The node's slot, and whether it was created now.
  std::pair<std::uint32_t, bool> Get(NodeIndex node) {
    std::uint32_t slot = Find(node);
    if (slot != kNoSlot) return {slot, false};
    slot = static_cast<std::uint32_t>(locals.size());
    locals.push_back({node, kNoSlot, 0, 0.0, 0.0, -1.0});
    mark[node] = (static_cast<std::uint64_t>(generation) << 32) | slot;
    return {slot, true};
  }
  // Keeps the strongest chain: the higher product, then the fewer edges.
  bool Relax(std::uint32_t from, std::uint32_t to, std::uint32_t share_ppb) {
    if (locals[from].best < 0) return false;
    const double candidate = locals[from].best * FromPpb(share_ppb);
    const std::uint32_t edges = locals[from].edges + 1;
    Local& l = locals[to];
    if (candidate > l.best || (candidate == l.best && edges < l.edges)) {
      l.best = candidate;
      l.edges = edges;
      l.pred = from;
      return true;
    }
    return false;
  }
};

PenetrationScratch::PenetrationScratch() : state_(std::make_unique<State>()) {}
PenetrationScratch::~PenetrationScratch() = default;
PenetrationScratch::PenetrationScratch(PenetrationScratch&&) noexcept = default;
PenetrationScratch& PenetrationScratch::operator=(PenetrationScratch&&) noexcept = default;

// ---------------------------------------------------------------------------------
// EquityPenetrator: construction and whole-graph precomputation

EquityPenetrator::EquityPenetrator(const EquityGraph& graph, PenetrationParams params)
    : graph_(&graph), params_(std::move(params)) {}
EquityPenetrator::EquityPenetrator(EquityPenetrator&&) noexcept = default;
EquityPenetrator& EquityPenetrator::operator=(EquityPenetrator&&) noexcept = default;
EquityPenetrator::~EquityPenetrator() = default;

StatusOr<EquityPenetrator> EquityPenetrator::Create(const EquityGraph& graph,
                                                    PenetrationParams params) {
  auto in = [](double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; };
  if (!in(params.epsilon, 0, 0.01) || params.epsilon == 0) {
    return InvalidArgumentError("epsilon must be in (0, 0.01]");
  }
  if (params.max_ring_sweeps == 0) return InvalidArgumentError("max_ring_sweeps must be >= 1");
  if (!in(params.control_threshold, 0.5, 1) || params.control_threshold == 1) {
    return InvalidArgumentError("control_threshold must be in [0.5, 1)");
  }
  if (!in(params.opacity_min_share, 0, 1)) {
    return InvalidArgumentError("opacity_min_share must be in [0, 1]");
  }
  if (params.beneficial_owner_rules.size() + 1 > kMaxRules) {
    return InvalidArgumentError("too many beneficial-owner rules");
  }
  std::vector<const BeneficialOwnerRule*> rules = {&params.default_beneficial_owner_rule};
  for (const auto& r : params.beneficial_owner_rules) {
    if (r.jurisdiction.empty()) {
      return InvalidArgumentError("beneficial-owner rule without a jurisdiction");
    }
    rules.push_back(&r.rule);
  }
  for (const BeneficialOwnerRule* r : rules) {
    if (!in(r->threshold, 0, 1) || r->threshold == 0) {
      return InvalidArgumentError("beneficial-owner threshold must be in (0, 1]");
    }
  }
  for (const auto* list : {&params.secrecy_jurisdictions, &params.mainland_jurisdictions,
                           &params.hong_kong_jurisdictions}) {
    for (const std::string& j : *list) {
      if (j.empty()) return InvalidArgumentError("empty jurisdiction pattern");
    }
  }
  EquityPenetrator p(graph, std::move(params));
  p.Precompute();
  return p;
}

bool EquityPenetrator::IsSink(NodeIndex i) const {
  return graph_->kind(i) == NodeKind::kNaturalPerson || graph_->holders_of(i).empty();
}

void EquityPenetrator::Precompute() {
  const EquityGraph& g = *graph_;
  control_threshold_ppb_ = ThresholdPpb(params_.control_threshold);

  rules_.clear();
  for (const auto& r : params_.beneficial_owner_rules) rules_.push_back(r.rule);
  rules_.push_back(params_.default_beneficial_owner_rule);
  const std::size_t codes = g.jurisdiction_count();
  side_.assign(codes, 0);
  secrecy_.assign(codes, 0);
  rule_index_.assign(codes, static_cast<std::uint8_t>(rules_.size() - 1));
  for (std::size_t c = 0; c < codes; ++c) {
    const std::string_view j = g.jurisdiction_name(static_cast<std::uint16_t>(c));
    const std::size_t mainland = LongestMatch(j, params_.mainland_jurisdictions);
    const std::size_t hong_kong = LongestMatch(j, params_.hong_kong_jurisdictions);
    if (mainland > hong_kong) side_[c] = kSideMainland;
    if (hong_kong > mainland) side_[c] = kSideHongKong;
    secrecy_[c] = LongestMatch(j, params_.secrecy_jurisdictions) > 0;
    std::size_t best = 0;
    for (std::size_t r = 0; r < params_.beneficial_owner_rules.size(); ++r) {
      const std::size_t len = LongestMatch(j, {params_.beneficial_owner_rules[r].jurisdiction});
      if (len > best) {
        best = len;
        rule_index_[c] = static_cast<std::uint8_t>(r);
      }
    }
  }
  ComputeRings();
  ComputeControl();
}

// Tarjan's algorithm, iterative, over the edges company -> holder. It emits the rings
// (strongly connected components) in reverse topological order: every holder's ring
// is emitted before the ring of what it holds, so the emission rank orders the mass
// propagation (highest rank first) and the control fixpoint (lowest first).
void EquityPenetrator::ComputeRings() {
  const EquityGraph& g = *graph_;
  const std::size_t n = g.size();
  constexpr std::uint32_t kUnvisited = 0xFFFFFFFFu;
  ring_rank_.assign(n, kNoNode);
  node_flags_.assign(n, 0);
  std::vector<std::uint32_t> index(n, kUnvisited);
  std::vector<std::uint32_t> low(n, 0);
  std::vector<NodeIndex> stack;
  std::vector<std::pair<NodeIndex, std::uint32_t>> frames;  // node, next holder
  std::vector<NodeIndex> members;
  std::uint32_t counter = 0;
  std::uint32_t rank = 0;

  auto visit = [&](NodeIndex v) {
    index[v] = low[v] = counter++;
    stack.push_back(v);
    frames.emplace_back(v, 0);
  };
  for (NodeIndex root = 0; root < n; ++root) {
    if (index[root] != kUnvisited) continue;
    visit(root);
    while (!frames.empty()) {
      const NodeIndex v = frames.back().first;
      const auto holders = g.holders_of(v);
      if (frames.back().second < holders.size()) {
        const NodeIndex w = holders[frames.back().second++].node;
        if (index[w] == kUnvisited) {
          visit(w);
        } else if (ring_rank_[w] == kNoNode) {  // still on the stack
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      frames.pop_back();
      if (!frames.empty()) {
        const NodeIndex parent = frames.back().first;
        low[parent] = std::min(low[parent], low[v]);
      }
      if (low[v] != index[v]) continue;
      members.clear();
      NodeIndex w;
      do {
        w = stack.back();
        stack.pop_back();
        ring_rank_[w] = rank;
        members.push_back(w);
      } while (w != v);
      if (members.size() > 1) {
        // Closed: every holder is inside and each company's holders sum to 100%, so
        // mass that enters never leaves.
        bool closed = true;
        for (NodeIndex m : members) {
          std::uint64_t sum = 0;
          for (const Holding& h : g.holders_of(m)) {
            sum += h.share_ppb;
            if (ring_rank_[h.node] != rank) closed = false;
          }
          if (sum != kShareScale) closed = false;
        }
        for (NodeIndex m : members) node_flags_[m] |= kInRing | (closed ? kClosedRing : 0);
      }
      ++rank;
    }
  }
}

// The majority-rule fixpoint, ring by ring from the top down. controller_[c] is the
// ultimate controller (a sink); control_parent_[c] the holder through which it was
// won, chosen when c was assigned, so parents form a forest.
void EquityPenetrator::ComputeControl() {
  const EquityGraph& g = *graph_;
  const std::size_t n = g.size();
  controller_.assign(n, kNoNode);
  control_parent_.assign(n, kNoNode);
  for (NodeIndex v = 0; v < n; ++v) {
    if (IsSink(v)) controller_[v] = v;
  }
  std::size_t rings = 0;
  for (std::uint32_t r : ring_rank_) rings = std::max<std::size_t>(rings, r + 1);
  std::vector<std::uint32_t> start(rings + 1, 0);
  for (std::uint32_t r : ring_rank_) ++start[r + 1];
  for (std::size_t r = 0; r < rings; ++r) start[r + 1] += start[r];
  std::vector<NodeIndex> order(n);
  {
    std::vector<std::uint32_t> next(start.begin(), start.end() - 1);
    for (NodeIndex v = 0; v < n; ++v) order[next[ring_rank_[v]]++] = v;
  }

  std::vector<std::uint32_t> votes(n, 0);  // per candidate controller, for one company
  std::vector<NodeIndex> candidates;
  auto evaluate = [&](NodeIndex c) {
    if (controller_[c] != kNoNode) return false;
    candidates.clear();
    for (const Holding& h : g.holders_of(c)) {
      const NodeIndex x = controller_[h.node];
      if (x == kNoNode || h.voting_ppb == 0) continue;
      if (votes[x] == 0) candidates.push_back(x);
      votes[x] += h.voting_ppb;
    }
    NodeIndex winner = kNoNode;
    for (NodeIndex x : candidates) {
      if (votes[x] > control_threshold_ppb_) winner = x;
      votes[x] = 0;
    }
    if (winner == kNoNode) return false;
    controller_[c] = winner;
    std::uint32_t strongest = 0;
    for (const Holding& h : g.holders_of(c)) {
      if (controller_[h.node] == winner && h.node != c &&
          (control_parent_[c] == kNoNode || h.voting_ppb > strongest)) {
        control_parent_[c] = h.node;
        strongest = h.voting_ppb;
      }
    }
    return true;
  };

  std::vector<std::uint8_t> queued(n, 0);
  std::vector<NodeIndex> work;
  for (std::size_t r = 0; r < rings; ++r) {
    const std::span<const NodeIndex> ring(order.data() + start[r], order.data() + start[r + 1]);
    if (ring.size() == 1) {
      evaluate(ring[0]);
      continue;
    }
    // Inside a ring, a newly controlled company may tip the companies it holds.
    work.assign(ring.begin(), ring.end());
    for (NodeIndex v : ring) queued[v] = 1;
    for (std::size_t i = 0; i < work.size(); ++i) {
      const NodeIndex c = work[i];
      queued[c] = 0;
      if (!evaluate(c)) continue;
      for (const Holding& h : g.holdings_of(c)) {
        if (ring_rank_[h.node] == r && controller_[h.node] == kNoNode && !queued[h.node]) {
          queued[h.node] = 1;
          work.push_back(h.node);
        }
      }
    }
  }

  // Control rings: the largest set R of uncontrolled companies each of which the
  // companies of R hold a majority of; found by peeling companies that fall short.
  std::vector<std::uint32_t>& in_r_votes = votes;
  std::vector<std::uint8_t> in_r(n, 0);
  work.clear();
  for (NodeIndex c = 0; c < n; ++c) {
    if (controller_[c] != kNoNode) continue;
    in_r[c] = 1;
    in_r_votes[c] = 0;
    for (const Holding& h : g.holders_of(c)) {
      if (controller_[h.node] == kNoNode) in_r_votes[c] += h.voting_ppb;
    }
    if (in_r_votes[c] <= control_threshold_ppb_) work.push_back(c);
  }
  for (std::size_t i = 0; i < work.size(); ++i) {
    const NodeIndex c = work[i];
    if (!in_r[c]) continue;
    in_r[c] = 0;
    for (const Holding& h : g.holdings_of(c)) {
      if (!in_r[h.node]) continue;
      in_r_votes[h.node] -= h.voting_ppb;
      if (in_r_votes[h.node] <= control_threshold_ppb_) work.push_back(h.node);
    }
  }
  for (NodeIndex c = 0; c < n; ++c) {
    if (in_r[c]) node_flags_[c] |= kInControlRing;
  }
}

// ---------------------------------------------------------------------------------
// EquityPenetrator: one target

StatusOr<Penetration> EquityPenetrator::Penetrate(NodeIndex target) const {
  thread_local PenetrationScratch scratch;
  return Penetrate(target, scratch);
}

StatusOr<Penetration> EquityPenetrator::Penetrate(NodeIndex target,
                                                  PenetrationScratch& scratch) const {
  if (target >= graph_->size()) {
    return OutOfRangeError("node " + std::to_string(target) + " is not in the graph of " +
                           std::to_string(graph_->size()) + " nodes");
  }
  PenetrationScratch::State& st = *scratch.state_;
  Penetration out;
  out.target = target;
  Propagate(target, st, out);
  SummariseStructure(target, st, out);
  FindBeneficialOwners(target, st, out);
  if (controller_[target] != kNoNode) out.controller = controller_[target];
  out.control_ring = (node_flags_[target] & kInControlRing) != 0;
  return out;
}

// Pushes the unit mass of the target up the holder edges, ring by ring in topological
// order (highest rank first), so that outside rings each node is pushed once, with
// its final mass, and the strongest chain to it is final when it is pushed.
void EquityPenetrator::Propagate(NodeIndex target, PenetrationScratch::State& st,
                                 Penetration& out) const {
  const double epsilon = params_.epsilon;
  st.Begin(graph_->size());
  const std::uint32_t first = st.Get(target).first;
  st.locals[first].residual = 1;
  st.locals[first].best = 1;
  auto heap_key = [&](NodeIndex v) {
    return (static_cast<std::uint64_t>(ring_rank_[v]) << 32) | (kNoNode - v);
  };
  st.heap.push_back(heap_key(target));

  while (!st.heap.empty()) {
    std::pop_heap(st.heap.begin(), st.heap.end());
    const std::uint32_t rank = static_cast<std::uint32_t>(st.heap.back() >> 32);
    const NodeIndex node = kNoNode - static_cast<NodeIndex>(st.heap.back());
    st.heap.pop_back();
    const std::uint8_t flags = node_flags_[node];
    if (!(flags & kInRing)) {
      const std::uint32_t slot = st.Find(node);
      const double mass = st.locals[slot].residual;
      st.locals[slot].residual = 0;
      if (mass < epsilon) {
        out.dropped_share += mass;
      } else if (IsSink(node)) {
        st.locals[slot].flow = mass;
        st.owners.push_back(slot);
      } else {
        st.locals[slot].flow = mass;
        PushMass(slot, mass, false, st, out);
      }
      continue;
    }
    st.ring.assign(1, st.Find(node));
    while (!st.heap.empty() && (st.heap.front() >> 32) == rank) {
      std::pop_heap(st.heap.begin(), st.heap.end());
      st.ring.push_back(st.Find(kNoNode - static_cast<NodeIndex>(st.heap.back())));
      st.heap.pop_back();
    }
    if (flags & kClosedRing) {
      for (std::uint32_t slot : st.ring) {
        Local& l = st.locals[slot];
        out.ring_owned_share += l.residual;
        l.flow += l.residual;
        l.residual = 0;
      }
      out.self_owned_ring = true;
    } else {
      IterateRing(rank, st, out);
    }
  }

  std::sort(st.owners.begin(), st.owners.end(), [&](std::uint32_t a, std::uint32_t b) {
    const Local& la = st.locals[a];
    const Local& lb = st.locals[b];
    return la.flow != lb.flow ? la.flow > lb.flow : la.node < lb.node;
  });
  out.ultimate_owners.reserve(st.owners.size());
  for (std::uint32_t slot : st.owners) {
    out.ultimate_owners.push_back({st.locals[slot].node, st.locals[slot].flow});
  }
}

void EquityPenetrator::PushMass(std::uint32_t slot, double mass, bool in_ring,
                                PenetrationScratch::State& st, Penetration& out) const {
  const NodeIndex node = st.locals[slot].node;
  const std::uint32_t rank = ring_rank_[node];
  std::uint64_t held = 0;
  for (const Holding& h : graph_->holders_of(node)) {
    held += h.share_ppb;
    const auto [to, created] = st.Get(h.node);
    st.locals[to].residual += mass * FromPpb(h.share_ppb);
    if (created) {
      if (in_ring && ring_rank_[h.node] == rank) {
        st.ring.push_back(to);
      } else {
        st.heap.push_back((static_cast<std::uint64_t>(ring_rank_[h.node]) << 32) |
                          (kNoNode - h.node));
        std::push_heap(st.heap.begin(), st.heap.end());
      }
    }
    if (!in_ring) st.Relax(slot, to, h.share_ppb);
  }
  out.unknown_share += mass * FromPpb(kShareScale - held);
}

// Gauss-Seidel sweeps over the ring's reached companies until the mass left inside is
// under epsilon; then the strongest chains inside the ring (Dijkstra on products, all
// at most 1) and out of it.
void EquityPenetrator::IterateRing(std::uint32_t rank, PenetrationScratch::State& st,
                                   Penetration& out) const {
  double left = 0;
  for (std::uint32_t sweep = 0;; ++sweep) {
    // Amounts under `floor` wait for more: a sweep that pushes nothing leaves under
    // epsilon/2 in the ring, so the loop ends.
    const double floor = params_.epsilon / (2.0 * static_cast<double>(st.ring.size()));
    for (std::size_t i = 0; i < st.ring.size(); ++i) {  // the ring may grow meanwhile
      const std::uint32_t slot = st.ring[i];
      const double mass = st.locals[slot].residual;
      if (mass < floor || mass == 0) continue;
      st.locals[slot].residual = 0;
      st.locals[slot].flow += mass;
      PushMass(slot, mass, true, st, out);
    }
    left = 0;
    for (std::uint32_t slot : st.ring) left += st.locals[slot].residual;
    if (left < params_.epsilon) break;
    if (sweep + 1 >= params_.max_ring_sweeps) {
      out.ring_not_converged = true;
      break;
    }
  }
  out.dropped_share += left;
  for (std::uint32_t slot : st.ring) st.locals[slot].residual = 0;

  auto& heap = st.chain_heap;  // (product, -edges as ~edges, slot)
  heap.clear();
  auto push = [&](std::uint32_t slot) {
    heap.emplace_back(st.locals[slot].best, ~st.locals[slot].edges, slot);
    std::push_heap(heap.begin(), heap.end());
  };
  for (std::uint32_t slot : st.ring) {
    if (st.locals[slot].best >= 0) push(slot);
  }
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    const auto [best, not_edges, slot] = heap.back();
    heap.pop_back();
    if (best != st.locals[slot].best || ~not_edges != st.locals[slot].edges) continue;
    if (st.locals[slot].flow == 0) continue;
    for (const Holding& h : graph_->holders_of(st.locals[slot].node)) {
      if (ring_rank_[h.node] != rank) continue;
      const std::uint32_t to = st.Find(h.node);
      if (st.Relax(slot, to, h.share_ppb)) push(to);
    }
  }
  for (std::uint32_t slot : st.ring) {
    if (st.locals[slot].flow == 0 || st.locals[slot].best < 0) continue;
    for (const Holding& h : graph_->holders_of(st.locals[slot].node)) {
      if (ring_rank_[h.node] != rank) st.Relax(slot, st.Find(h.node), h.share_ppb);
    }
  }
}

void EquityPenetrator::SummariseStructure(NodeIndex target, PenetrationScratch::State& st,
                                          Penetration& out) const {
  const EquityGraph& g = *graph_;
  const double min_flow = std::max(params_.epsilon, params_.opacity_min_share);
  std::uint8_t sides = side_[g.jurisdiction_code(target)];
  out.normalised_on_chain = g.normalised(target);
  out.ring_on_chain = (node_flags_[target] & kInRing) != 0;
  st.codes.clear();
  for (const Local& l : st.locals) {
    if (l.node == target || l.flow < min_flow) continue;
    const std::uint16_t code = g.jurisdiction_code(l.node);
    sides |= side_[code];
    if (secrecy_[code]) st.codes.push_back(code);
    out.shell_on_chain |= g.shell(l.node);
    out.normalised_on_chain |= g.normalised(l.node);
    out.ring_on_chain |= (node_flags_[l.node] & kInRing) != 0;
    if (g.kind(l.node) == NodeKind::kEntity) out.entities_above.push_back({l.node, l.flow});
  }
  std::sort(out.entities_above.begin(), out.entities_above.end(),
            [](const OwnerShare& a, const OwnerShare& b) {
              return a.share != b.share ? a.share > b.share : a.node < b.node;
            });
  out.crosses_border = sides == kBothSides;
  for (std::uint16_t code : st.codes)
    out.secrecy_jurisdictions.push_back(g.jurisdiction_name(code));
  std::sort(out.secrecy_jurisdictions.begin(), out.secrecy_jurisdictions.end());
  out.secrecy_jurisdictions.erase(
      std::unique(out.secrecy_jurisdictions.begin(), out.secrecy_jurisdictions.end()),
      out.secrecy_jurisdictions.end());
}

std::uint32_t EquityPenetrator::ControlLayers(NodeIndex holder, NodeIndex controller) const {
  std::uint32_t layers = 0;
  for (NodeIndex v = holder; v != controller && v != kNoNode; v = control_parent_[v]) ++layers;
  return layers;
}

void EquityPenetrator::FindBeneficialOwners(NodeIndex target, PenetrationScratch::State& st,
                                            Penetration& out) const {
  const EquityGraph& g = *graph_;
  const BeneficialOwnerRule& rule = rules_[rule_index_[g.jurisdiction_code(target)]];
  const bool at_least = rule.comparison == BeneficialOwnerRule::Comparison::kAtLeast;
  auto& bos = out.beneficial_owners;
  if (g.kind(target) == NodeKind::kNaturalPerson) {
    bos.push_back({target, 1.0, 0});
  } else if (rule.chain_rule == BeneficialOwnerRule::ChainRule::kMultiplicative) {
    for (std::uint32_t slot : st.owners) {
      const Local& l = st.locals[slot];
      if (g.kind(l.node) != NodeKind::kNaturalPerson) continue;
      const bool passes = at_least ? l.flow >= rule.threshold - kThresholdTolerance
                                   : l.flow > rule.threshold + kThresholdTolerance;
      if (passes) bos.push_back({l.node, l.flow, l.edges > 0 ? l.edges - 1 : 0});
    }
  } else {
    // Each direct holding of the target goes whole to the holder's majority controller.
    auto& attributed = st.attributed;  // (person, share ppb, holder)
    attributed.clear();
    for (const Holding& h : g.holders_of(target)) {
      const NodeIndex person = controller_[h.node];
      if (person != kNoNode && g.kind(person) == NodeKind::kNaturalPerson) {
        attributed.emplace_back(person, h.share_ppb, h.node);
      }
    }
    std::sort(attributed.begin(), attributed.end());
    const std::uint64_t threshold = ThresholdPpb(rule.threshold);
    for (std::size_t i = 0; i < attributed.size();) {
      const NodeIndex person = std::get<0>(attributed[i]);
      std::uint64_t total = 0;
      std::uint32_t strongest = 0;
      std::uint32_t layers = 0;
      for (; i < attributed.size() && std::get<0>(attributed[i]) == person; ++i) {
        const std::uint32_t share = std::get<1>(attributed[i]);
        const NodeIndex holder = std::get<2>(attributed[i]);
        total += share;
        const std::uint32_t l = ControlLayers(holder, person);
        if (share > strongest || (share == strongest && l < layers)) {
          strongest = share;
          layers = l;
        }
      }
      if (at_least ? total >= threshold : total > threshold) {
        bos.push_back({person, FromPpb(total), layers});
      }
    }
  }
  std::sort(bos.begin(), bos.end(), [](const BeneficialOwner& a, const BeneficialOwner& b) {
    return a.share != b.share ? a.share > b.share : a.node < b.node;
  });
  out.no_identifiable_beneficial_owner = bos.empty();
  for (const BeneficialOwner& b : bos) {
    out.layers_to_beneficial_owner = std::max(out.layers_to_beneficial_owner, b.layers);
  }
}

std::uint8_t EquityPenetrator::SideMask(std::span<const NodeIndex> nodes) const {
  std::uint8_t sides = 0;
  for (NodeIndex v : nodes) sides |= side_[graph_->jurisdiction_code(v)];
  return sides;
}

// ---------------------------------------------------------------------------------
// EquityPenetrator: explanations

StatusOr<std::vector<Chain>> EquityPenetrator::Explain(NodeIndex target) const {
  return Explain(target, params_.explain_max_chains);
}

// Best-first over partial chains: products only shrink as a chain grows, so chains
// reach each owner in decreasing order of product.
StatusOr<std::vector<Chain>> EquityPenetrator::Explain(NodeIndex target,
                                                       std::size_t max_chains) const {
  CG_ASSIGN_OR_RETURN(Penetration p, Penetrate(target));
  std::vector<NodeIndex> goals;
  for (const BeneficialOwner& b : p.beneficial_owners) goals.push_back(b.node);
  if (goals.empty()) {
    for (const OwnerShare& o : p.ultimate_owners) goals.push_back(o.node);
  }
  std::vector<Chain> chains;
  if (goals.empty() || max_chains == 0) return chains;
  std::vector<NodeIndex> sorted_goals = goals;
  std::sort(sorted_goals.begin(), sorted_goals.end());
  std::vector<std::vector<std::uint32_t>> found(goals.size());  // per sorted goal
  std::size_t open_goals = goals.size();

  struct Step {
    NodeIndex node;
    std::uint32_t parent;
    std::uint32_t share_ppb;
    double product;
  };
  std::vector<Step> steps = {{target, kNoSlot, kShareScale, 1.0}};
  // (product, -step) so that equal products come out in the order they were made.
  std::vector<std::pair<double, std::int64_t>> heap = {{1.0, 0}};
  while (!heap.empty() && open_goals > 0) {
    std::pop_heap(heap.begin(), heap.end());
    const auto index = static_cast<std::uint32_t>(-heap.back().second);
    heap.pop_back();
    const Step step = steps[index];
    auto goal = std::lower_bound(sorted_goals.begin(), sorted_goals.end(), step.node);
    if (goal != sorted_goals.end() && *goal == step.node) {
      auto& mine = found[goal - sorted_goals.begin()];
      if (mine.size() < max_chains) {
        mine.push_back(index);
        if (mine.size() == max_chains) --open_goals;
      }
    }
    for (const Holding& h : graph_->holders_of(step.node)) {
      if (steps.size() >= params_.explain_max_expansions) break;
      const double product = step.product * h.share();
      if (product < params_.epsilon) continue;
      bool on_chain = false;
      for (std::uint32_t s = index; s != kNoSlot && !on_chain; s = steps[s].parent) {
        on_chain = steps[s].node == h.node;
      }
      if (on_chain) continue;
      steps.push_back({h.node, index, h.share_ppb, product});
      heap.emplace_back(product, -static_cast<std::int64_t>(steps.size() - 1));
      std::push_heap(heap.begin(), heap.end());
    }
  }

  for (NodeIndex owner : goals) {
    const auto k =
        std::lower_bound(sorted_goals.begin(), sorted_goals.end(), owner) - sorted_goals.begin();
    for (std::uint32_t last : found[k]) {
      Chain c;
      c.product = steps[last].product;
      for (std::uint32_t s = last; s != kNoSlot; s = steps[s].parent) {
        c.nodes.push_back(steps[s].node);
        if (steps[s].parent != kNoSlot) c.shares.push_back(FromPpb(steps[s].share_ppb));
      }
      std::reverse(c.nodes.begin(), c.nodes.end());
      std::reverse(c.shares.begin(), c.shares.end());
      c.crosses_border = SideMask(c.nodes) == kBothSides;
      chains.push_back(std::move(c));
    }
  }
  return chains;
}

std::string CanonicalPenetrationParams(const PenetrationParams& p) {
  std::string out;
  auto number = [&out](std::string_view key, double value) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " %.17g\n", value);
    out.append("penetration.").append(key).append(buf);
  };
  auto list = [&out](std::string_view key, const std::vector<std::string>& values) {
    out.append("penetration.").append(key);
    for (const auto& v : values) out.append(" ").append(v);
    out.append("\n");
  };
  auto rule = [&](const std::string& key, const BeneficialOwnerRule& r) {
    number(key + ".threshold", r.threshold);
    number(key + ".more_than", r.comparison == BeneficialOwnerRule::Comparison::kMoreThan);
    number(key + ".majority_attribution",
           r.chain_rule == BeneficialOwnerRule::ChainRule::kMajorityAttribution);
  };
  number("epsilon", p.epsilon);
  number("max_ring_sweeps", p.max_ring_sweeps);
  number("control_threshold", p.control_threshold);
  for (const auto& r : p.beneficial_owner_rules) {
    rule("beneficial_owner_rule." + r.jurisdiction, r.rule);
  }
  rule("default_beneficial_owner_rule", p.default_beneficial_owner_rule);
  list("secrecy_jurisdictions", p.secrecy_jurisdictions);
  list("mainland_jurisdictions", p.mainland_jurisdictions);
  list("hong_kong_jurisdictions", p.hong_kong_jurisdictions);
  number("opacity_min_share", p.opacity_min_share);
  number("explain_max_chains", static_cast<double>(p.explain_max_chains));
  number("explain_max_expansions", static_cast<double>(p.explain_max_expansions));
  return out;
}

}  // namespace cg::mapping
