// The monthly batch evaluation (DESIGN §2 flow 4): recompute every entity of the
// node's side for a period from the store (grades, ownership of both sides,
// cross-border performance) with the joint model, and store the evaluations in one
// transaction. Parallel over entities; the results do not depend on the thread
// count (each entity is computed alone, and written in entity order).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/store.h"
#include "mapping/equity_graph.h"
#include "mapping/joint_model.h"
#include "mapping/scale.h"
#include "specs/status.h"

namespace cg::gateway {

// Whose entities the node evaluates: Shenzhen's from sz-grades, or Hong Kong's from
// hk-bureau files.
enum class HomeSide { kShenzhen, kHongKong };

struct BatchOptions {
  std::string period;  // YYYY-MM
  HomeSide side = HomeSide::kShenzhen;
  // Scales graded on; the first is the node's home scale (the joint grade). For a
  // Hong Kong node put the Hong Kong scale first.
  std::vector<mapping::Scale> scales = {mapping::ShenzhenSixLevelScale(),
                                        mapping::HongKongBureauScale()};
  mapping::JointModelParams model;
  mapping::PenetrationParams penetration;
  unsigned threads = 2;
  // Called with a stage name ("grades", "ownership", "graph", "performance",
  // "evaluate", "store") and progress within it; never from two threads at once.
  std::function<void(std::string_view stage, uint64_t done, uint64_t total)> progress;
};

struct BatchSummary {
  uint64_t evaluated = 0;
  uint64_t graph_nodes = 0;
  uint64_t graph_edges = 0;
  uint64_t performance_records = 0;
  // Entity statements of the other side used for foreign entities in the graph
  // (their native PD, and their owners when the feed gives them none), and stored
  // statements that applied but failed the content checks and were ignored.
  uint64_t entity_statements_used = 0;
  uint64_t entity_statements_rejected = 0;
  // Entities in the graph that are not the node's own and have no statement: they
  // carry the model's unknown_native_pd (reason NO_NATIVE_DATA) as parents.
  uint64_t foreign_entities_without_native_data = 0;
  std::map<std::string, uint64_t> distribution;  // home-scale grade -> entities
  std::string previous_period;                   // empty when none
  // Other periods whose evaluation was begun and not completed (hidden from readers).
  std::vector<std::string> unfinished_periods;
  std::vector<GradeTransition> transitions;  // from the previous period
  // Active attestations whose grade the new evaluations changed, now superseded.
  uint64_t superseded_attestations = 0;
  // Wall time of each stage: "grades", "ownership", "graph", "performance" (on a
  // second connection alongside ownership and graph when the store allows it; then
  // "performance wait" is how long the graph waited for it), "evaluate" (with the
  // writes of the previous block overlapped) and "store" (waits for the writer, and
  // the commit).
  std::map<std::string, double> stage_seconds;
  double wall_seconds = 0;
};

// kInvalidArgument for a bad period or parameters; kFailedPrecondition when the
// store holds no grades for the period; store errors as the store reports them.
StatusOr<BatchSummary> EvaluatePeriod(Store& store, const BatchOptions& options);

}  // namespace cg::gateway
