// The node's store: feeds, and later evaluations and attestations. A narrow
// interface with an embedded SQLite implementation (the default; WAL) and room
// for a PostgreSQL one behind the same calls (DESIGN §8). Chosen by URL:
//   sqlite:PATH          a database file (created with its schema if missing)
//   sqlite::memory:      a private in-memory database (tests)
// The schema is versioned; Open applies the migrations the database lacks, in one
// transaction each, and refuses a database newer than this program.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "mapping/feeds.h"
#include "specs/status.h"

namespace cg::gateway {

struct LoadCounts {
  uint64_t stored = 0;     // new rows, and rows whose values changed
  uint64_t unchanged = 0;  // rows already stored with the same values
};

// One feed load: a single transaction. Nothing is visible to readers, and nothing
// survives a crash, until Commit() returns OK. Destroying it uncommitted rolls
// back. Not thread-safe.
class FeedLoad {
 public:
  virtual ~FeedLoad() = default;
  virtual Status Put(const mapping::SzGradeRecord& record) = 0;
  virtual Status Put(const mapping::OwnershipRecord& record) = 0;
  virtual Status Put(const mapping::PerformanceRecord& record) = 0;
  virtual Status Put(const mapping::HkBureauRecord& record) = 0;
  // Records the load (feed, source, counts) and commits durably.
  struct Source {
    std::string name;  // the file name, for the record of loads
    uint64_t rows = 0;
    uint64_t rejected = 0;
  };
  virtual StatusOr<LoadCounts> Commit(const Source& source) = 0;
};

// An entity's evaluation for a period, as the batch evaluation stores it.
struct StoredEvaluation {
  std::string entity_id;
  std::string period;
  double joint_pd = 0;
  uint32_t score = 0;
  std::string grade;       // on the node's home scale
  std::string evaluation;  // binary cg.v1.Evaluation, ready to be attested
};

// Replaces one period's evaluations: a single transaction, like FeedLoad.
class EvaluationLoad {
 public:
  virtual ~EvaluationLoad() = default;
  virtual Status Put(const StoredEvaluation& evaluation) = 0;
  virtual Status Commit() = 0;
};

// How many entities went from one grade to another between two periods; `from` is
// empty for entities not evaluated in the previous period.
struct GradeTransition {
  std::string from;
  std::string to;
  uint64_t count = 0;
};

template <typename T>
using RowVisitor = std::function<Status(const T&)>;

class Store {
 public:
  // Opens (and migrates) the store at `url`. kInvalidArgument for an unknown URL
  // scheme; kUnavailable when the database cannot be opened; kFailedPrecondition
  // for a database made by a newer program; kDataLoss for a corrupt one.
  static StatusOr<std::unique_ptr<Store>> Open(const std::string& url);

  virtual ~Store() = default;

  // Starts loading a feed. Only one load at a time per store (kAborted when the
  // database is busy with another writer beyond the busy timeout).
  virtual StatusOr<std::unique_ptr<FeedLoad>> BeginLoad(mapping::FeedKind kind) = 0;

  // The batch evaluation's reads. Each calls `visit` for every row, in key order,
  // and stops at the first error `visit` returns.
  // The grades of one period.
  virtual Status ScanSzGrades(std::string_view period,
                              const RowVisitor<mapping::SzGradeRecord>& visit) = 0;
  // Each holding's latest row dated on or before `as_of_max` (YYYY-MM-DD).
  virtual Status ScanOwnership(std::string_view as_of_max,
                               const RowVisitor<mapping::OwnershipRecord>& visit) = 0;
  // The holders of one entity: each holding's latest row dated on or before
  // `as_of_max`, by holder id. For walking up one entity's ownership (explain).
  virtual Status ScanHoldersOf(std::string_view owned_id, std::string_view as_of_max,
                               const RowVisitor<mapping::OwnershipRecord>& visit) = 0;
  // Every performance record, a subject's records at a time (subjects in id order,
  // each subject's records by record_id). The span is valid during the call only.
  virtual Status ScanPerformance(
      const RowVisitor<std::span<const mapping::PerformanceRecord>>& visit) = 0;
  // Every hk-bureau record (one per entity, the latest loaded), by entity_id.
  virtual Status ScanHkBureau(const RowVisitor<mapping::HkBureauRecord>& visit) = 0;

  // Starts replacing the evaluations of `period`.
  virtual StatusOr<std::unique_ptr<EvaluationLoad>> BeginEvaluations(std::string_view period) = 0;
  // The entity's evaluation for `period`, or its latest when `period` is empty;
  // kNotFound when there is none.
  virtual StatusOr<StoredEvaluation> GetEvaluation(std::string_view entity_id,
                                                   std::string_view period) = 0;
  // The latest evaluated period before `period`; empty when there is none.
  virtual StatusOr<std::string> PreviousEvaluatedPeriod(std::string_view period) = 0;
  virtual StatusOr<std::vector<GradeTransition>> CompareGrades(std::string_view period,
                                                               std::string_view previous) = 0;

  // Another connection to the same store, for reading in parallel with this one
  // (the batch evaluation scans two tables at once). kUnimplemented for a store
  // that cannot be shared, such as a private in-memory database.
  virtual StatusOr<std::unique_ptr<Store>> OpenAnother() = 0;

  // How many rows a feed's table holds.
  virtual StatusOr<uint64_t> CountRows(mapping::FeedKind kind) = 0;

  // The schema version the database is at.
  virtual int schema_version() const = 0;
};

// The newest schema version this program knows.
int LatestSchemaVersion();

}  // namespace cg::gateway
