#include "gateway/batch_evaluation.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <thread>

#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "gateway/entity_statement.h"
#include "mapping/calendar.h"
#include "mapping/evaluation.h"
#include "mapping/identifier.h"
#include "proto/attestation.pb.h"

namespace cg::gateway {
namespace {

using mapping::NodeIndex;

// Interns ids to dense indexes with one arena and an open-addressing table: about
// 40 bytes per id at 7 million ids, where a std::unordered_map<std::string> takes
// several times that. Each slot keeps 32 bits of the id's hash beside its index, so
// a probe past another id, and growing the table, rarely touch the arena (each
// touch a cache miss at this size).
class IdInterner {
 public:
  uint32_t Intern(std::string_view id) { return Insert(id).first; }
  // The id's index, and whether it was new.
  std::pair<uint32_t, bool> Insert(std::string_view id) {
    if ((size() + 1) * 2 > slots_.size()) Grow();
    const uint64_t hash = Hash(id);
    for (size_t slot = Home(hash, slots_.size());; slot = (slot + 1) & (slots_.size() - 1)) {
      const uint64_t entry = slots_[slot];
      if (entry == kEmpty) {
        const auto index = static_cast<uint32_t>(size());
        arena_.append(id);
        offsets_.push_back(arena_.size());
        slots_[slot] = Tag(hash) | index;
        return {index, true};
      }
      if ((entry & kTagMask) == Tag(hash) && Get(Index(entry)) == id) return {Index(entry), false};
    }
  }
  std::optional<uint32_t> Find(std::string_view id) const {
    if (slots_.empty()) return std::nullopt;
    const uint64_t hash = Hash(id);
    for (size_t slot = Home(hash, slots_.size());; slot = (slot + 1) & (slots_.size() - 1)) {
      const uint64_t entry = slots_[slot];
      if (entry == kEmpty) return std::nullopt;
      if ((entry & kTagMask) == Tag(hash) && Get(Index(entry)) == id) return Index(entry);
    }
  }
  std::string_view Get(uint32_t i) const {
    return std::string_view(arena_.data() + offsets_[i], offsets_[i + 1] - offsets_[i]);
  }
  size_t size() const { return offsets_.size() - 1; }
  // The ids' characters, all together.
  size_t bytes() const { return arena_.size(); }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static constexpr uint64_t kTagMask = 0xFFFFFFFF00000000ull;
  // The tag is the hash's high half, and the first slot to try is taken from the
  // tag's low bits: so growing the table places every entry without its id.
  static uint64_t Tag(uint64_t hash) { return hash & kTagMask; }
  static size_t Home(uint64_t hash, size_t slots) { return (hash >> 32) & (slots - 1); }
  static uint32_t Index(uint64_t entry) { return static_cast<uint32_t>(entry); }
  static uint64_t Hash(std::string_view s) {
    // libstdc++'s word-at-a-time hash, then a final mix for the low bits.
    uint64_t h = std::hash<std::string_view>{}(s);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
  }
  void Grow() {
    std::vector<uint64_t> old = std::move(slots_);
    slots_.assign(std::max<size_t>(1024, old.size() * 2), kEmpty);
    const size_t mask = slots_.size() - 1;  // at most 2^32 slots: Home() uses the tag's bits
    for (uint64_t entry : old) {
      if (entry == kEmpty) continue;
      size_t slot = Home(entry, slots_.size());
      while (slots_[slot] != kEmpty) slot = (slot + 1) & mask;
      slots_[slot] = entry;
    }
  }
  std::string arena_;
  std::vector<uint64_t> offsets_{0};
  std::vector<uint64_t> slots_;
};

// What the batch keeps of each graded entity.
struct GradedEntity {
  uint8_t grade = 0;  // index into kGrades
  bool serious_dishonesty = false;
  bool abnormal_operation = false;
  bool shell_risk = false;
};
constexpr std::string_view kGrades[] = {"A+", "A", "B", "C", "D", "E"};

// A performance summary without its reason texts (made again when needed).
struct CompactPerformance {
  uint32_t records = 0;
  uint32_t defaults = 0;
  uint32_t disputes = 0;
  bool sufficient = false;
  double amount_cny = 0;
  double on_time_rate = 0;
  double days_beyond_terms = 0;
};

mapping::PerformanceResult Expand(const CompactPerformance& c,
                                  const mapping::PerformanceParams& p) {
  mapping::PerformanceResult r;
  r.window_months = static_cast<uint32_t>(p.window_months);
  r.records = c.records;
  r.amount_cny = c.amount_cny;
  r.on_time_rate = c.on_time_rate;
  r.days_beyond_terms = c.days_beyond_terms;
  r.days_beyond_terms_score = mapping::DaysBeyondTermsScore(c.days_beyond_terms);
  r.defaults = c.defaults;
  r.disputes = c.disputes;
  r.sufficient_evidence = c.sufficient;
  r.reasons = mapping::PerformanceReasons(r, p);
  return r;
}

cg::v1::IdScheme SchemeOf(std::string_view id) {
  if (id.starts_with("uscc:")) return cg::v1::ID_SCHEME_USCC;
  if (id.starts_with("hkbrn:")) return cg::v1::ID_SCHEME_HKBRN;
  if (id.starts_with("hkcrn:")) return cg::v1::ID_SCHEME_HKCRN;
  if (id.starts_with("lei:")) return cg::v1::ID_SCHEME_LEI;
  return cg::v1::ID_SCHEME_UNSPECIFIED;
}

// Lowers the calling thread's scheduling priority (its nice value: per thread on
// Linux). The evaluating threads call it so that, with as many of them as cores,
// the one thread writing to the store still gets a core to itself whenever it has
// work: it is the slower half of the pipeline, and on two cores it would otherwise
// get two thirds of one. The evaluating threads take whatever CPU is left.
void YieldToTheWriter() {
  const auto thread = static_cast<id_t>(gettid());
  errno = 0;
  const int nice = getpriority(PRIO_PROCESS, thread);  // -1 is a valid value: errno tells
  if (errno == 0) (void)setpriority(PRIO_PROCESS, thread, std::min(nice + 10, 19));
}

class Stopwatch {
 public:
  double Lap() {
    const auto now = std::chrono::steady_clock::now();
    const double s = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return s;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace

StatusOr<BatchSummary> EvaluatePeriod(Store& store, const BatchOptions& o) {
  if (!mapping::IsPeriod(o.period)) {
    return InvalidArgumentError("period must be YYYY-MM, got '" + o.period.substr(0, 16) + "'");
  }
  if (o.scales.empty()) return InvalidArgumentError("no scales to grade on");
  CG_RETURN_IF_ERROR(mapping::ValidateParams(o.model));
  std::mutex progress_mutex;  // two stages run at once
  auto progress = [&](std::string_view stage, uint64_t done, uint64_t total) {
    std::lock_guard lock(progress_mutex);
    if (o.progress) o.progress(stage, done, total);
  };
  BatchSummary summary;
  Stopwatch watch;
  Stopwatch wall;

  // 1. Cross-border performance, summarised per subject as the rows stream by
  // (grouped by subject), with a digest of the records for the evidence digest. It
  // runs on a second connection from the start, alongside steps 2, 3 and 4 (after
  // step 2 on the one connection when the store cannot be shared). Summaries are
  // kept with their subject's id and matched to the graded entities once step 2
  // hands over a copy of their ids (the copy keeps the two threads apart).
  std::vector<CompactPerformance> performance;
  std::vector<std::array<char, 32>> performance_digest;
  std::promise<IdInterner> graded_ids_given;
  std::future<IdInterner> graded_ids_taken = graded_ids_given.get_future();
  std::atomic<bool> abandoned{false};  // this function returns early: the scan stops
  auto scan_performance = [&](Store& reader) -> Status {
    // Until step 2 hands the graded ids over, summaries are kept with their subject's
    // id; from then on each goes straight to its entity, and subjects that are not
    // graded (not evaluated by this node) are skipped.
    std::optional<IdInterner> graded_ids;
    std::string subjects;  // subjects with records, back to back
    std::vector<uint64_t> subject_ends;
    std::vector<CompactPerformance> found;
    std::vector<std::array<char, 32>> found_digest;
    auto take_graded_ids = [&] {
      graded_ids = graded_ids_taken.get();
      performance.resize(graded_ids->size());
      performance_digest.resize(graded_ids->size());
      for (size_t i = 0, begin = 0; i < found.size(); begin = subject_ends[i++]) {
        const auto node =
            graded_ids->Find(std::string_view(subjects).substr(begin, subject_ends[i] - begin));
        if (!node) continue;
        performance[*node] = found[i];
        performance_digest[*node] = found_digest[i];
      }
      std::string().swap(subjects);
      std::vector<uint64_t>().swap(subject_ends);
      std::vector<CompactPerformance>().swap(found);
      std::vector<std::array<char, 32>>().swap(found_digest);
    };
    std::string line;
    uint64_t rows = 0;
    CG_RETURN_IF_ERROR(
        reader.ScanPerformance([&](std::span<const mapping::PerformanceRecord> records) -> Status {
          if (rows / 1048576 != (rows + records.size()) / 1048576) {
            if (abandoned) return Status(StatusCode::kCancelled, "the evaluation stopped");
            progress("performance", rows + records.size(), 0);
          }
          rows += records.size();
          if (!graded_ids &&
              graded_ids_taken.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
            take_graded_ids();
          }
          std::optional<uint32_t> node;
          if (graded_ids) {
            node = graded_ids->Find(records.front().subject_id);
            if (!node) return OkStatus();
          }
          const auto r = mapping::AssessPerformance(records, o.period, o.model.performance);
          const CompactPerformance summary_of_records{static_cast<uint32_t>(r.records),
                                                      r.defaults,
                                                      r.disputes,
                                                      r.sufficient_evidence,
                                                      r.amount_cny,
                                                      r.on_time_rate,
                                                      r.days_beyond_terms};
          crypto::Sha256Hasher hasher;
          for (const auto& p : records) {
            // "performance|record_id|due|settled|amount|currency|status\n", the amount
            // in the shortest form that reads back exactly.
            char amount[32];
            char* amount_end = std::to_chars(amount, amount + sizeof amount, p.amount).ptr;
            line.assign("performance|").append(p.record_id).append("|").append(p.due_date);
            line.append("|")
                .append(p.settled_date)
                .append("|")
                .append(amount, static_cast<size_t>(amount_end - amount));
            line.append("|").append(p.currency).append("|");
            line.append(std::to_string(static_cast<int>(p.status))).append("\n");
            hasher.Update(line);
          }
          const std::string digest = hasher.Finish();
          if (node) {
            performance[*node] = summary_of_records;
            std::copy(digest.begin(), digest.end(), performance_digest[*node].begin());
          } else {
            found.push_back(summary_of_records);
            std::copy(digest.begin(), digest.end(), found_digest.emplace_back().begin());
            subjects += records.front().subject_id;
            subject_ends.push_back(subjects.size());
          }
          return OkStatus();
        }));
    summary.performance_records = rows;
    if (!graded_ids) take_graded_ids();
    return OkStatus();
  };
  std::unique_ptr<Store> second_connection;
  if (auto another = store.OpenAnother(); another.ok()) {
    second_connection = std::move(*another);
  }
  std::future<Status> performance_scanned;
  double performance_seconds = 0;
  if (second_connection) {
    performance_scanned = std::async(std::launch::async, [&] {
      Stopwatch own;
      Status s = scan_performance(*second_connection);
      performance_seconds = own.Lap();
      return s;
    });
  }
  // Waits for the parallel scan however this function returns, since it writes
  // into locals; first hands it the graded ids if step 2 did not get that far.
  struct Join {
    std::future<Status>& f;
    std::promise<IdInterner>& ids;
    std::atomic<bool>& abandoned;
    bool given = false;
    void Give(IdInterner graded) {
      ids.set_value(std::move(graded));
      given = true;
    }
    ~Join() {
      abandoned = true;
      if (!given) ids.set_value(IdInterner{});
      if (f.valid()) f.wait();
    }
  } join{performance_scanned, graded_ids_given, abandoned};

  // 2. The entities the node evaluates are nodes 0 .. graded-1: the period's
  // Shenzhen grades, or the Hong Kong bureau files.
  const bool shenzhen = o.side == HomeSide::kShenzhen;
  IdInterner ids;
  std::vector<GradedEntity> graded;
  std::string names;  // graded entities' names, back to back
  std::vector<uint64_t> name_offsets{0};
  std::vector<mapping::NativeAssessment> hk_native;  // Hong Kong: by node
  std::vector<std::string> hk_evidence;              // Hong Kong: first evidence line
  // After ids.Insert(id) found it new: graded entity i is id i.
  auto add_graded = [&](const std::string& name, GradedEntity g) {
    graded.push_back(g);
    names += name;
    name_offsets.push_back(names.size());
    if (graded.size() % 65536 == 0) progress("grades", graded.size(), 0);
  };
  if (shenzhen) {
    CG_RETURN_IF_ERROR(store.ScanSzGrades(o.period, [&](const mapping::SzGradeRecord& r) {
      if (!ids.Insert(r.entity_id).second) return OkStatus();
      GradedEntity g;
      g.grade = static_cast<uint8_t>(std::find(std::begin(kGrades), std::end(kGrades), r.grade) -
                                     std::begin(kGrades));
      g.serious_dishonesty = r.serious_dishonesty;
      g.abnormal_operation = r.abnormal_operation;
      g.shell_risk = r.shell_risk;
      add_graded(r.name, g);
      return OkStatus();
    }));
  } else {
    CG_RETURN_IF_ERROR(store.ScanHkBureau([&](const mapping::HkBureauRecord& r) {
      if (!ids.Insert(r.entity_id).second) return OkStatus();
      add_graded(r.name, GradedEntity{});
      hk_native.push_back(mapping::AssessHongKong(r, mapping::DaysFromDate(r.as_of), o.model));
      hk_evidence.push_back("hk-bureau|" + r.entity_id + "|" + r.as_of + "|" +
                            crypto::HexEncode(crypto::Sha256(mapping::SerializeHkBureau(r))) +
                            "\n");
      return OkStatus();
    }));
  }
  if (graded.empty()) {
    return FailedPreconditionError(
        shenzhen ? "the store holds no sz-grades for " + o.period +
                       ": load them first (credit-gateway load sz-grades FILE)"
                 : std::string("the store holds no hk-bureau records: load them first "
                               "(credit-gateway load hk-bureau FILE)"));
  }
  summary.stage_seconds["grades"] = watch.Lap();
  join.Give(ids);

  // 3. Ownership of both sides, as of the period's end.
  struct Edge {
    uint32_t holder, owned;
    double share, voting;
  };
  std::vector<Edge> edges;
  // By node, for nodes seen as holders: an index into `jurisdictions` (0: none given).
  std::vector<std::string> jurisdictions{""};
  std::vector<uint16_t> holder_jurisdiction;
  auto set_jurisdiction = [&](uint32_t node, std::string_view jurisdiction) {
    if (holder_jurisdiction[node] != 0 || jurisdiction.empty()) return;
    auto known = std::find(jurisdictions.begin(), jurisdictions.end(), jurisdiction);
    if (known == jurisdictions.end() && jurisdictions.size() < 0xFFFF) {
      known = jurisdictions.emplace(jurisdictions.end(), jurisdiction);
    }
    if (known != jurisdictions.end()) {
      holder_jurisdiction[node] = static_cast<uint16_t>(known - jurisdictions.begin());
    }
  };
  std::vector<uint8_t> is_person;
  // Dates compare as text: every day of the period sorts at or before "YYYY-MM-31".
  const std::string as_of_max = o.period + "-31";
  // Rows come in holder order: a holder's rows follow each other, so its index is
  // looked up once.
  std::string last_holder_id;
  uint32_t last_holder = 0;
  CG_RETURN_IF_ERROR(store.ScanOwnership(as_of_max, [&](const mapping::OwnershipRecord& r) {
    if (edges.empty() || r.holder_id != last_holder_id) {
      last_holder = ids.Intern(r.holder_id);
      last_holder_id = r.holder_id;
    }
    const uint32_t holder = last_holder;
    const uint32_t owned = ids.Intern(r.owned_id);
    if (holder_jurisdiction.size() < ids.size()) {
      holder_jurisdiction.resize(ids.size());
      is_person.resize(ids.size(), 0);
    }
    set_jurisdiction(holder, r.holder_jurisdiction);
    is_person[holder] = r.holder_is_person;
    edges.push_back({holder, owned, r.share, r.voting});
    if (edges.size() % 262144 == 0) progress("ownership", edges.size(), 0);
    return OkStatus();
  }));
  holder_jurisdiction.resize(ids.size());
  is_person.resize(ids.size(), 0);

  // 3b. Entity statements of the other side (specs/peer-protocol.md §4) for the
  // foreign entities in the graph: the statement's native PD replaces the prior for
  // the entity, and an entity the feed gives no holders gets the statement's owners
  // as holders, so penetration goes on across the border. Statements are read in
  // entity order, so the graph does not depend on the thread count.
  std::vector<std::pair<uint32_t, double>> statement_pd;  // node, native PD
  std::map<uint32_t, std::string> statement_digest;       // node, SHA-256 of the statement
  {
    std::vector<uint8_t> has_holders(ids.size(), 0);
    for (const Edge& e : edges) has_holders[e.owned] = 1;
    const std::string_view other_side = shenzhen ? "hk" : "sz";
    CG_RETURN_IF_ERROR(store.ScanEntityStatements([&](const StoredEntityStatement& row) -> Status {
      const auto node = ids.Find(row.entity_id);
      // Not in the graph, or one of the node's own entities.
      if (!node || *node < graded.size() || is_person[*node]) return OkStatus();
      if (!StatementAppliesTo(row, o.period)) return OkStatus();
      // Verified when fetched; checked again so that a damaged row cannot derail the
      // month's batch.
      cg::v1::EntityStatement s;
      if (!s.ParseFromString(row.statement) || s.subject().id() != row.entity_id ||
          s.issuer().side() != other_side || !ValidateEntityStatement(s).ok()) {
        ++summary.entity_statements_rejected;
        return OkStatus();
      }
      ++summary.entity_statements_used;
      statement_pd.emplace_back(*node, s.native_pd());
      statement_digest[*node] = crypto::Sha256(row.statement);
      if (has_holders[*node]) return OkStatus();  // the feed's own holders come first
      for (const auto& owner : s.owners()) {
        const uint32_t holder = ids.Intern(owner.holder_id());
        if (holder_jurisdiction.size() < ids.size()) {
          holder_jurisdiction.resize(ids.size());
          is_person.resize(ids.size(), 0);
        }
        if (owner.natural_person()) {
          is_person[holder] = 1;
        } else {
          set_jurisdiction(holder, owner.jurisdiction());
        }
        edges.push_back({holder, *node, owner.integrated_share(), owner.integrated_share()});
      }
      return OkStatus();
    }));
  }
  summary.stage_seconds["ownership"] = watch.Lap();

  // 4. The equity graph. Real feeds carry mistakes: holders over 100% are scaled down
  // and flagged rather than stopping the whole month's evaluation.
  mapping::EquityGraphBuilder builder(mapping::OverSubscribedHolders::kNormalise);
  builder.Reserve(ids.size(), ids.bytes(), edges.size());
  for (uint32_t i = 0; i < ids.size(); ++i) {
    const bool person = is_person[i] != 0;
    std::string_view jurisdiction = i < graded.size() ? std::string_view(shenzhen ? "CN-SZ" : "HK")
                                    : holder_jurisdiction[i] != 0
                                        ? jurisdictions[holder_jurisdiction[i]]
                                        : mapping::JurisdictionOfEntityId(ids.Get(i));
    builder.AddNode(ids.Get(i),
                    person ? mapping::NodeKind::kNaturalPerson : mapping::NodeKind::kEntity,
                    jurisdiction, i < graded.size() && graded[i].shell_risk);
  }
  for (const Edge& e : edges) {
    Status added = builder.AddHolding(e.holder, e.owned, e.share, e.voting);
    if (!added.ok()) {
      return added.WithContext("holding of " + std::string(ids.Get(e.owned)) + " by " +
                               std::string(ids.Get(e.holder)));
    }
  }
  std::vector<Edge>().swap(edges);
  std::vector<uint16_t>().swap(holder_jurisdiction);
  CG_ASSIGN_OR_RETURN(mapping::EquityGraph graph, std::move(builder).Build());
  CG_ASSIGN_OR_RETURN(mapping::EquityPenetrator penetrator,
                      mapping::EquityPenetrator::Create(graph, o.penetration));
  summary.graph_nodes = graph.size();
  summary.graph_edges = graph.edge_count();
  summary.stage_seconds["graph"] = watch.Lap();
  if (performance_scanned.valid()) {
    CG_RETURN_IF_ERROR(performance_scanned.get());
    summary.stage_seconds["performance"] = performance_seconds;
    summary.stage_seconds["performance wait"] = watch.Lap();
  } else {
    CG_RETURN_IF_ERROR(scan_performance(store));
    summary.stage_seconds["performance"] = watch.Lap();
  }

  // 5. Native PD of every node (the parents' risk needs it), then the joint model.
  // A Shenzhen entity's native assessment depends only on its grade and three flags:
  // the 48 of them are made once, not once per entity.
  std::vector<mapping::NativeAssessment> shenzhen_native;
  if (shenzhen) {
    for (uint8_t grade = 0; grade < 6; ++grade) {
      for (uint8_t flags = 0; flags < 8; ++flags) {
        mapping::SzGradeRecord r;
        r.grade = std::string(kGrades[grade]);
        r.serious_dishonesty = flags & 1;
        r.abnormal_operation = flags & 2;
        r.shell_risk = flags & 4;
        shenzhen_native.push_back(mapping::AssessShenzhen(r, o.model));
      }
    }
  }
  auto shenzhen_native_of = [&](const GradedEntity& g) -> const mapping::NativeAssessment& {
    const size_t flags =
        (g.serious_dishonesty ? 1 : 0) | (g.abnormal_operation ? 2 : 0) | (g.shell_risk ? 4 : 0);
    return shenzhen_native[std::min<size_t>(g.grade, 5) * 8 + flags];
  };
  std::vector<double> native_pd(graph.size(), o.model.unknown_native_pd);
  for (size_t i = 0; i < graded.size(); ++i) {
    native_pd[i] = shenzhen ? shenzhen_native_of(graded[i]).pd : hk_native[i].pd;
  }
  for (const auto& [node, pd] : statement_pd) native_pd[node] = pd;
  {
    std::vector<uint8_t> stated(graph.size(), 0);
    for (const auto& entry : statement_pd) stated[entry.first] = 1;
    for (size_t i = graded.size(); i < graph.size(); ++i) {
      if (!stated[i] && graph.kind(static_cast<NodeIndex>(i)) == mapping::NodeKind::kEntity) {
        ++summary.foreign_entities_without_native_data;
      }
    }
  }
  // Everything that shapes a result: the joint model, the penetration and the scales.
  std::string canonical =
      mapping::CanonicalParams(o.model) + mapping::CanonicalPenetrationParams(o.penetration);
  for (const auto& scale : o.scales) canonical += scale.CanonicalText();
  const std::string parameter_digest = crypto::Sha256(canonical);
  const mapping::Scale& home = o.scales.front();

  // What one evaluating thread reuses from entity to entity, so that an evaluation
  // costs few allocations: the message (Clear() keeps its strings' and repeated
  // fields' memory), the penetration's scratch, the factor and evidence lists.
  struct Scratch {
    mapping::PenetrationScratch penetration;
    cg::v1::Evaluation evaluation;
    mapping::EquityFactors equity;
    std::vector<std::string> holdings;
  };
  auto evaluate_one = [&](uint32_t node, Scratch& scratch, StoredEvaluation& out) -> Status {
    const GradedEntity& g = graded[node];
    mapping::NativeAssessment hong_kong;
    if (!shenzhen) {
      hong_kong = hk_native[node];
      hong_kong.scale = home.name();
      hong_kong.grade = home.GradeForPd(hong_kong.pd);
    }
    const mapping::NativeAssessment& native = shenzhen ? shenzhen_native_of(g) : hong_kong;
    CG_ASSIGN_OR_RETURN(mapping::Penetration p, penetrator.Penetrate(node, scratch.penetration));
    mapping::EquityFactors& equity = scratch.equity;
    equity.parents.clear();
    for (const auto& above : p.entities_above) {
      equity.parents.push_back({above.share, native_pd[above.node]});
    }
    equity.layers_to_beneficial_owner = p.layers_to_beneficial_owner;
    equity.secrecy_jurisdictions.clear();
    for (auto j : p.secrecy_jurisdictions) equity.secrecy_jurisdictions.emplace_back(j);
    equity.ring_on_chain = p.ring_on_chain;
    equity.no_identifiable_beneficial_owner = p.no_identifiable_beneficial_owner;
    equity.shell_on_chain = p.shell_on_chain;
    equity.unknown_share = p.unknown_share;
    equity.crosses_border = p.crosses_border;
    const mapping::PerformanceResult perf = Expand(performance[node], o.model.performance);
    const mapping::JointResult joint = mapping::Combine(native, equity, perf, o.model);

    cg::v1::Evaluation& e = scratch.evaluation;
    e.Clear();
    const std::string_view id = ids.Get(node);
    auto* subject = e.mutable_subject();
    subject->mutable_id()->assign(id);
    subject->set_scheme(SchemeOf(id));
    subject->mutable_name()->assign(names, name_offsets[node],
                                    name_offsets[node + 1] - name_offsets[node]);
    subject->set_jurisdiction(shenzhen ? "CN-SZ" : "HK");
    e.set_period(o.period);
    e.set_model_version(std::string(mapping::kJointModelVersion));
    e.set_parameter_digest(parameter_digest);
    e.mutable_native_grade()->set_scale(native.scale);
    e.mutable_native_grade()->set_grade(native.grade);
    e.set_native_pd(native.pd);
    e.set_joint_pd(joint.joint_pd);
    e.set_joint_score(joint.score);
    e.mutable_joint_grade()->set_scale(home.name());
    e.mutable_joint_grade()->set_grade(home.GradeForPd(joint.joint_pd));
    for (size_t s = 1; s < o.scales.size(); ++s) {
      auto* other = e.add_other_grades();
      other->set_scale(o.scales[s].name());
      other->set_grade(o.scales[s].GradeForPd(joint.joint_pd));
    }
    for (const auto& r : joint.top_reasons) {
      auto* reason = e.add_reasons();
      reason->set_code(r.code);
      reason->set_description(r.description);
      reason->set_contribution(r.contribution);
    }
    auto* eq = e.mutable_equity();
    for (const auto& bo : p.beneficial_owners) {
      auto* owner = eq->add_beneficial_owners();
      owner->set_holder_id(std::string(graph.id(bo.node)));
      owner->set_integrated_share(bo.share);
      owner->set_controller(p.controller && *p.controller == bo.node);
    }
    if (p.controller) eq->set_ultimate_controller(std::string(graph.id(*p.controller)));
    eq->set_layers_to_beneficial_owner(p.layers_to_beneficial_owner);
    for (const auto& j : equity.secrecy_jurisdictions) eq->add_secrecy_jurisdictions(j);
    eq->set_ring_detected(p.ring_on_chain);
    eq->set_no_identifiable_beneficial_owner(p.no_identifiable_beneficial_owner);
    eq->set_unknown_share(p.unknown_share);
    eq->set_crosses_border(p.crosses_border);
    auto* pf = e.mutable_performance();
    pf->set_window_months(perf.window_months);
    pf->set_records(perf.records);
    pf->set_on_time_rate(perf.on_time_rate);
    pf->set_days_beyond_terms_score(perf.days_beyond_terms_score);
    pf->set_defaults(perf.defaults);
    pf->set_disputes(perf.disputes);
    pf->set_sufficient_evidence(perf.sufficient_evidence);
    // Evidence: the grade row, the direct holdings and the performance records used.
    crypto::Sha256Hasher evidence;
    // Ids are checked at load (the longest, a pseudonym, has 43 characters), so lines
    // fit; a line cut short would still never be read past its buffer.
    char line[160];
    int n = 0;
    auto written = [&] {
      return std::string_view(line, std::min(static_cast<size_t>(std::max(0, n)), sizeof line - 1));
    };
    if (shenzhen) {
      n = std::snprintf(line, sizeof line, "sz-grade|%.*s|%s|%s|%d%d%d\n",
                        static_cast<int>(id.size()), id.data(), o.period.c_str(),
                        native.grade.c_str(), g.serious_dishonesty, g.abnormal_operation,
                        g.shell_risk);
      evidence.Update(written());
    } else {
      evidence.Update(hk_evidence[node]);
    }
    // Holdings in holder id order (specs/joint-model.md §7), not graph order.
    std::vector<std::string>& holdings = scratch.holdings;
    size_t holding_count = 0;
    for (const auto& h : graph.holders_of(node)) {
      const std::string_view holder = graph.id(h.node);
      n = std::snprintf(line, sizeof line, "holding|%.*s|%u|%u\n", static_cast<int>(holder.size()),
                        holder.data(), h.share_ppb, h.voting_ppb);
      if (holding_count == holdings.size()) holdings.emplace_back();
      holdings[holding_count++].assign(written());
    }
    std::sort(holdings.begin(), holdings.begin() + static_cast<ptrdiff_t>(holding_count));
    for (size_t i = 0; i < holding_count; ++i) evidence.Update(holdings[i]);
    evidence.Update(std::string_view(performance_digest[node].data(), 32));
    // The entity statements the penetration used, in node id order.
    if (!statement_digest.empty()) {
      std::vector<std::string> statements;
      for (const auto& above : p.entities_above) {
        auto it = statement_digest.find(above.node);
        if (it == statement_digest.end()) continue;
        statements.push_back("statement|" + std::string(graph.id(above.node)) + "|" +
                             crypto::HexEncode(it->second) + "\n");
      }
      std::sort(statements.begin(), statements.end());
      for (const auto& statement : statements) evidence.Update(statement);
    }
    e.set_evidence_digest(evidence.Finish());

    out.entity_id.assign(id);
    out.period = o.period;
    out.joint_pd = joint.joint_pd;
    out.score = joint.score;
    out.grade = e.joint_grade().grade();
    if (!e.SerializeToString(&out.evaluation)) return InternalError("cannot encode an evaluation");
    return OkStatus();
  };

  // Blocks of entities are evaluated in parallel; each block is written to the store
  // by a writer thread while the next one is evaluated.
  CG_ASSIGN_OR_RETURN(auto load, store.BeginEvaluations(o.period));
  const unsigned threads = std::max(1u, o.threads);
  constexpr uint32_t kBlock = 32768;
  std::vector<StoredEvaluation> blocks[2] = {std::vector<StoredEvaluation>(kBlock),
                                             std::vector<StoredEvaluation>(kBlock)};
  std::vector<Scratch> scratches(threads);
  std::future<Status> writing;
  struct JoinWriter {
    std::future<Status>& f;
    ~JoinWriter() {
      if (f.valid()) f.wait();
    }
  } join_writer{writing};
  double store_wait_seconds = 0;
  auto wait_for_writer = [&]() -> Status {
    if (!writing.valid()) return OkStatus();
    Stopwatch waited;
    Status written = writing.get();
    store_wait_seconds += waited.Lap();
    return written;
  };
  for (uint32_t begin = 0, b = 0; begin < graded.size(); begin += kBlock, b ^= 1) {
    const uint32_t end = std::min<uint32_t>(begin + kBlock, static_cast<uint32_t>(graded.size()));
    std::vector<StoredEvaluation>& block = blocks[b];
    std::vector<Status> results(threads);
    std::vector<std::thread> workers;
    // Threads take runs of entities as they go, so one slowed by the writer thread (or
    // by a costly structure) does not keep the other waiting at the block's end.
    constexpr uint32_t kRun = 256;
    std::atomic<uint32_t> next_run{begin};
    for (unsigned t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        YieldToTheWriter();
        for (uint32_t from = next_run.fetch_add(kRun); from < end;
             from = next_run.fetch_add(kRun)) {
          for (uint32_t node = from; node < std::min(from + kRun, end); ++node) {
            Status s = evaluate_one(node, scratches[t], block[node - begin]);
            if (!s.ok()) {
              results[t] = s.WithContext(std::string(ids.Get(node)));
              next_run = end;  // the others stop too
              return;
            }
          }
        }
      });
    }
    for (auto& w : workers) w.join();
    for (const Status& s : results) CG_RETURN_IF_ERROR(s);
    CG_RETURN_IF_ERROR(wait_for_writer());
    writing = std::async(std::launch::async, [&, count = end - begin]() -> Status {
      CG_RETURN_IF_ERROR(load->PutAll(std::span<const StoredEvaluation>(block.data(), count)));
      for (uint32_t i = 0; i < count; ++i) ++summary.distribution[block[i].grade];
      return OkStatus();
    });
    summary.evaluated = end;
    progress("evaluate", end, graded.size());
  }
  CG_RETURN_IF_ERROR(wait_for_writer());
  Stopwatch commit;
  CG_RETURN_IF_ERROR(load->Commit());
  const double commit_seconds = commit.Lap();
  const double evaluate_and_store = watch.Lap();
  // What storing cost beyond the evaluation it overlapped: waits for the writer, then
  // the commit (with SQLite's checkpoint of the WAL into the database).
  summary.stage_seconds["store"] = store_wait_seconds;
  summary.stage_seconds["commit"] = commit_seconds;
  summary.stage_seconds["evaluate"] = evaluate_and_store - store_wait_seconds - commit_seconds;
  // Attestations of a grade the subject no longer has are superseded.
  const int64_t now_seconds = std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  CG_ASSIGN_OR_RETURN(summary.superseded_attestations, store.SupersedeChangedGrades(now_seconds));
  CG_ASSIGN_OR_RETURN(summary.unfinished_periods, store.UnfinishedEvaluations());
  CG_ASSIGN_OR_RETURN(summary.previous_period, store.PreviousEvaluatedPeriod(o.period));
  if (!summary.previous_period.empty()) {
    CG_ASSIGN_OR_RETURN(summary.transitions,
                        store.CompareGrades(o.period, summary.previous_period));
  }
  summary.wall_seconds = wall.Lap();
  return summary;
}

}  // namespace cg::gateway
