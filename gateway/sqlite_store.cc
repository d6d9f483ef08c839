// The SQLite implementation of Store. Every sqlite3_* result code is translated
// into a Status here, and nowhere else.
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <future>
#include <mutex>
#include <random>
#include <thread>
#include <tuple>
#include <vector>

#include "gateway/on_demand_task.h"
#include "gateway/sorted_load.h"
#include "gateway/store.h"
#include "specs/timestamps.h"

namespace cg::gateway {
namespace {

// Each migration brings the schema from version i to i + 1. Append only: a
// released migration is never edited.
constexpr const char* kMigrations[] = {
    // 1: the feeds, and a record of every load.
    R"sql(
CREATE TABLE sz_grades (
  entity_id TEXT NOT NULL,
  period TEXT NOT NULL,
  name TEXT NOT NULL,
  grade TEXT NOT NULL,
  industry TEXT NOT NULL,
  business_changes REAL NOT NULL,
  registration_licensing REAL NOT NULL,
  penalties REAL NOT NULL,
  complaints REAL NOT NULL,
  commendations REAL NOT NULL,
  serious_dishonesty INTEGER NOT NULL,
  abnormal_operation INTEGER NOT NULL,
  shell_risk INTEGER NOT NULL,
  PRIMARY KEY (entity_id, period)
) WITHOUT ROWID;
CREATE TABLE ownership (
  holder_id TEXT NOT NULL,
  owned_id TEXT NOT NULL,
  as_of TEXT NOT NULL,
  holder_is_person INTEGER NOT NULL,
  holder_jurisdiction TEXT NOT NULL,
  share REAL NOT NULL,
  voting REAL NOT NULL,
  PRIMARY KEY (holder_id, owned_id, as_of)
) WITHOUT ROWID;
CREATE INDEX ownership_by_owned ON ownership (owned_id);
CREATE TABLE performance (
  subject_id TEXT NOT NULL,
  record_id TEXT NOT NULL,
  counterparty_jurisdiction TEXT NOT NULL,
  kind INTEGER NOT NULL,
  due_date TEXT NOT NULL,
  settled_date TEXT NOT NULL,
  amount REAL NOT NULL,
  currency TEXT NOT NULL,
  status INTEGER NOT NULL,
  PRIMARY KEY (subject_id, record_id)
) WITHOUT ROWID;
CREATE TABLE feed_loads (
  id INTEGER PRIMARY KEY,
  feed TEXT NOT NULL,
  source TEXT NOT NULL,
  rows INTEGER NOT NULL,
  rejected INTEGER NOT NULL,
  stored INTEGER NOT NULL,
  unchanged INTEGER NOT NULL,
  loaded_at TEXT NOT NULL
);
)sql",
    // 2: the evaluations of each period.
    R"sql(
CREATE TABLE evaluations (
  entity_id TEXT NOT NULL,
  period TEXT NOT NULL,
  joint_pd REAL NOT NULL,
  score INTEGER NOT NULL,
  grade TEXT NOT NULL,
  evaluation BLOB NOT NULL,
  PRIMARY KEY (entity_id, period)
) WITHOUT ROWID;
CREATE INDEX evaluations_by_period ON evaluations (period);
)sql",
    // 3: Hong Kong bureau files, one per entity (the nested record as binary
    // cg.v1.HkBureauEntry).
    R"sql(
CREATE TABLE hk_bureau (
  entity_id TEXT PRIMARY KEY NOT NULL,
  as_of TEXT NOT NULL,
  record BLOB NOT NULL
) WITHOUT ROWID;
)sql",
    // 4: the attestations and recognitions the node issued, with their state (the
    // status list is made from it). Times are Unix seconds; the envelope is binary.
    R"sql(
CREATE TABLE attestations (
  attestation_id TEXT NOT NULL UNIQUE,
  status_index INTEGER NOT NULL UNIQUE,
  recognition INTEGER NOT NULL,
  subject_id TEXT NOT NULL,
  period TEXT NOT NULL,
  grade TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  valid_until INTEGER NOT NULL,
  audience TEXT NOT NULL,
  recognizes TEXT NOT NULL,
  state INTEGER NOT NULL,
  reason TEXT NOT NULL,
  changed_at INTEGER NOT NULL,
  superseded_by TEXT NOT NULL,
  envelope BLOB NOT NULL
);
CREATE INDEX attestations_by_subject ON attestations (subject_id, issued_at);
CREATE INDEX attestations_inactive ON attestations (status_index) WHERE state <> 1;
CREATE INDEX attestations_active ON attestations (subject_id) WHERE state = 1;
)sql",
    // 5: consents (times in Unix seconds; withdrawn_at 0 while in force).
    R"sql(
CREATE TABLE consents (
  consent_id TEXT PRIMARY KEY NOT NULL,
  subject_id TEXT NOT NULL,
  purpose TEXT NOT NULL,
  audience TEXT NOT NULL,
  valid_until INTEGER NOT NULL,
  recorded_at INTEGER NOT NULL,
  recorded_by TEXT NOT NULL,
  withdrawn_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX consents_by_subject ON consents (subject_id);
ALTER TABLE attestations ADD COLUMN consent_ref TEXT NOT NULL DEFAULT '';
CREATE INDEX attestations_by_consent ON attestations (consent_ref) WHERE consent_ref <> '';
)sql",
    // 6: entity statements of the other side, one per entity (times in Unix seconds).
    R"sql(
CREATE TABLE entity_statements (
  entity_id TEXT PRIMARY KEY NOT NULL,
  issuer_node_id TEXT NOT NULL,
  period TEXT NOT NULL,
  native_pd REAL NOT NULL,
  joint_pd REAL NOT NULL,
  grade TEXT NOT NULL,
  valid_until INTEGER NOT NULL,
  fetched_at INTEGER NOT NULL,
  statement BLOB NOT NULL,
  envelope BLOB NOT NULL
) WITHOUT ROWID;
)sql",
    // 7: periods whose evaluations are being written. A batch of a new period commits
    // them in parts (so the WAL is checkpointed as it goes, not 2 GB at the end);
    // every reader leaves a marked period out until the batch's last commit removes
    // the mark. run_id tells the batch that marked it.
    R"sql(
CREATE TABLE evaluation_runs (
  period TEXT PRIMARY KEY NOT NULL,
  run_id INTEGER NOT NULL,
  started_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    // 8: active attestations indexed by status index, not subject: an issuance then
    // adds to the end of the index, where a subject key dirtied a random page of it
    // (each a page written to the WAL per group commit). The scans that use it (active
    // recognitions, supersession) go in status-index order anyway.
    R"sql(
DROP INDEX attestations_active;
CREATE INDEX attestations_active ON attestations (status_index) WHERE state = 1;
)sql",
    // 9: a count of the commits that changed what readers see of the evaluations (a
    // period's evaluation completed or replaced), so a server can tell that what it
    // rendered from them still holds by reading one row (Store::EvaluationsGeneration).
    R"sql(
CREATE TABLE store_generations (
  name TEXT PRIMARY KEY NOT NULL,
  generation INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO store_generations VALUES ('evaluations', 0);
)sql",
    // 10: a subject's attestations are found through the subject file (see
    // kSubjectSchema), not an index of this one: that index took a page at random per
    // issuance, a quarter of an issuance's store work.
    R"sql(
DROP INDEX IF EXISTS attestations_by_subject;
)sql",
};

// The schema version whose migration brought the subject file.
constexpr int kSubjectFileVersion = 10;
// The subject file's own format (its user_version).
constexpr int kSubjectFileFormat = 1;

// The subject file, beside the store's (PATH-subjects, attached as `subjects`): the
// attestations' subjects, filed in sorted batches by a thread of their own
// (SqliteStore::AfterStoring) up to a mark, the rowid of the last attestation filed. A listing
// reads what is filed there and scans the attestations past the mark, so it never
// depends on the filing having caught up. In a file of its own so that filing, a
// write, never holds up the attestations' writer. Derived data: a subject file
// that is missing, or that does not match the store (the attestation at its mark
// has another id, say after a restore), is filed again from the start.
// Rowids serve as the mark because attestations are never deleted: they have no
// gaps, and VACUUM keeps them.
constexpr const char* kSubjectSchema = R"sql(
CREATE TABLE IF NOT EXISTS subjects.attestation_subjects (
  subject_id TEXT NOT NULL,
  status_index INTEGER NOT NULL,
  PRIMARY KEY (subject_id, status_index)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subjects.filed (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  last_rowid INTEGER NOT NULL,
  last_attestation_id TEXT NOT NULL
);
INSERT OR IGNORE INTO subjects.filed VALUES (0, 0, '');
)sql";

// The condition that leaves out periods whose evaluation is still being written
// (migration 7), for a query over `evaluations` (or an alias of it).
#define CG_COMPLETE_PERIOD(alias) alias "period NOT IN (SELECT period FROM evaluation_runs)"

constexpr const char* kAttestationColumns =
    "attestation_id, recognition, subject_id, period, grade, issued_at, valid_until, audience, "
    "status_index, recognizes, state, reason, changed_at, superseded_by";

// At most this many are filed in one transaction (a first filing of a large store).
constexpr int64_t kMaxFiledAtOnce = 1 << 18;

constexpr int kBusyTimeoutMs = 10000;

// A file's path as an SQLite URI ("file:PATH"), with the characters a URI gives a
// meaning to escaped. Leading slashes past the first are dropped ("//x" is "/x"
// here; in a URI it would name a host).
std::string SqliteUri(std::string_view path) {
  while (path.starts_with("//")) path.remove_prefix(1);
  std::string out = "file:";
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || std::strchr("/-._~", c) != nullptr) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

// The page cache of a connection (1 GiB), and of a connection during a feed load
// written in key order (64 MiB; see SqliteFeedLoad::Begin).
constexpr const char* kCacheSize = "PRAGMA cache_size = -1048576";
constexpr const char* kLoadCacheSize = "PRAGMA cache_size = -65536";

Status SqliteStatus(sqlite3* db, int rc, std::string_view what) {
  std::string message = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status(StatusCode::kAborted, message + " (the store is busy)");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLossError(message);
    case SQLITE_FULL:
      return ResourceExhaustedError(message);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
      return UnavailableError(message);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return PermissionDeniedError(message);
    case SQLITE_CONSTRAINT:
      return FailedPreconditionError(message);
    default:
      return InternalError(message);
  }
}

// A prepared statement, finalised on destruction.
class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  Status Prepare(sqlite3* db, std::string_view sql) {
    db_ = db;
    const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
    return rc == SQLITE_OK ? OkStatus() : SqliteStatus(db, rc, "prepare");
  }
  void Text(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  void Real(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  void Int(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  // Runs a statement that returns no rows; resets it for the next use.
  Status Run(std::string_view what) {
    const int rc = sqlite3_step(stmt_);
    sqlite3_reset(stmt_);
    return rc == SQLITE_DONE ? OkStatus() : SqliteStatus(db_, rc, what);
  }
  // Steps once: true with a row, false when done.
  StatusOr<bool> Step(std::string_view what) {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteStatus(db_, rc, what);
  }
  int64_t ColumnInt(int i) { return sqlite3_column_int64(stmt_, i); }
  double ColumnReal(int i) { return sqlite3_column_double(stmt_, i); }
  std::string_view ColumnText(int i) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
    return text ? std::string_view(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, i)))
                : std::string_view();
  }
  // Ready for new bindings and steps (a statement kept for reuse).
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  void Blob(int i, std::string_view v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  std::string_view ColumnBlob(int i) {
    const auto* blob = static_cast<const char*>(sqlite3_column_blob(stmt_, i));
    return blob ? std::string_view(blob, static_cast<size_t>(sqlite3_column_bytes(stmt_, i)))
                : std::string_view();
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a kept statement when the scope that used it ends, so it holds no read
// transaction open and no bindings to memory that is gone.
class StatementReset {
 public:
  explicit StatementReset(Statement& statement) : statement_(statement) {}
  ~StatementReset() { statement_.Reset(); }

 private:
  Statement& statement_;
};

Status Exec(sqlite3* db, const char* sql, std::string_view what) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return OkStatus();
  std::string message = std::string(what) + ": " + (error ? error : sqlite3_errstr(rc));
  sqlite3_free(error);
  return SqliteStatus(nullptr, rc, message);
}

// Reads a row of "SELECT * FROM entity_statements".
StoredEntityStatement ReadEntityStatement(Statement& row) {
  StoredEntityStatement e;
  e.entity_id = row.ColumnText(0);
  e.issuer_node_id = row.ColumnText(1);
  e.period = row.ColumnText(2);
  e.native_pd = row.ColumnReal(3);
  e.joint_pd = row.ColumnReal(4);
  e.grade = row.ColumnText(5);
  e.valid_until = row.ColumnInt(6);
  e.fetched_at = row.ColumnInt(7);
  e.statement = row.ColumnBlob(8);
  e.envelope = row.ColumnBlob(9);
  return e;
}

// Reads a row of the ownership queries, whose columns are holder_id, owned_id,
// as_of, holder_is_person, holder_jurisdiction, share, voting.
void ReadOwnershipRow(Statement& row, mapping::OwnershipRecord& r) {
  r.holder_id = row.ColumnText(0);
  r.owned_id = row.ColumnText(1);
  r.as_of = row.ColumnText(2);
  r.holder_is_person = row.ColumnInt(3) != 0;
  r.holder_jurisdiction = row.ColumnText(4);
  r.share = row.ColumnReal(5);
  r.voting = row.ColumnReal(6);
}

std::string_view TableOf(mapping::FeedKind kind) {
  switch (kind) {
    case mapping::FeedKind::kSzGrades:
      return "sz_grades";
    case mapping::FeedKind::kOwnership:
      return "ownership";
    case mapping::FeedKind::kPerformance:
      return "performance";
    case mapping::FeedKind::kHkBureau:
      return "hk_bureau";
  }
  return {};
}

// An upsert that leaves an identical row alone, so sqlite3_changes() tells a
// stored row (1) from an unchanged one (0): "INSERT INTO table VALUES (...), ...
// on_conflict", for one row or for several.
struct Upsert {
  const char* table;
  int columns;
  const char* on_conflict;
};

constexpr Upsert kUpsertSzGrade{"sz_grades", 13, R"sql(
ON CONFLICT (entity_id, period) DO UPDATE SET
  name = excluded.name, grade = excluded.grade, industry = excluded.industry,
  business_changes = excluded.business_changes,
  registration_licensing = excluded.registration_licensing, penalties = excluded.penalties,
  complaints = excluded.complaints, commendations = excluded.commendations,
  serious_dishonesty = excluded.serious_dishonesty,
  abnormal_operation = excluded.abnormal_operation, shell_risk = excluded.shell_risk
WHERE (name, grade, industry, business_changes, registration_licensing, penalties, complaints,
       commendations, serious_dishonesty, abnormal_operation, shell_risk)
  IS NOT (excluded.name, excluded.grade, excluded.industry, excluded.business_changes,
          excluded.registration_licensing, excluded.penalties, excluded.complaints,
          excluded.commendations, excluded.serious_dishonesty, excluded.abnormal_operation,
          excluded.shell_risk)
)sql"};

constexpr Upsert kUpsertOwnership{"ownership", 7, R"sql(
ON CONFLICT (holder_id, owned_id, as_of) DO UPDATE SET
  holder_is_person = excluded.holder_is_person,
  holder_jurisdiction = excluded.holder_jurisdiction, share = excluded.share,
  voting = excluded.voting
WHERE (holder_is_person, holder_jurisdiction, share, voting)
  IS NOT (excluded.holder_is_person, excluded.holder_jurisdiction, excluded.share,
          excluded.voting)
)sql"};

constexpr Upsert kUpsertHkBureau{"hk_bureau", 3, R"sql(
ON CONFLICT (entity_id) DO UPDATE SET as_of = excluded.as_of, record = excluded.record
WHERE (as_of, record) IS NOT (excluded.as_of, excluded.record)
)sql"};

constexpr Upsert kUpsertPerformance{"performance", 9, R"sql(
ON CONFLICT (subject_id, record_id) DO UPDATE SET
  counterparty_jurisdiction = excluded.counterparty_jurisdiction, kind = excluded.kind,
  due_date = excluded.due_date, settled_date = excluded.settled_date,
  amount = excluded.amount, currency = excluded.currency, status = excluded.status
WHERE (counterparty_jurisdiction, kind, due_date, settled_date, amount, currency, status)
  IS NOT (excluded.counterparty_jurisdiction, excluded.kind, excluded.due_date,
          excluded.settled_date, excluded.amount, excluded.currency, excluded.status)
)sql"};

// A plain insert: no conflict clause.
constexpr Upsert kInsertEvaluation{"evaluations", 6, ""};

// The SQL of `upsert` for `rows` rows; row r's column c is parameter r * columns + c + 1.
std::string UpsertSql(const Upsert& upsert, int rows) {
  std::string sql = std::string("INSERT INTO ") + upsert.table + " VALUES ";
  for (int r = 0; r < rows; ++r) {
    sql += r == 0 ? "(" : ", (";
    for (int c = 0; c < upsert.columns; ++c) {
      sql += (c == 0 ? "?" : ", ?") + std::to_string(r * upsert.columns + c + 1);
    }
    sql += ")";
  }
  return sql + upsert.on_conflict;
}

class SqliteFeedLoad : public FeedLoad {
 public:
  SqliteFeedLoad(sqlite3* db, mapping::FeedKind kind) : db_(db), kind_(kind) {}

  ~SqliteFeedLoad() override {
    // The sorters' spill threads must stop before the transaction ends.
    grades_.reset();
    holdings_.reset();
    performance_.reset();
    if (open_) (void)Exec(db_, "ROLLBACK", "rollback");
    if (restore_cache_) (void)Exec(db_, kCacheSize, "configure");
  }

  Status Begin() {
    if (kind_ != mapping::FeedKind::kOwnership) {
      // Rows arrive in key order and these tables have no second index, so every
      // page is filled once and done with: a small cache spills finished pages to
      // the WAL as the load goes, instead of growing to 1 GiB (zeroing every page
      // of it) and writing it all at the commit. At 4 million grades this alone
      // takes the load from 17 s to 12 s. Ownership keeps the large cache for the
      // random inserts into its index by owned_id.
      CG_RETURN_IF_ERROR(Exec(db_, kLoadCacheSize, "configure"));
      restore_cache_ = true;
    }
    CG_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE", "begin load"));
    open_ = true;
    switch (kind_) {
      case mapping::FeedKind::kSzGrades:
        grades_ = std::make_unique<SortedLoad<mapping::SzGradeRecord, SzGradeOrder>>();
        return PrepareUpserts(kUpsertSzGrade, kRowsPerUpsert);
      case mapping::FeedKind::kOwnership:
        holdings_ = std::make_unique<SortedLoad<mapping::OwnershipRecord, OwnershipOrder>>();
        // One row a statement: a cursor kept from row to row on its index by owned_id,
        // which rows reach in no order, made a load of 1.5 million holdings 65% slower.
        return PrepareUpserts(kUpsertOwnership, 1);
      case mapping::FeedKind::kPerformance:
        performance_ = std::make_unique<SortedLoad<mapping::PerformanceRecord, PerformanceOrder>>();
        return PrepareUpserts(kUpsertPerformance, kRowsPerUpsert);
      case mapping::FeedKind::kHkBureau:
        return upsert_.Prepare(db_, UpsertSql(kUpsertHkBureau, 1));
    }
    return InternalError("unknown feed");
  }

  // Rows reach the table in key order (gateway/sorted_load.h): B-tree inserts in key
  // order append instead of splitting pages all over the tree, which is what keeps a
  // load fast once the table outgrows the page cache.
  Status Put(const mapping::SzGradeRecord& r) override { return Buffer(grades_, r); }
  Status Put(const mapping::OwnershipRecord& r) override { return Buffer(holdings_, r); }
  Status Put(const mapping::PerformanceRecord& r) override { return Buffer(performance_, r); }
  Status Put(const mapping::HkBureauRecord& r) override {
    if (kind_ != mapping::FeedKind::kHkBureau) return WrongFeed();
    // Few and large: written as they come.
    upsert_.Text(1, r.entity_id);
    upsert_.Text(2, r.as_of);
    const std::string record = mapping::SerializeHkBureau(r);
    upsert_.Blob(3, record);
    return Run(upsert_, 1);
  }

  StatusOr<LoadCounts> Commit(const Source& source) override {
    if (!open_) return FailedPreconditionError("the load is already committed");
    auto write = [this](auto rows) { return Write(rows); };
    if (grades_) CG_RETURN_IF_ERROR(grades_->DrainBatches(write));
    if (holdings_) CG_RETURN_IF_ERROR(holdings_->DrainBatches(write));
    if (performance_) CG_RETURN_IF_ERROR(performance_->DrainBatches(write));
    Statement record;
    CG_RETURN_IF_ERROR(record.Prepare(
        db_,
        "INSERT INTO feed_loads (feed, source, rows, rejected, stored, unchanged, loaded_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
    record.Text(1, mapping::FeedKindName(kind_));
    record.Text(2, source.name);
    record.Int(3, static_cast<int64_t>(source.rows));
    record.Int(4, static_cast<int64_t>(source.rejected));
    record.Int(5, static_cast<int64_t>(counts_.stored));
    record.Int(6, static_cast<int64_t>(counts_.unchanged));
    const std::string now = FormatRfc3339(std::chrono::floor<std::chrono::seconds>(Clock::now()));
    record.Text(7, now);
    CG_RETURN_IF_ERROR(record.Run("record the load"));
    CG_RETURN_IF_ERROR(Exec(db_, "COMMIT", "commit load"));
    open_ = false;
    return counts_;
  }

 private:
  template <typename Sorter, typename Record>
  Status Buffer(std::unique_ptr<Sorter>& sorter, const Record& r) {
    if (!sorter) return WrongFeed();
    return sorter->Add(r);
  }

  // Rows of a table without a second index go kRowsPerUpsert to a statement: SQLite
  // keeps its cursor on the table from one row to the next, and a row in key order
  // then lands on the last page without a search from the root; the statement's
  // set-up is paid once for them all. sz-grades at 4 million rows: 370k -> 450k rows/s.
  static constexpr int kRowsPerUpsert = 64;

  Status PrepareUpserts(const Upsert& upsert, int rows_per_statement) {
    columns_ = upsert.columns;
    rows_per_statement_ = rows_per_statement;
    CG_RETURN_IF_ERROR(upsert_.Prepare(db_, UpsertSql(upsert, 1)));
    if (rows_per_statement == 1) return OkStatus();
    return upsert_many_.Prepare(db_, UpsertSql(upsert, rows_per_statement));
  }

  template <typename Record>
  Status Write(std::span<const Record* const> rows) {
    size_t i = 0;
    const auto many = static_cast<size_t>(rows_per_statement_);
    for (; many > 1 && i + many <= rows.size(); i += many) {
      for (size_t r = 0; r < many; ++r) {
        Bind(upsert_many_, static_cast<int>(r) * columns_, *rows[i + r]);
      }
      CG_RETURN_IF_ERROR(Run(upsert_many_, rows_per_statement_));
    }
    for (; i < rows.size(); ++i) {
      Bind(upsert_, 0, *rows[i]);
      CG_RETURN_IF_ERROR(Run(upsert_, 1));
    }
    return OkStatus();
  }

  // Binds a record's columns to parameters at + 1, at + 2, ...
  static void Bind(Statement& s, int at, const mapping::SzGradeRecord& r) {
    s.Text(at + 1, r.entity_id);
    s.Text(at + 2, r.period);
    s.Text(at + 3, r.name);
    s.Text(at + 4, r.grade);
    s.Text(at + 5, r.industry);
    for (int d = 0; d < 5; ++d) s.Real(at + 6 + d, r.dimensions[static_cast<size_t>(d)]);
    s.Int(at + 11, r.serious_dishonesty);
    s.Int(at + 12, r.abnormal_operation);
    s.Int(at + 13, r.shell_risk);
  }

  static void Bind(Statement& s, int at, const mapping::OwnershipRecord& r) {
    s.Text(at + 1, r.holder_id);
    s.Text(at + 2, r.owned_id);
    s.Text(at + 3, r.as_of);
    s.Int(at + 4, r.holder_is_person);
    s.Text(at + 5, r.holder_jurisdiction);
    s.Real(at + 6, r.share);
    s.Real(at + 7, r.voting);
  }

  static void Bind(Statement& s, int at, const mapping::PerformanceRecord& r) {
    s.Text(at + 1, r.subject_id);
    s.Text(at + 2, r.record_id);
    s.Text(at + 3, r.counterparty_jurisdiction);
    s.Int(at + 4, static_cast<int>(r.kind));
    s.Text(at + 5, r.due_date);
    s.Text(at + 6, r.settled_date);
    s.Real(at + 7, r.amount);
    s.Text(at + 8, r.currency);
    s.Int(at + 9, static_cast<int>(r.status));
  }

  // Runs an upsert of `rows` rows and counts them stored or unchanged.
  Status Run(Statement& upsert, int rows) {
    CG_RETURN_IF_ERROR(upsert.Run("store rows"));
    const int changed = sqlite3_changes(db_);
    counts_.stored += static_cast<uint64_t>(changed);
    counts_.unchanged += static_cast<uint64_t>(rows - changed);
    return OkStatus();
  }
  Status WrongFeed() const {
    return InternalError("a " + std::string(mapping::FeedKindName(kind_)) +
                         " load was given another feed's record");
  }

  sqlite3* db_;
  mapping::FeedKind kind_;
  bool open_ = false;
  bool restore_cache_ = false;
  Statement upsert_;       // one row
  Statement upsert_many_;  // rows_per_statement_ rows
  int rows_per_statement_ = 1;
  int columns_ = 0;  // of a row in upsert_many_
  LoadCounts counts_;
  // The sorter of this load's feed (none for hk-bureau).
  std::unique_ptr<SortedLoad<mapping::SzGradeRecord, SzGradeOrder>> grades_;
  std::unique_ptr<SortedLoad<mapping::OwnershipRecord, OwnershipOrder>> holdings_;
  std::unique_ptr<SortedLoad<mapping::PerformanceRecord, PerformanceOrder>> performance_;
};

// A period's evaluations. For a period with none stored (the monthly case), written
// in parts of kPartRows rows, each its own commit: SQLite checkpoints the WAL into
// the database after the parts (in this thread, while the batch evaluates the next
// block) instead of copying the whole period, 2 GB at Shenzhen's scale, at one final
// commit. The period is marked in evaluation_runs from the first commit to the last,
// and readers leave it out meanwhile: they see the period whole or not at all. A
// batch that fails or is killed leaves the mark, so the period stays hidden (readers
// see the period before it) until a batch of that period completes.
//
// A period that has evaluations (a re-run, or the rows a failed batch left) is
// replaced in one transaction, as before: its old evaluations stay readable, and
// stay stored if the batch fails, until the new ones are committed.
class SqliteEvaluationLoad : public EvaluationLoad {
 public:
  SqliteEvaluationLoad(sqlite3* db, std::string period) : db_(db), period_(std::move(period)) {}
  ~SqliteEvaluationLoad() override {
    if (open_) (void)Exec(db_, "ROLLBACK", "rollback");
    RestoreSettings();
  }
  Status Begin() {
    // Evaluations come in entity order (the batch's order), so both the table and its
    // index by period are filled in key order: the small cache of a sorted feed load
    // serves (SqliteFeedLoad::Begin).
    CG_RETURN_IF_ERROR(Exec(db_, kLoadCacheSize, "configure"));
    CG_RETURN_IF_ERROR(Exec(db_, kCheckpointPages, "configure"));
    CG_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE", "begin evaluations"));
    open_ = true;
    Statement stored;
    CG_RETURN_IF_ERROR(
        stored.Prepare(db_,
                       "SELECT count(*) FROM (SELECT 1 FROM evaluations WHERE period = ?1 "
                       "LIMIT 1)"));
    stored.Text(1, period_);
    CG_ASSIGN_OR_RETURN(bool row, stored.Step("look for the period's evaluations"));
    in_parts_ = row && stored.ColumnInt(0) == 0;
    if (in_parts_) {
      run_id_ = static_cast<int64_t>(std::random_device{}() >> 1) << 32 | std::random_device{}();
      Statement mark;
      CG_RETURN_IF_ERROR(
          mark.Prepare(db_, "INSERT OR REPLACE INTO evaluation_runs VALUES (?1, ?2, ?3)"));
      mark.Text(1, period_);
      mark.Int(2, run_id_);
      mark.Int(3, std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
      CG_RETURN_IF_ERROR(mark.Run("mark the period's evaluation as running"));
      CG_RETURN_IF_ERROR(NextPart());
    } else {
      Statement clear;
      CG_RETURN_IF_ERROR(clear.Prepare(db_, "DELETE FROM evaluations WHERE period = ?1"));
      clear.Text(1, period_);
      CG_RETURN_IF_ERROR(clear.Run("clear the period's evaluations"));
    }
    CG_RETURN_IF_ERROR(insert_.Prepare(db_, UpsertSql(kInsertEvaluation, 1)));
    return insert_many_.Prepare(db_, UpsertSql(kInsertEvaluation, kRowsPerInsert));
  }
  Status Put(const StoredEvaluation& e) override { return PutAll({&e, 1}); }
  // Rows go kRowsPerInsert to a statement where they can: they come in key order, for
  // the table and for its index by period alike, and SQLite then keeps its cursors
  // on the last pages from row to row (SqliteFeedLoad::kRowsPerUpsert).
  Status PutAll(std::span<const StoredEvaluation> evaluations) override {
    if (!open_) return FailedPreconditionError("the evaluations are not being written");
    for (const StoredEvaluation& e : evaluations) {
      if (e.period != period_) return InternalError("evaluation of another period");
    }
    while (!evaluations.empty()) {
      const size_t rows = evaluations.size() >= kRowsPerInsert ? kRowsPerInsert : 1;
      Statement& insert = rows == 1 ? insert_ : insert_many_;
      for (size_t r = 0; r < rows; ++r) {
        const StoredEvaluation& e = evaluations[r];
        const int at = static_cast<int>(r) * 6;
        insert.Text(at + 1, e.entity_id);
        insert.Text(at + 2, e.period);
        insert.Real(at + 3, e.joint_pd);
        insert.Int(at + 4, e.score);
        insert.Text(at + 5, e.grade);
        insert.Blob(at + 6, e.evaluation);
      }
      CG_RETURN_IF_ERROR(insert.Run("store evaluations"));
      evaluations = evaluations.subspan(rows);
      part_rows_ += rows;
      if (in_parts_ && part_rows_ >= kPartRows) CG_RETURN_IF_ERROR(NextPart());
    }
    return OkStatus();
  }
  Status Commit() override {
    if (!open_) return FailedPreconditionError("the evaluations are not being written");
    // Clears the mark of this run, or of a run a killed batch left.
    Statement unmark;
    CG_RETURN_IF_ERROR(unmark.Prepare(db_, "DELETE FROM evaluation_runs WHERE period = ?1"));
    unmark.Text(1, period_);
    if (in_parts_) CG_RETURN_IF_ERROR(CheckStillOurs());
    CG_RETURN_IF_ERROR(unmark.Run("mark the period's evaluation as complete"));
    CG_RETURN_IF_ERROR(Exec(db_,
                            "UPDATE store_generations SET generation = generation + 1 "
                            "WHERE name = 'evaluations'",
                            "count the evaluations' change"));
    CG_RETURN_IF_ERROR(Exec(db_, "COMMIT", "commit evaluations"));
    open_ = false;
    RestoreSettings();
    return OkStatus();
  }

 private:
  void RestoreSettings() {
    (void)Exec(db_, kCacheSize, "configure");
    (void)Exec(db_, "PRAGMA wal_autocheckpoint = 1000", "configure");  // SQLite's default
  }

  static constexpr size_t kRowsPerInsert = 64;

  // About 36 MB of pages a part, and a checkpoint about every other part (each one
  // syncs the WAL and the database: fewer, larger ones cost less at this size).
  static constexpr uint32_t kPartRows = 65536;
  static constexpr const char* kCheckpointPages = "PRAGMA wal_autocheckpoint = 4096";

  // Another batch of the same period that started meanwhile took the mark over (and
  // replaced the rows): this one must not publish its parts.
  Status CheckStillOurs() {
    Statement mark;
    CG_RETURN_IF_ERROR(mark.Prepare(db_, "SELECT run_id FROM evaluation_runs WHERE period = ?1"));
    mark.Text(1, period_);
    CG_ASSIGN_OR_RETURN(bool row, mark.Step("read the period's mark"));
    if (!row || mark.ColumnInt(0) != run_id_) {
      return Status(StatusCode::kAborted, "another evaluation of " + period_ +
                                              " started while this one ran; this one stops");
    }
    return OkStatus();
  }

  // Commits the part written so far and begins the next.
  Status NextPart() {
    CG_RETURN_IF_ERROR(CheckStillOurs());
    CG_RETURN_IF_ERROR(Exec(db_, "COMMIT", "commit evaluations"));
    open_ = false;
    CG_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE", "begin evaluations"));
    open_ = true;
    part_rows_ = 0;
    return OkStatus();
  }

  sqlite3* db_;
  std::string period_;
  bool open_ = false;
  bool in_parts_ = false;
  int64_t run_id_ = 0;
  size_t part_rows_ = 0;
  Statement insert_;       // one row
  Statement insert_many_;  // kRowsPerInsert rows
};

// Checkpoints a store's WAL on a thread and connection of its own, for a connection
// whose commits must not wait for it: the attestation ledger's. With SQLite's own
// automatic checkpoint the commit that takes the WAL over 1,000 pages copies them
// all into the database and syncs it before it returns, and every issuance of that
// group waits for it. Here the commit only asks (its WAL hook); the checkpoint is
// PASSIVE, so it never blocks the writer or the readers, and what it could not copy
// the next request copies. Other connections that write (consents, revocations)
// keep SQLite's automatic checkpoint: theirs are rare.
class BackgroundCheckpointer {
 public:
  // This many pages added to the WAL ask for a checkpoint (SQLite's default).
  static constexpr int kFrames = 1000;
  // A WAL this long is started again (see BeforeWrite): 64 MiB of 16 KiB pages.
  static constexpr int kRestartFrames = 4 * kFrames;
  // What the writer copies itself to start the WAL again (BeforeWrite): 1 MiB.
  static constexpr int kCatchUpFrames = 64;

  static StatusOr<std::unique_ptr<BackgroundCheckpointer>> Start(const char* path) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      Status status = SqliteStatus(db, rc, "cannot open the store for checkpoints");
      sqlite3_close_v2(db);
      return UnavailableError(status.message());
    }
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    // NORMAL: a checkpoint syncs the database before the WAL may start again. And a
    // connection finds the WAL when it first reads; until then a checkpoint is a
    // no-op ("not in WAL mode").
    if (Status read = Exec(db,
                           "PRAGMA synchronous = NORMAL; "
                           "SELECT count(*) FROM sqlite_master",
                           "prepare for checkpoints");
        !read.ok()) {
      sqlite3_close_v2(db);
      return read;
    }
    return std::unique_ptr<BackgroundCheckpointer>(new BackgroundCheckpointer(db));
  }

  ~BackgroundCheckpointer() {
    task_.reset();  // first: it uses the connection
    sqlite3_close_v2(db_);
  }

  // The WAL starts again only when a write begins after a checkpoint has copied all
  // of it; a writer that never pauses (the ledger under load) always begins while the
  // background checkpoint is still copying, and the WAL would grow without end. So
  // once it is kRestartFrames long, the writer checkpoints before it begins, and the
  // write that follows starts the WAL again. Preferably once the background has
  // copied all but kCatchUpFrames: the writer then copies and syncs a few pages,
  // where up to kFrames (16 MiB) would hold every caller of the write up for tens of
  // milliseconds; until then it asks the background to go on copying. But groups
  // larger than that keep the background from ever getting so close (what it copied
  // is counted from when it began), so past kRestartFrames + kFrames the writer
  // copies whatever is left: by then the background, asked again at every write,
  // has copied most of it.
  void BeforeWrite(sqlite3* writer) {
    const int frames = frames_.load(std::memory_order_relaxed);
    if (frames < kRestartFrames) return;
    if (frames - copied_.load(std::memory_order_relaxed) > kCatchUpFrames &&
        frames < kRestartFrames + kFrames) {
      task_->Request();
      return;
    }
    // SQLITE_BUSY while the background one runs: then the next write tries again.
    (void)sqlite3_wal_checkpoint_v2(writer, "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }

  // Makes `writer`'s commits ask this for checkpoints instead of running them.
  void Attach(sqlite3* writer) {
    sqlite3_wal_hook(writer, &BackgroundCheckpointer::OnCommit, this);
  }

 private:
  explicit BackgroundCheckpointer(sqlite3* db)
      : db_(db), task_(std::make_unique<OnDemandTask>([this] { Checkpoint(); })) {}

  // `frames`: the WAL's length after the commit. Asks once kFrames have been added
  // since the last checkpoint (the WAL starts again from 0 once a checkpoint has
  // copied all of it and nobody reads from it).
  static int OnCommit(void* arg, sqlite3*, const char*, int frames) {
    auto* self = static_cast<BackgroundCheckpointer*>(arg);
    // Shorter than after the last commit: the WAL started again, and what the last
    // checkpoint copied was of the one before.
    if (frames < self->frames_.exchange(frames, std::memory_order_relaxed)) {
      self->copied_.store(0, std::memory_order_relaxed);
    }
    const int copied = self->copied_.load(std::memory_order_relaxed);
    const int since = frames < copied ? frames : frames - copied;
    if (since >= kFrames) self->task_->Request();
    return SQLITE_OK;
  }

  void Checkpoint() {
    int frames = 0, copied = 0;
    // A failure (busy, I/O) leaves the WAL as it is: a later commit asks again.
    if (sqlite3_wal_checkpoint_v2(db_, "main", SQLITE_CHECKPOINT_PASSIVE, &frames, &copied) !=
        SQLITE_OK) {
      return;
    }
    copied_.store(copied, std::memory_order_relaxed);
  }

  sqlite3* const db_;
  std::atomic<int> frames_{0};          // the WAL's length after the writer's last commit
  std::atomic<int> copied_{0};          // frames of the WAL copied by the last checkpoint
  std::unique_ptr<OnDemandTask> task_;  // last: it starts running in the constructor
};

class SqliteStore : public Store {
 public:
  SqliteStore(sqlite3* db, std::string url, bool in_memory)
      : db_(db), url_(std::move(url)), in_memory_(in_memory) {}
  ~SqliteStore() override {
    if (filer_store_) static_cast<SqliteStore*>(filer_store_.get())->stopping_ = true;
    filer_.reset();  // waits for a filing in progress (on its own connection)
    if (checkpointer_) {
      sqlite3_wal_hook(db_, nullptr, nullptr);  // it points at the checkpointer
      checkpointer_.reset();
    }
    sqlite3_close_v2(db_);
  }

  Status Initialise() {
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    sqlite3_extended_result_codes(db_, 1);
    if (!in_memory_) {
      // A new database gets 16 KiB pages: a batch scan reads a quarter as many pages
      // (each a system call) as with the 4 KiB default. Ignored for an existing one.
      CG_RETURN_IF_ERROR(Exec(db_, "PRAGMA page_size = 16384", "set the page size"));
      CG_RETURN_IF_ERROR(Exec(db_, "PRAGMA journal_mode = WAL", "enable WAL"));
    }
    // NORMAL in WAL mode: a commit survives a process crash (kill -9); only a power
    // loss can lose the last commits, never corrupt the database.
    CG_RETURN_IF_ERROR(Exec(db_,
                            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; "
                            "PRAGMA temp_store = MEMORY",
                            "configure"));
    CG_RETURN_IF_ERROR(Exec(db_, kCacheSize, "configure"));
    CG_RETURN_IF_ERROR(Migrate());
    if (!in_memory_ && opened_at_version_ < kSubjectFileVersion &&
        version_ >= kSubjectFileVersion) {
      // Made and filed with the upgrade, not at the first listing. A failure leaves
      // it to the first listing (see AttachSubjects).
      Status filed = FileSubjects();
      if (!filed.ok()) spdlog::warn("filing the attestations' subjects: {}", filed.message());
      DetachSubjects();  // read-write: as the last connection to it, it tidies its WAL away
    }
    return OkStatus();
  }

  StatusOr<std::unique_ptr<FeedLoad>> BeginLoad(mapping::FeedKind kind) override {
    auto load = std::make_unique<SqliteFeedLoad>(db_, kind);
    CG_RETURN_IF_ERROR(load->Begin());
    return std::unique_ptr<FeedLoad>(std::move(load));
  }

  Status PutAttestations(std::span<const StoredAttestation> batch) override {
    // Synced at commit: the caller hands these out as soon as this returns. One
    // sync per batch, so a server that gathers concurrent requests into a batch
    // (group commit) pays it once for all of them.
    CG_RETURN_IF_ERROR(Exec(db_, "PRAGMA synchronous = FULL", "configure"));
    if (!checkpointer_ && !in_memory_ && !checkpointer_failed_) {
      // Without one (it could not open its connection) SQLite's own checkpoints go on.
      auto started = BackgroundCheckpointer::Start(sqlite3_db_filename(db_, "main"));
      if (started.ok()) checkpointer_ = std::move(*started);
      checkpointer_failed_ = !started.ok();
    }
    if (checkpointer_) {
      // Again each time: a PRAGMA wal_autocheckpoint on this connection replaces it.
      checkpointer_->Attach(db_);
      checkpointer_->BeforeWrite(db_);
    }
    Status stored = [&]() -> Status {
      CG_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE", "begin attestations"));
      if (!insert_attestation_) {
        insert_attestation_ = std::make_unique<Statement>();
        CG_RETURN_IF_ERROR(insert_attestation_->Prepare(
            db_, "INSERT INTO attestations (" + std::string(kAttestationColumns) +
                     ", envelope, consent_ref) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                     "?11, ?12, ?13, ?14, ?15, ?16)"));
      }
      Statement& insert = *insert_attestation_;
      for (const StoredAttestation& a : batch) {
        insert.Text(1, a.attestation_id);
        insert.Int(2, a.recognition);
        insert.Text(3, a.subject_id);
        insert.Text(4, a.period);
        insert.Text(5, a.grade);
        insert.Int(6, a.issued_at);
        insert.Int(7, a.valid_until);
        insert.Text(8, a.audience);
        insert.Int(9, static_cast<int64_t>(a.status_index));
        insert.Text(10, a.recognizes);
        insert.Int(11, static_cast<int>(a.state));
        insert.Text(12, a.reason);
        insert.Int(13, a.changed_at);
        insert.Text(14, a.superseded_by);
        insert.Blob(15, a.envelope);
        insert.Text(16, a.consent_ref);
        Status row = insert.Run("store attestation");
        if (row.code() == StatusCode::kFailedPrecondition) {
          return AlreadyExistsError("attestation " + a.attestation_id.substr(0, 64) +
                                    " or its status index " + std::to_string(a.status_index) +
                                    " is stored already");
        }
        CG_RETURN_IF_ERROR(row);
      }
      return Exec(db_, "COMMIT", "commit attestations");
    }();
    if (!stored.ok() && sqlite3_get_autocommit(db_) == 0) {
      (void)Exec(db_, "ROLLBACK", "rollback");
    }
    (void)Exec(db_, "PRAGMA synchronous = NORMAL", "configure");
    if (stored.ok()) AfterStoring(batch.size());
    return stored;
  }

  // Counts what the subject file lacks and has it filed once there is a batch: by
  // a thread and connection of their own, started with the first attestations this
  // connection stores (and asked at once, for what earlier runs left). A private
  // in-memory store has no other connection: it files on this one.
  void AfterStoring(size_t stored) {
    unfiled_ += stored;
    if (!in_memory_ && !filer_ && !filer_failed_) {
      auto opened = Store::Open(url_);
      filer_failed_ = !opened.ok();
      if (!opened.ok()) {
        spdlog::warn(
            "cannot open the store to file attestation subjects ({}); listings scan "
            "the attestations past the mark instead",
            opened.status().message());
        return;
      }
      filer_store_ = std::move(*opened);
      auto* filer = static_cast<SqliteStore*>(filer_store_.get());
      (void)Exec(filer->db_, "PRAGMA cache_size = -65536", "configure");
      filer_ = std::make_unique<OnDemandTask>([filer] {
        // Busy while another connection makes the subject file, starts it again or
        // catches it up (PrepareSubjects), or another process's filer files: a moment
        // later it is free. A failure leaves more to scan; the next batch asks again.
        for (int retry = 0;; ++retry) {
          const Status filed = filer->FileSubjects();
          if (filed.ok()) return;
          if (filed.code() != StatusCode::kAborted || retry == 50) {
            spdlog::warn("filing attestation subjects: {}", filed.message());
            return;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
      });
      filer_->Request();
      unfiled_ = 0;
    }
    if (unfiled_ < kSubjectFilingBatch) return;
    unfiled_ = 0;
    if (filer_) {
      filer_->Request();
    } else if (in_memory_) {
      (void)FileSubjects();  // a failure leaves more to scan
    }
  }

  // Files the subjects of every attestation past the subject file's mark. Writes
  // only the subject file: the attestations' writer goes on meanwhile.
  Status FileSubjects() {
    CG_RETURN_IF_ERROR(AttachSubjects(SubjectFile::kWritable));
    return FileUntil(0);
  }
  // Files while more than `left` attestations wait (and this store is not closing).
  Status FileUntil(int64_t left) {
    while (!stopping_.load()) {
      CG_ASSIGN_OR_RETURN(int64_t waiting, UnfiledRows());
      if (waiting <= left) break;
      CG_ASSIGN_OR_RETURN(uint64_t filed, FileAttachedSubjects());
      if (filed == 0) break;  // another filed them meanwhile
    }
    return OkStatus();
  }
  // Files the subjects of the attestations past the mark, at most kMaxFiledAtOnce of
  // them, in one transaction; returns how many.
  StatusOr<uint64_t> FileAttachedSubjects() {
    // First read what is to be filed, in short read transactions of their own: a
    // reader of the store's file holds up the writer's WAL from starting again (see
    // BackgroundCheckpointer), so none should last long. The rows read are never
    // deleted and their subjects never change, so reading them in parts is safe.
    int64_t from = 0, to = 0;
    std::string last_attestation_id;
    std::vector<std::pair<std::string, int64_t>> rows;
    {
      Statement mark, end, tail;
      CG_RETURN_IF_ERROR(mark.Prepare(db_, "SELECT last_rowid FROM subjects.filed"));
      CG_RETURN_IF_ERROR(end.Prepare(db_, "SELECT coalesce(max(rowid), 0) FROM main.attestations"));
      CG_RETURN_IF_ERROR(tail.Prepare(db_,
                                      "SELECT subject_id, status_index, attestation_id "
                                      "FROM main.attestations "
                                      "WHERE rowid > ?1 AND rowid <= ?2 ORDER BY rowid"));
      // The mark before the store, as in CheckSubjects.
      CG_RETURN_IF_ERROR(Exec(db_, "BEGIN", "begin reading what to file"));
      Status read = [&]() -> Status {
        CG_ASSIGN_OR_RETURN(bool row, mark.Step("read the filing mark"));
        if (!row) return InternalError("the subject file has no filing mark");
        from = mark.ColumnInt(0);
        CG_ASSIGN_OR_RETURN(row, end.Step("read the last attestation"));
        to = std::min(row ? end.ColumnInt(0) : 0, from + kMaxFiledAtOnce);
        return OkStatus();
      }();
      mark.Reset();
      end.Reset();
      (void)Exec(db_, "COMMIT", "end reading what to file");
      CG_RETURN_IF_ERROR(read);
      constexpr int64_t kRowsPerRead = 256;
      for (int64_t part = from; part < to; part += kRowsPerRead) {
        tail.Int(1, part);
        tail.Int(2, std::min(to, part + kRowsPerRead));
        while (true) {
          CG_ASSIGN_OR_RETURN(bool row, tail.Step("read the attestations to file"));
          if (!row) break;
          rows.emplace_back(tail.ColumnText(0), tail.ColumnInt(1));
          last_attestation_id = tail.ColumnText(2);
        }
        tail.Reset();
      }
    }
    if (to <= from) return 0;
    if (rows.size() != static_cast<size_t>(to - from)) {
      return DataLossError("attestations " + std::to_string(from + 1) + " to " +
                           std::to_string(to) + " have gaps: " + std::to_string(rows.size()) +
                           " rows");
    }
    // In key order: the index's pages are then each written once, in order.
    std::sort(rows.begin(), rows.end());
    Statement mark, insert, move;
    CG_RETURN_IF_ERROR(mark.Prepare(db_, "SELECT last_rowid FROM subjects.filed"));
    CG_RETURN_IF_ERROR(
        insert.Prepare(db_, "INSERT INTO subjects.attestation_subjects VALUES (?1, ?2)"));
    CG_RETURN_IF_ERROR(
        move.Prepare(db_, "UPDATE subjects.filed SET last_rowid = ?1, last_attestation_id = ?2"));
    // Deferred, not IMMEDIATE: that would take the write lock of the store's file too.
    CG_RETURN_IF_ERROR(Exec(db_, "BEGIN", "begin filing subjects"));
    Status filed = [&]() -> Status {
      CG_ASSIGN_OR_RETURN(bool row, mark.Step("read the filing mark"));
      // Filed meanwhile by another (a second process's filer): nothing to do.
      if (!row || mark.ColumnInt(0) != from) {
        rows.clear();
        return OkStatus();
      }
      mark.Reset();
      for (const auto& [subject, status_index] : rows) {
        insert.Text(1, subject);
        insert.Int(2, status_index);
        CG_RETURN_IF_ERROR(insert.Run("file an attestation's subject"));
      }
      move.Int(1, to);
      move.Text(2, last_attestation_id);
      return move.Run("move the filing mark");
    }();
    mark.Reset();
    if (filed.ok()) filed = Exec(db_, "COMMIT", "commit filing subjects");
    if (!filed.ok()) {
      if (sqlite3_get_autocommit(db_) == 0) (void)Exec(db_, "ROLLBACK", "rollback");
      return filed;
    }
    return static_cast<uint64_t>(rows.size());
  }

  StatusOr<StoredAttestation> GetAttestation(std::string_view attestation_id) override {
    if (!get_attestation_) {
      get_attestation_ = std::make_unique<Statement>();
      CG_RETURN_IF_ERROR(get_attestation_->Prepare(db_, "SELECT " +
                                                            std::string(kAttestationColumns) +
                                                            ", envelope FROM attestations "
                                                            "WHERE attestation_id = ?1"));
    }
    Statement& get = *get_attestation_;
    const StatementReset reset(get);
    get.Text(1, attestation_id);
    CG_ASSIGN_OR_RETURN(bool row, get.Step("read attestation"));
    if (!row) {
      return NotFoundError("no attestation " + std::string(attestation_id.substr(0, 64)));
    }
    StoredAttestation a = ReadAttestation(get);
    a.envelope = get.ColumnBlob(14);
    return a;
  }

  StatusOr<std::vector<StoredAttestation>> ListAttestations(std::string_view subject_id,
                                                            size_t limit) override {
    if (subjects_ == SubjectFile::kNone && std::chrono::steady_clock::now() < subjects_retry_) {
      return ListByScan(subject_id, limit);
    }
    Statement list;
    if (Status attached = AttachSubjects(SubjectFile::kReadOnly); attached.ok()) {
      // Filed ones through the subject file; those stored since by the table's end.
      // The subject is checked again on the row itself: the subject file is derived
      // data, and must never show one subject's attestation as another's.
      CG_RETURN_IF_ERROR(list.Prepare(
          db_, "SELECT " + std::string(kAttestationColumns) +
                   " FROM main.attestations WHERE subject_id = ?1 AND status_index IN ("
                   "SELECT status_index FROM subjects.attestation_subjects WHERE subject_id = ?1 "
                   "UNION ALL SELECT status_index FROM main.attestations WHERE rowid > "
                   "coalesce((SELECT last_rowid FROM subjects.filed), 0) AND subject_id = ?1) "
                   "ORDER BY issued_at DESC, status_index DESC LIMIT ?2"));
    } else {
      return SubjectFileFailed(attached, subject_id, limit);
    }
    auto listed = RunListing(list, subject_id, limit);
    if (listed.ok() || listed.status().code() == StatusCode::kAborted) return listed;
    // A damaged subject file, say: made again by the next connection to attach it.
    DetachSubjects();
    if (AttachSubjects(SubjectFile::kWritable).ok()) {
      (void)Exec(db_, "PRAGMA subjects.user_version = 0", "mark the subject file for remaking");
    }
    DetachSubjects();
    return SubjectFileFailed(listed.status(), subject_id, limit);
  }

  // Slower, but whole: every attestation is in the store's own file. The subject
  // file is tried again after a while, not at every listing.
  StatusOr<std::vector<StoredAttestation>> SubjectFileFailed(const Status& why,
                                                             std::string_view subject_id,
                                                             size_t limit) {
    spdlog::warn("the subject file cannot be used ({}); listing by a scan for a minute",
                 why.message());
    subjects_retry_ = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    return ListByScan(subject_id, limit);
  }
  StatusOr<std::vector<StoredAttestation>> ListByScan(std::string_view subject_id, size_t limit) {
    Statement list;
    CG_RETURN_IF_ERROR(list.Prepare(db_, "SELECT " + std::string(kAttestationColumns) +
                                             " FROM main.attestations WHERE subject_id = ?1 "
                                             "ORDER BY issued_at DESC, status_index DESC "
                                             "LIMIT ?2"));
    return RunListing(list, subject_id, limit);
  }
  static StatusOr<std::vector<StoredAttestation>> RunListing(Statement& list,
                                                             std::string_view subject_id,
                                                             size_t limit) {
    list.Text(1, subject_id);
    list.Int(2, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
    std::vector<StoredAttestation> out;
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, list.Step("list attestations"));
      if (!row) return out;
      out.push_back(ReadAttestation(list));
    }
  }

  Status ScanActiveRecognitions(const RowVisitor<StoredAttestation>& visit) override {
    Statement scan;
    CG_RETURN_IF_ERROR(scan.Prepare(db_, "SELECT " + std::string(kAttestationColumns) +
                                             ", envelope FROM attestations WHERE state = 1 AND "
                                             "recognizes <> '' ORDER BY status_index"));
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, scan.Step("scan active recognitions"));
      if (!row) return OkStatus();
      StoredAttestation a = ReadAttestation(scan);
      a.envelope = scan.ColumnBlob(14);
      CG_RETURN_IF_ERROR(visit(a));
    }
  }

  StatusOr<uint64_t> NextStatusIndex() override {
    Statement get;
    CG_RETURN_IF_ERROR(get.Prepare(db_,
                                   "SELECT coalesce(max(status_index) + 1, 0) "
                                   "FROM attestations"));
    CG_ASSIGN_OR_RETURN(bool row, get.Step("read status index"));
    return row ? static_cast<uint64_t>(get.ColumnInt(0)) : 0;
  }

  Status ChangeAttestationState(std::string_view attestation_id, AttestationState state,
                                std::string_view reason, int64_t at) override {
    if (state == AttestationState::kActive) {
      return InvalidArgumentError("an attestation cannot be made active again");
    }
    Statement change;
    // Revoking a superseded attestation is allowed (it hardens its state); nothing
    // leaves REVOKED.
    CG_RETURN_IF_ERROR(
        change.Prepare(db_,
                       "UPDATE attestations SET state = ?2, reason = ?3, changed_at = ?4 "
                       "WHERE attestation_id = ?1 AND state <> 3 AND NOT (state = 2 AND ?2 = 2)"));
    change.Text(1, attestation_id);
    change.Int(2, static_cast<int>(state));
    change.Text(3, reason);
    change.Int(4, at);
    CG_RETURN_IF_ERROR(change.Run("change attestation state"));
    if (sqlite3_changes(db_) == 1) return OkStatus();
    CG_ASSIGN_OR_RETURN(StoredAttestation current, GetAttestation(attestation_id));
    return FailedPreconditionError(
        "attestation " + current.attestation_id + " is already " +
        (current.state == AttestationState::kRevoked ? "revoked" : "superseded"));
  }

  StatusOr<uint64_t> SupersedeChangedGrades(int64_t at) override {
    // The subject's latest evaluation, by the evaluations' primary key.
    constexpr const char* kLatest =
        "(SELECT %s FROM evaluations e WHERE e.entity_id = attestations.subject_id "
        "AND " CG_COMPLETE_PERIOD("e.") " ORDER BY e.period DESC LIMIT 1)";
    char grade[512], period[512];
    std::snprintf(grade, sizeof grade, kLatest, "e.grade");
    std::snprintf(period, sizeof period, kLatest, "e.period");
    Statement supersede;
    CG_RETURN_IF_ERROR(supersede.Prepare(
        db_, std::string("UPDATE attestations SET state = 2, changed_at = ?1, reason = "
                         "'the evaluation of ' || ") +
                 period + " || ' grades it ' || " + grade +
                 " WHERE state = 1 AND recognition = 0 AND grade <> " + grade));
    supersede.Int(1, at);
    CG_RETURN_IF_ERROR(supersede.Run("supersede attestations"));
    return static_cast<uint64_t>(sqlite3_changes(db_));
  }

  Status ScanInactiveAttestations(const RowVisitor<StoredAttestation>& visit) override {
    Statement scan;
    CG_RETURN_IF_ERROR(scan.Prepare(db_, "SELECT " + std::string(kAttestationColumns) +
                                             " FROM attestations WHERE state <> 1 "
                                             "ORDER BY status_index"));
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, scan.Step("scan attestation states"));
      if (!row) return OkStatus();
      CG_RETURN_IF_ERROR(visit(ReadAttestation(scan)));
    }
  }

  Status PutConsent(const StoredConsent& c) override {
    Statement insert;
    CG_RETURN_IF_ERROR(
        insert.Prepare(db_, "INSERT INTO consents VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    insert.Text(1, c.consent_id);
    insert.Text(2, c.subject_id);
    insert.Text(3, c.purpose);
    insert.Text(4, c.audience);
    insert.Int(5, c.valid_until);
    insert.Int(6, c.recorded_at);
    insert.Text(7, c.recorded_by);
    insert.Int(8, c.withdrawn_at);
    Status stored = insert.Run("store consent");
    if (stored.code() == StatusCode::kFailedPrecondition) {
      return AlreadyExistsError("consent " + c.consent_id.substr(0, 64) + " is stored already");
    }
    return stored;
  }

  StatusOr<StoredConsent> GetConsent(std::string_view consent_id) override {
    Statement get;
    CG_RETURN_IF_ERROR(get.Prepare(db_, "SELECT * FROM consents WHERE consent_id = ?1"));
    get.Text(1, consent_id);
    CG_ASSIGN_OR_RETURN(bool row, get.Step("read consent"));
    if (!row) return NotFoundError("no consent " + std::string(consent_id.substr(0, 64)));
    StoredConsent c;
    c.consent_id = get.ColumnText(0);
    c.subject_id = get.ColumnText(1);
    c.purpose = get.ColumnText(2);
    c.audience = get.ColumnText(3);
    c.valid_until = get.ColumnInt(4);
    c.recorded_at = get.ColumnInt(5);
    c.recorded_by = get.ColumnText(6);
    c.withdrawn_at = get.ColumnInt(7);
    return c;
  }

  Status WithdrawConsent(std::string_view consent_id, int64_t at) override {
    Statement withdraw;
    CG_RETURN_IF_ERROR(withdraw.Prepare(
        db_, "UPDATE consents SET withdrawn_at = ?2 WHERE consent_id = ?1 AND withdrawn_at = 0"));
    withdraw.Text(1, consent_id);
    withdraw.Int(2, std::max<int64_t>(at, 1));
    // The consent and what it allowed go together: its attestations are revoked in
    // the same transaction.
    CG_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE", "begin withdrawal"));
    Status done = withdraw.Run("withdraw consent");
    const bool withdrawn = done.ok() && sqlite3_changes(db_) == 1;
    if (withdrawn) {
      Statement revoke;
      done = revoke.Prepare(db_,
                            "UPDATE attestations SET state = 3, changed_at = ?2, "
                            "reason = 'consent ' || ?1 || ' withdrawn' "
                            "WHERE consent_ref = ?1 AND state <> 3");
      if (done.ok()) {
        revoke.Text(1, consent_id);
        revoke.Int(2, at);
        done = revoke.Run("revoke what the consent allowed");
      }
    }
    if (done.ok()) done = Exec(db_, "COMMIT", "commit withdrawal");
    if (!done.ok()) {
      (void)Exec(db_, "ROLLBACK", "rollback");
      return done;
    }
    if (withdrawn) return OkStatus();
    CG_ASSIGN_OR_RETURN(StoredConsent current, GetConsent(consent_id));
    return FailedPreconditionError("consent " + current.consent_id + " is already withdrawn");
  }

  Status PutEntityStatements(std::span<const StoredEntityStatement> statements) override {
    Status stored = [&]() -> Status {
      CG_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE", "begin entity statements"));
      Statement upsert;
      CG_RETURN_IF_ERROR(upsert.Prepare(db_,
                                        "INSERT OR REPLACE INTO entity_statements VALUES "
                                        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"));
      for (const StoredEntityStatement& e : statements) {
        upsert.Text(1, e.entity_id);
        upsert.Text(2, e.issuer_node_id);
        upsert.Text(3, e.period);
        upsert.Real(4, e.native_pd);
        upsert.Real(5, e.joint_pd);
        upsert.Text(6, e.grade);
        upsert.Int(7, e.valid_until);
        upsert.Int(8, e.fetched_at);
        upsert.Blob(9, e.statement);
        upsert.Blob(10, e.envelope);
        CG_RETURN_IF_ERROR(upsert.Run("store entity statement"));
      }
      return Exec(db_, "COMMIT", "commit entity statements");
    }();
    if (!stored.ok() && sqlite3_get_autocommit(db_) == 0) {
      (void)Exec(db_, "ROLLBACK", "rollback");
    }
    return stored;
  }

  Status ScanEntityStatements(const RowVisitor<StoredEntityStatement>& visit) override {
    Statement scan;
    CG_RETURN_IF_ERROR(scan.Prepare(db_, "SELECT * FROM entity_statements"));  // key order
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, scan.Step("scan entity statements"));
      if (!row) return OkStatus();
      CG_RETURN_IF_ERROR(visit(ReadEntityStatement(scan)));
    }
  }

  StatusOr<StoredEntityStatement> GetEntityStatement(std::string_view entity_id) override {
    Statement get;
    CG_RETURN_IF_ERROR(get.Prepare(db_, "SELECT * FROM entity_statements WHERE entity_id = ?1"));
    get.Text(1, entity_id);
    CG_ASSIGN_OR_RETURN(bool row, get.Step("read entity statement"));
    if (!row) {
      return NotFoundError("no entity statement of " + std::string(entity_id.substr(0, 64)));
    }
    return ReadEntityStatement(get);
  }

  Status ScanForeignHolders(std::string_view as_of_max, std::string_view home_side,
                            const RowVisitor<std::string>& visit) override {
    // Prefix ranges (';' follows ':') keep to the primary key's order and index.
    const char* ranges = nullptr;
    if (home_side == "sz") {
      ranges =
          "(holder_id >= 'hkbrn:' AND holder_id < 'hkbrn;') OR "
          "(holder_id >= 'hkcrn:' AND holder_id < 'hkcrn;')";
    } else if (home_side == "hk") {
      ranges = "(holder_id >= 'uscc:' AND holder_id < 'uscc;')";
    } else {
      return InvalidArgumentError("home side must be \"sz\" or \"hk\", got '" +
                                  std::string(home_side.substr(0, 16)) + "'");
    }
    Statement scan;
    CG_RETURN_IF_ERROR(scan.Prepare(db_, "SELECT DISTINCT holder_id FROM ownership WHERE (" +
                                             std::string(ranges) +
                                             ") AND as_of <= ?1 ORDER BY holder_id"));
    scan.Text(1, as_of_max);
    std::string id;
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, scan.Step("scan foreign holders"));
      if (!row) return OkStatus();
      id = scan.ColumnText(0);
      CG_RETURN_IF_ERROR(visit(id));
    }
  }

  StatusOr<std::unique_ptr<Store>> OpenAnother() override {
    if (in_memory_) {
      return FailedPreconditionError("a private in-memory store cannot be shared");
    }
    CG_ASSIGN_OR_RETURN(std::unique_ptr<Store> another, Store::Open(url_));
    // A reader: its scans and lookups do not need the writer's 1 GiB page cache, and
    // the batch's peak memory counts every connection's.
    auto* sqlite = static_cast<SqliteStore*>(another.get());
    CG_RETURN_IF_ERROR(Exec(sqlite->db_, "PRAGMA cache_size = -65536", "configure"));
    return another;
  }

  StatusOr<uint64_t> CountRows(mapping::FeedKind kind) override {
    const std::string_view table = TableOf(kind);
    Statement count;
    CG_RETURN_IF_ERROR(count.Prepare(db_, "SELECT count(*) FROM " + std::string(table)));
    CG_ASSIGN_OR_RETURN(bool row, count.Step("count rows"));
    return row ? static_cast<uint64_t>(count.ColumnInt(0)) : 0;
  }

  int schema_version() const override { return version_; }

  Status ScanSzGrades(std::string_view period,
                      const RowVisitor<mapping::SzGradeRecord>& visit) override {
    Statement scan;
    CG_RETURN_IF_ERROR(scan.Prepare(db_,
                                    "SELECT * FROM sz_grades WHERE period = ?1 "
                                    "ORDER BY entity_id"));
    scan.Text(1, period);
    mapping::SzGradeRecord r;
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, scan.Step("scan sz_grades"));
      if (!row) return OkStatus();
      r.entity_id = scan.ColumnText(0);
      r.period = scan.ColumnText(1);
      r.name = scan.ColumnText(2);
      r.grade = scan.ColumnText(3);
      r.industry = scan.ColumnText(4);
      for (int d = 0; d < 5; ++d) r.dimensions[static_cast<size_t>(d)] = scan.ColumnReal(5 + d);
      r.serious_dishonesty = scan.ColumnInt(10) != 0;
      r.abnormal_operation = scan.ColumnInt(11) != 0;
      r.shell_risk = scan.ColumnInt(12) != 0;
      CG_RETURN_IF_ERROR(visit(r));
    }
  }

  Status ScanOwnership(std::string_view as_of_max,
                       const RowVisitor<mapping::OwnershipRecord>& visit) override {
    // Rows come in key order (holder, owned, as_of), so a holding's latest row is the
    // last of its run. Grouping here rather than with SQLite's GROUP BY and max():
    // at 8 million holdings that aggregate costs eight times the scan itself.
    Statement scan;
    CG_RETURN_IF_ERROR(scan.Prepare(
        db_,
        "SELECT holder_id, owned_id, as_of, holder_is_person, holder_jurisdiction, share, voting "
        "FROM ownership WHERE as_of <= ?1 ORDER BY holder_id, owned_id, as_of"));
    scan.Text(1, as_of_max);
    mapping::OwnershipRecord latest, r;
    bool held = false;  // latest holds a row not yet visited
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, scan.Step("scan ownership"));
      if (!row) return held ? visit(latest) : OkStatus();
      ReadOwnershipRow(scan, r);
      if (held && (r.holder_id != latest.holder_id || r.owned_id != latest.owned_id)) {
        CG_RETURN_IF_ERROR(visit(latest));
      }
      std::swap(latest, r);
      held = true;
    }
  }

  Status ScanHoldersOf(std::string_view owned_id, std::string_view as_of_max,
                       const RowVisitor<mapping::OwnershipRecord>& visit) override {
    Statement scan;
    CG_RETURN_IF_ERROR(scan.Prepare(
        db_,
        "SELECT holder_id, owned_id, max(as_of), holder_is_person, holder_jurisdiction, "
        "share, voting FROM ownership WHERE owned_id = ?1 AND as_of <= ?2 "
        "GROUP BY holder_id ORDER BY holder_id"));
    scan.Text(1, owned_id);
    scan.Text(2, as_of_max);
    mapping::OwnershipRecord r;
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, scan.Step("scan holders"));
      if (!row) return OkStatus();
      ReadOwnershipRow(scan, r);
      CG_RETURN_IF_ERROR(visit(r));
    }
  }

  Status ScanPerformance(
      const RowVisitor<std::span<const mapping::PerformanceRecord>>& visit) override {
    Statement scan;
    CG_RETURN_IF_ERROR(scan.Prepare(db_, "SELECT * FROM performance"));  // key order
    // The group's slots are reused from subject to subject, so reading a row rarely
    // allocates.
    std::vector<mapping::PerformanceRecord> group;
    size_t size = 0;
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, scan.Step("scan performance"));
      if (!row || (size > 0 && group[0].subject_id != scan.ColumnText(0))) {
        if (size > 0) CG_RETURN_IF_ERROR(visit(std::span(group.data(), size)));
        size = 0;
      }
      if (!row) return OkStatus();
      if (size == group.size()) group.emplace_back();
      mapping::PerformanceRecord& r = group[size++];
      r.subject_id = scan.ColumnText(0);
      r.record_id = scan.ColumnText(1);
      r.counterparty_jurisdiction = scan.ColumnText(2);
      r.kind = static_cast<mapping::PerformanceKind>(scan.ColumnInt(3));
      r.due_date = scan.ColumnText(4);
      r.settled_date = scan.ColumnText(5);
      r.amount = scan.ColumnReal(6);
      r.currency = scan.ColumnText(7);
      r.status = static_cast<mapping::PerformanceStatus>(scan.ColumnInt(8));
    }
  }

  Status ScanHkBureau(const RowVisitor<mapping::HkBureauRecord>& visit) override {
    Statement scan;
    CG_RETURN_IF_ERROR(scan.Prepare(db_, "SELECT record FROM hk_bureau"));  // key order
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, scan.Step("scan hk_bureau"));
      if (!row) return OkStatus();
      CG_ASSIGN_OR_RETURN(mapping::HkBureauRecord r, mapping::ParseHkBureau(scan.ColumnBlob(0)));
      CG_RETURN_IF_ERROR(visit(r));
    }
  }

  StatusOr<std::unique_ptr<EvaluationLoad>> BeginEvaluations(std::string_view period) override {
    auto load = std::make_unique<SqliteEvaluationLoad>(db_, std::string(period));
    CG_RETURN_IF_ERROR(load->Begin());
    return std::unique_ptr<EvaluationLoad>(std::move(load));
  }

  StatusOr<StoredEvaluation> GetEvaluation(std::string_view entity_id,
                                           std::string_view period) override {
    // Prepared once per connection: a server asks this for every lookup and issuance.
    std::unique_ptr<Statement>& cached = period.empty() ? latest_evaluation_ : period_evaluation_;
    if (!cached) {
      cached = std::make_unique<Statement>();
      CG_RETURN_IF_ERROR(cached->Prepare(
          db_, period.empty()
                   ? "SELECT * FROM evaluations WHERE entity_id = ?1 AND " CG_COMPLETE_PERIOD(
                         "") " ORDER BY period DESC LIMIT 1"
                   : "SELECT * FROM evaluations WHERE entity_id = ?1 AND period = ?2 "
                     "AND " CG_COMPLETE_PERIOD("")));
    }
    Statement& get = *cached;
    const StatementReset reset(get);
    get.Text(1, entity_id);
    if (!period.empty()) get.Text(2, period);
    CG_ASSIGN_OR_RETURN(bool row, get.Step("read evaluation"));
    if (!row) {
      return NotFoundError("no evaluation of " + std::string(entity_id.substr(0, 64)) +
                           (period.empty() ? "" : " for " + std::string(period)));
    }
    StoredEvaluation e;
    e.entity_id = get.ColumnText(0);
    e.period = get.ColumnText(1);
    e.joint_pd = get.ColumnReal(2);
    e.score = static_cast<uint32_t>(get.ColumnInt(3));
    e.grade = get.ColumnText(4);
    e.evaluation = get.ColumnBlob(5);
    return e;
  }

  StatusOr<uint64_t> EvaluationsGeneration() override {
    if (!evaluations_generation_) {
      evaluations_generation_ = std::make_unique<Statement>();
      CG_RETURN_IF_ERROR(evaluations_generation_->Prepare(
          db_, "SELECT generation FROM store_generations WHERE name = 'evaluations'"));
    }
    Statement& get = *evaluations_generation_;
    const StatementReset reset(get);
    CG_ASSIGN_OR_RETURN(bool row, get.Step("read the evaluations' generation"));
    if (!row) return DataLossError("the store has no generation of its evaluations");
    return static_cast<uint64_t>(get.ColumnInt(0));
  }

  StatusOr<std::string> PreviousEvaluatedPeriod(std::string_view period) override {
    Statement get;
    CG_RETURN_IF_ERROR(get.Prepare(
        db_, "SELECT max(period) FROM evaluations WHERE period < ?1 AND " CG_COMPLETE_PERIOD("")));
    get.Text(1, period);
    CG_ASSIGN_OR_RETURN(bool row, get.Step("read periods"));
    return row ? std::string(get.ColumnText(0)) : std::string();
  }

  StatusOr<std::vector<std::string>> UnfinishedEvaluations() override {
    Statement scan;
    CG_RETURN_IF_ERROR(scan.Prepare(db_, "SELECT period FROM evaluation_runs ORDER BY period"));
    std::vector<std::string> periods;
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, scan.Step("read unfinished evaluations"));
      if (!row) return periods;
      periods.emplace_back(scan.ColumnText(0));
    }
  }

  StatusOr<std::vector<GradeTransition>> CompareGrades(std::string_view period,
                                                       std::string_view previous) override {
    Statement compare;
    CG_RETURN_IF_ERROR(compare.Prepare(
        db_,
        "SELECT coalesce(prev.grade, ''), cur.grade, count(*) FROM evaluations cur "
        "LEFT JOIN evaluations prev ON prev.entity_id = cur.entity_id AND prev.period = ?2 "
        "AND " CG_COMPLETE_PERIOD("prev.") " "
                                           "WHERE cur.period = ?1 AND " CG_COMPLETE_PERIOD(
                                               "cur.") " GROUP BY 1, 2 ORDER BY 1, 2"));
    compare.Text(1, period);
    compare.Text(2, previous);
    std::vector<GradeTransition> out;
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, compare.Step("compare grades"));
      if (!row) return out;
      out.push_back({std::string(compare.ColumnText(0)), std::string(compare.ColumnText(1)),
                     static_cast<uint64_t>(compare.ColumnInt(2))});
    }
  }

 private:
  // Attaches the subject file (kSubjectSchema) as `subjects`. Each time a connection
  // first needs it, the file is made (with the store file's permissions) when
  // missing, started again when it does not match the store, and, for a connection
  // that lists, caught up when more than a batch waits to be filed (after a crash,
  // an upgrade, or issuances by another process): so a listing scans about a batch
  // at most. A connection that lists then has it attached read-only: a BEGIN
  // IMMEDIATE takes the write lock of every writable file attached, and one of its
  // (a consent's withdrawal, say) would otherwise wait for the filer while holding
  // the store's write lock, and hold up the attestations' writer with it.
  enum class SubjectFile { kNone, kReadOnly, kWritable };
  Status AttachSubjects(SubjectFile mode) {
    if (subjects_ == mode || subjects_ == SubjectFile::kWritable) return OkStatus();
    DetachSubjects();
    // Busy while another connection makes, starts again or files it at the same time.
    Status attached = PrepareSubjects(mode);
    for (int retry = 0; retry < 100 && attached.code() == StatusCode::kAborted; ++retry) {
      DetachSubjects();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      attached = PrepareSubjects(mode);
    }
    if (!attached.ok()) DetachSubjects();
    return attached;
  }
  void DetachSubjects() {
    if (subjects_ == SubjectFile::kNone) return;
    (void)Exec(db_, "DETACH subjects", "detach the subject file");
    subjects_ = SubjectFile::kNone;
  }
  Status PrepareSubjects(SubjectFile mode) {
    std::string path = ":memory:";
    if (!in_memory_) {
      path = std::string(sqlite3_db_filename(db_, "main")) + "-subjects";
      struct stat store_file {};
      if (::stat(sqlite3_db_filename(db_, "main"), &store_file) == 0) {
        // The umask would narrow them: set them as they are.
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
          (void)::fchmod(fd, store_file.st_mode & 0777);
          ::close(fd);
        }
      }
    }
    CG_RETURN_IF_ERROR(Attach(path));
    subjects_ = SubjectFile::kWritable;
    CG_RETURN_IF_ERROR(CheckSubjects());
    // A private in-memory store keeps it writable: its one connection files.
    if (mode == SubjectFile::kWritable || in_memory_) return OkStatus();
    CG_RETURN_IF_ERROR(FileUntil(static_cast<int64_t>(kSubjectFilingBatch)));
    DetachSubjects();
    CG_RETURN_IF_ERROR(Attach(SqliteUri(path) + "?mode=ro"));
    subjects_ = SubjectFile::kReadOnly;
    return OkStatus();
  }
  Status Attach(const std::string& file) {
    Statement attach;
    CG_RETURN_IF_ERROR(attach.Prepare(db_, "ATTACH ?1 AS subjects"));
    attach.Text(1, file);
    return attach.Run("attach the subject file " + file);
  }
  StatusOr<int64_t> UnfiledRows() {
    Statement count;
    CG_RETURN_IF_ERROR(
        count.Prepare(db_,
                      "SELECT (SELECT coalesce(max(rowid), 0) FROM "
                      "main.attestations) - (SELECT last_rowid FROM subjects.filed)"));
    CG_ASSIGN_OR_RETURN(bool row, count.Step("count the attestations not filed"));
    return row ? count.ColumnInt(0) : 0;
  }
  Status CheckSubjects() {
    if (!in_memory_) {
      CG_RETURN_IF_ERROR(
          Exec(db_, "PRAGMA subjects.journal_mode = WAL", "enable WAL in the subject file"));
    }
    CG_RETURN_IF_ERROR(Exec(db_, "PRAGMA subjects.synchronous = NORMAL", "configure"));
    // The file's format is its user_version: one of another (an older program's, or
    // none yet) is made again, being derived data.
    int format = 0;
    {
      Statement version;
      CG_RETURN_IF_ERROR(version.Prepare(db_, "PRAGMA subjects.user_version"));
      CG_ASSIGN_OR_RETURN(bool row, version.Step("read the subject file's format"));
      format = row ? static_cast<int>(version.ColumnInt(0)) : 0;
    }  // finalised: a read still open would make the write below fail at once if busy
    if (format != kSubjectFileFormat) {
      const std::string remake =
          "DROP TABLE IF EXISTS subjects.attestation_subjects; "
          "DROP TABLE IF EXISTS subjects.filed; " +
          std::string(kSubjectSchema) +
          "PRAGMA subjects.user_version = " + std::to_string(kSubjectFileFormat);
      CG_RETURN_IF_ERROR(InTransaction(remake.c_str(), "make the subject file"));
    }
    // The mark first, then the store: read the other way round, a filing and the
    // commit of what it filed could both fall between the two reads, and the
    // attestation at the mark would seem missing.
    Statement mark, at_mark;
    CG_RETURN_IF_ERROR(
        mark.Prepare(db_, "SELECT last_rowid, last_attestation_id FROM subjects.filed"));
    CG_RETURN_IF_ERROR(
        at_mark.Prepare(db_, "SELECT attestation_id FROM main.attestations WHERE rowid = ?1"));
    CG_RETURN_IF_ERROR(Exec(db_, "BEGIN", "check the subject file"));
    bool matches = false;
    Status read = [&]() -> Status {
      CG_ASSIGN_OR_RETURN(bool row, mark.Step("read the filing mark"));
      if (!row) return OkStatus();  // no mark: made again below
      const int64_t last_rowid = mark.ColumnInt(0);
      if (last_rowid == 0) {
        matches = true;
        return OkStatus();
      }
      at_mark.Int(1, last_rowid);
      CG_ASSIGN_OR_RETURN(bool found, at_mark.Step("read the attestation at the filing mark"));
      matches = found && at_mark.ColumnText(0) == mark.ColumnText(1);
      return OkStatus();
    }();
    mark.Reset();
    at_mark.Reset();
    (void)Exec(db_, "COMMIT", "check the subject file");
    CG_RETURN_IF_ERROR(read);
    if (matches) return OkStatus();
    return InTransaction(
        "DELETE FROM subjects.attestation_subjects; "
        "INSERT OR REPLACE INTO subjects.filed VALUES (0, 0, '')",
        "start the subject file again");
  }

  // Runs `sql` in a deferred transaction (which locks only the files it writes).
  Status InTransaction(const char* sql, std::string_view what) {
    CG_RETURN_IF_ERROR(Exec(db_, "BEGIN", what));
    Status done = Exec(db_, sql, what);
    if (done.ok()) done = Exec(db_, "COMMIT", what);
    if (!done.ok()) (void)Exec(db_, "ROLLBACK", "rollback");
    return done;
  }

  Status Migrate() {
    {
      // Finalised before the migrations: a statement still open would keep a
      // migration from dropping anything ("database table is locked").
      Statement read;
      CG_RETURN_IF_ERROR(read.Prepare(db_, "PRAGMA user_version"));
      CG_ASSIGN_OR_RETURN(bool row, read.Step("read schema version"));
      version_ = row ? static_cast<int>(read.ColumnInt(0)) : 0;
      opened_at_version_ = version_;
    }
    const int latest = LatestSchemaVersion();
    if (version_ > latest) {
      return FailedPreconditionError("the store has schema version " + std::to_string(version_) +
                                     ", newer than this program's " + std::to_string(latest));
    }
    while (version_ < latest) {
      CG_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE", "begin migration"));
      Status applied = Exec(db_, kMigrations[version_], "migration");
      const std::string bump = "PRAGMA user_version = " + std::to_string(version_ + 1);
      if (applied.ok()) applied = Exec(db_, bump.c_str(), "set schema version");
      if (applied.ok()) applied = Exec(db_, "COMMIT", "commit migration");
      if (!applied.ok()) {
        (void)Exec(db_, "ROLLBACK", "rollback migration");
        return applied.WithContext("migrating the store to version " +
                                   std::to_string(version_ + 1));
      }
      ++version_;
    }
    return OkStatus();
  }

  // Reads the columns of kAttestationColumns, in order.
  static StoredAttestation ReadAttestation(Statement& row) {
    StoredAttestation a;
    a.attestation_id = row.ColumnText(0);
    a.recognition = row.ColumnInt(1) != 0;
    a.subject_id = row.ColumnText(2);
    a.period = row.ColumnText(3);
    a.grade = row.ColumnText(4);
    a.issued_at = row.ColumnInt(5);
    a.valid_until = row.ColumnInt(6);
    a.audience = row.ColumnText(7);
    a.status_index = static_cast<uint64_t>(row.ColumnInt(8));
    a.recognizes = row.ColumnText(9);
    a.state = static_cast<AttestationState>(row.ColumnInt(10));
    a.reason = row.ColumnText(11);
    a.changed_at = row.ColumnInt(12);
    a.superseded_by = row.ColumnText(13);
    return a;
  }

  sqlite3* db_;
  std::string url_;
  bool in_memory_;
  std::unique_ptr<Statement> insert_attestation_;
  std::unique_ptr<Statement> latest_evaluation_;
  std::unique_ptr<Statement> period_evaluation_;
  std::unique_ptr<Statement> evaluations_generation_;
  std::unique_ptr<Statement> get_attestation_;
  // Set up by the first PutAttestations: from then on this connection's commits leave
  // checkpoints to it.
  std::unique_ptr<BackgroundCheckpointer> checkpointer_;
  bool checkpointer_failed_ = false;
  // The subject filer (AfterStoring): its connection, and the task that files.
  std::unique_ptr<Store> filer_store_;
  std::unique_ptr<OnDemandTask> filer_;  // after filer_store_: it uses it
  bool filer_failed_ = false;
  uint64_t unfiled_ = 0;  // stored by this connection since the filer was last asked
  SubjectFile subjects_ = SubjectFile::kNone;  // how `subjects` is attached
  // After the subject file failed: listings scan until then (SubjectFileFailed).
  std::chrono::steady_clock::time_point subjects_retry_;
  std::atomic<bool> stopping_{false};  // a filer's: its owner is closing
  int version_ = 0;
  int opened_at_version_ = 0;  // before Migrate
};

// Process-wide SQLite settings, made before SQLite's first use. Memory statistics
// off: with them on, every allocation SQLite makes takes a global mutex, which the
// threads of a serving node and of a load contend for.
void ConfigureSqliteOnce() {
  static std::once_flag once;
  std::call_once(once, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

}  // namespace

int LatestSchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& url) {
  ConfigureSqliteOnce();
  constexpr std::string_view kSqlite = "sqlite:";
  if (!url.starts_with(kSqlite)) {
    return InvalidArgumentError("store URL '" + url.substr(0, 80) +
                                "' is not supported: use sqlite:PATH or sqlite::memory:");
  }
  const std::string path = url.substr(kSqlite.size());
  if (path.empty()) return InvalidArgumentError("store URL has no path: use sqlite:PATH");
  const bool in_memory = path == ":memory:";
  sqlite3* db = nullptr;
  // Opened as a URI, so that the subject file can be attached read-only by one
  // (AttachSubjects); the path escaped, so that it means the file it names and
  // nothing else ("file:...", "?mode=memory").
  const std::string file = in_memory ? path : SqliteUri(path);
  const int rc = sqlite3_open_v2(
      file.c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, nullptr);
  if (rc != SQLITE_OK) {
    Status status = SqliteStatus(db, rc, "cannot open store " + path);
    sqlite3_close_v2(db);
    return UnavailableError(status.message());
  }
  auto store = std::make_unique<SqliteStore>(db, url, in_memory);
  Status ready = store->Initialise();
  if (!ready.ok()) return ready.WithContext("store " + path);
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace cg::gateway
