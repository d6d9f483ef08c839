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
#include <vector>

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

// Replaces one period's evaluations. Readers see none of them until Commit() returns
// OK; a load destroyed uncommitted leaves the period hidden until one commits.
class EvaluationLoad {
 public:
  virtual ~EvaluationLoad() = default;
  virtual Status Put(const StoredEvaluation& evaluation) = 0;
  // Put of each, in order; a store may write them faster together.
  virtual Status PutAll(std::span<const StoredEvaluation> evaluations) {
    for (const StoredEvaluation& e : evaluations) CG_RETURN_IF_ERROR(Put(e));
    return OkStatus();
  }
  virtual Status Commit() = 0;
};

// How many entities went from one grade to another between two periods; `from` is
// empty for entities not evaluated in the previous period.
struct GradeTransition {
  std::string from;
  std::string to;
  uint64_t count = 0;
};

// A firm's consent to have its evaluation shared: for one subject, one purpose,
// optionally one audience, until a time; withdrawable.
struct StoredConsent {
  std::string consent_id;
  std::string subject_id;
  std::string purpose;
  std::string audience;     // empty: any relying party
  int64_t valid_until = 0;  // Unix seconds
  int64_t recorded_at = 0;
  std::string recorded_by;   // the client certificate's CN that recorded it
  int64_t withdrawn_at = 0;  // 0 while in force
};

// An entity statement of the other side (specs/peer-protocol.md §4), verified
// before it was stored; the batch evaluation uses it for that entity.
struct StoredEntityStatement {
  std::string entity_id;  // the statement's subject
  std::string issuer_node_id;
  std::string period;  // YYYY-MM of the evaluation it states
  double native_pd = 0;
  double joint_pd = 0;
  std::string grade;        // the joint grade on the issuer's home scale
  int64_t valid_until = 0;  // Unix seconds
  int64_t fetched_at = 0;   // Unix seconds
  std::string statement;    // binary cg.v1.EntityStatement
  std::string envelope;     // binary cg.v1.Envelope, as the issuer signed it
};

template <typename T>
using RowVisitor = std::function<Status(const T&)>;

// An attestation's state; the numbers are cg.v1.AttestationState's.
enum class AttestationState : uint8_t { kActive = 1, kSuperseded = 2, kRevoked = 3 };

// An attestation or recognition the node issued, as the store keeps it.
struct StoredAttestation {
  std::string attestation_id;
  bool recognition = false;
  std::string subject_id;
  std::string period;
  std::string grade;        // the joint grade on the home scale, or the translated grade
  int64_t issued_at = 0;    // Unix seconds
  int64_t valid_until = 0;  // Unix seconds
  std::string audience;
  uint64_t status_index = 0;
  std::string recognizes;  // a recognition: the foreign attestation's id
  AttestationState state = AttestationState::kActive;
  std::string reason;      // why it is no longer active
  int64_t changed_at = 0;  // Unix seconds; 0 while active
  std::string superseded_by;
  std::string envelope;     // binary cg.v1.Envelope
  std::string consent_ref;  // the consent it was issued under, if any
};

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
  // A number that grows with every commit that changes what GetEvaluation answers
  // (a period's evaluation completed, or replaced): what was derived from the
  // evaluations at one generation holds while the generation is the same.
  virtual StatusOr<uint64_t> EvaluationsGeneration() = 0;
  // The latest evaluated period before `period`; empty when there is none.
  virtual StatusOr<std::string> PreviousEvaluatedPeriod(std::string_view period) = 0;
  // Periods whose evaluation was begun and not completed (a batch running now, or
  // one that stopped part way): readers leave them out until a batch completes them.
  virtual StatusOr<std::vector<std::string>> UnfinishedEvaluations() = 0;
  virtual StatusOr<std::vector<GradeTransition>> CompareGrades(std::string_view period,
                                                               std::string_view previous) = 0;

  // Attestations. PutAttestations stores a batch in one transaction, synced to disk
  // before it returns (so a caller may hand them out); all or none. An id or status
  // index already stored is kAlreadyExists and stores none of the batch.
  virtual Status PutAttestations(std::span<const StoredAttestation> batch) = 0;
  // kNotFound when there is none with that id.
  virtual StatusOr<StoredAttestation> GetAttestation(std::string_view attestation_id) = 0;
  // A subject's attestations, newest first, at most `limit`, without envelopes.
  // Every stored attestation is listed, whether or not its subject is filed yet
  // (kSubjectFilingBatch).
  virtual StatusOr<std::vector<StoredAttestation>> ListAttestations(std::string_view subject_id,
                                                                    size_t limit) = 0;
  // Every active recognition (this node's recognitions of other sides'
  // attestations), by status index.
  virtual Status ScanActiveRecognitions(const RowVisitor<StoredAttestation>& visit) = 0;
  // One more than the largest status index stored; 0 when there is none.
  virtual StatusOr<uint64_t> NextStatusIndex() = 0;
  // Marks an attestation superseded or revoked at `at` (Unix seconds) with a reason.
  // kNotFound for an unknown id; kFailedPrecondition when it is revoked already, or
  // superseded already and `state` is kSuperseded.
  virtual Status ChangeAttestationState(std::string_view attestation_id, AttestationState state,
                                        std::string_view reason, int64_t at) = 0;
  // Supersedes every active attestation whose subject's latest evaluation grades it
  // differently from what it attested (a new period, or a re-evaluation after a
  // credit repair). Returns how many it superseded.
  virtual StatusOr<uint64_t> SupersedeChangedGrades(int64_t at) = 0;
  // The attestations no longer active, by status index (for the status list).
  virtual Status ScanInactiveAttestations(const RowVisitor<StoredAttestation>& visit) = 0;

  // Consents. kAlreadyExists for an id already stored.
  virtual Status PutConsent(const StoredConsent& consent) = 0;
  // kNotFound when there is none with that id.
  virtual StatusOr<StoredConsent> GetConsent(std::string_view consent_id) = 0;
  // Marks a consent withdrawn at `at` (Unix seconds) and revokes, in the same
  // transaction, the attestations issued under it. kNotFound for an unknown id;
  // kFailedPrecondition when it is withdrawn already.
  virtual Status WithdrawConsent(std::string_view consent_id, int64_t at) = 0;

  // Entity statements of the other side. PutEntityStatements replaces each
  // entity's statement (one per entity, the latest fetched) in one transaction: all
  // or none. It stores what it is given: verify first (gateway/entity_statement.h).
  virtual Status PutEntityStatements(std::span<const StoredEntityStatement> statements) = 0;
  // Every stored statement, by entity id.
  virtual Status ScanEntityStatements(const RowVisitor<StoredEntityStatement>& visit) = 0;
  // kNotFound when there is none for that entity.
  virtual StatusOr<StoredEntityStatement> GetEntityStatement(std::string_view entity_id) = 0;
  // The holders in the ownership feed (each holding's latest row dated on or before
  // `as_of_max`) that are entities of the other side: for home side "sz" the
  // hkbrn: and hkcrn: holders, for "hk" the uscc: ones. Distinct, in id order:
  // the entities the node needs statements of. kInvalidArgument for another side.
  virtual Status ScanForeignHolders(std::string_view as_of_max, std::string_view home_side,
                                    const RowVisitor<std::string>& visit) = 0;

  // Another connection to the same store, for reading in parallel with this one
  // (the batch evaluation scans two tables at once), with a smaller page cache.
  // kFailedPrecondition for a store that cannot be shared, such as a private
  // in-memory database.
  virtual StatusOr<std::unique_ptr<Store>> OpenAnother() = 0;

  // How many rows a feed's table holds.
  virtual StatusOr<uint64_t> CountRows(mapping::FeedKind kind) = 0;

  // The schema version the database is at.
  virtual int schema_version() const = 0;
};

// The newest schema version this program knows.
int LatestSchemaVersion();

// The store finds a subject's attestations through an index it files in sorted
// batches, on a thread of its own, once this many have been stored by a connection
// (gateway/sqlite_store.cc, kSubjectSchema); a listing scans the ones stored since.
// Filing each attestation as it is stored wrote a page of that index at random per
// issuance; a batch writes most of its pages once each, so fewer, larger batches cost
// less, but a listing scans up to about this many attestations.
inline constexpr uint64_t kSubjectFilingBatch = 4096;

}  // namespace cg::gateway
