#include "gateway/store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace cg::gateway {
namespace {

namespace fs = std::filesystem;

mapping::SzGradeRecord Grade(const std::string& id, const std::string& grade) {
  mapping::SzGradeRecord r;
  r.entity_id = id;
  r.name = "Firm";
  r.period = "2026-10";
  r.grade = grade;
  r.industry = "C39";
  r.dimensions = {80, 70, 60, 50, 40};
  return r;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/store-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    url_ = "sqlite:" + dir_ + "/node.db";
  }
  void TearDown() override { fs::remove_all(dir_); }

  LoadCounts LoadGrades(Store& store, const std::vector<mapping::SzGradeRecord>& rows) {
    auto load = store.BeginLoad(mapping::FeedKind::kSzGrades);
    EXPECT_TRUE(load.ok()) << load.status().ToString();
    for (const auto& r : rows) EXPECT_TRUE((*load)->Put(r).ok());
    auto counts = (*load)->Commit({"test.csv", rows.size(), 0});
    EXPECT_TRUE(counts.ok()) << counts.status().ToString();
    return *counts;
  }

  std::string dir_;
  std::string url_;
};

TEST_F(StoreTest, CreatesSchemaAndLoadsIdempotently) {
  auto store = Store::Open(url_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->schema_version(), LatestSchemaVersion());
  const std::vector<mapping::SzGradeRecord> rows = {Grade("uscc:1", "A"), Grade("uscc:2", "B")};
  LoadCounts first = LoadGrades(**store, rows);
  EXPECT_EQ(first.stored, 2u);
  LoadCounts again = LoadGrades(**store, rows);
  EXPECT_EQ(again.stored, 0u);
  EXPECT_EQ(again.unchanged, 2u);
  LoadCounts corrected = LoadGrades(**store, {Grade("uscc:1", "C"), Grade("uscc:2", "B")});
  EXPECT_EQ(corrected.stored, 1u);
  EXPECT_EQ(corrected.unchanged, 1u);
  EXPECT_EQ(*(*store)->CountRows(mapping::FeedKind::kSzGrades), 2u);
}

TEST_F(StoreTest, ScansEachHoldingsLatestRowUpToADate) {
  auto store = Store::Open(url_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto holding = [](std::string holder, std::string owned, std::string as_of, double share) {
    mapping::OwnershipRecord r;
    r.holder_id = std::move(holder);
    r.owned_id = std::move(owned);
    r.as_of = std::move(as_of);
    r.share = share;
    r.voting = share;
    return r;
  };
  auto load = (*store)->BeginLoad(mapping::FeedKind::kOwnership);
  ASSERT_TRUE(load.ok());
  for (const auto& r : {
           holding("uscc:b", "uscc:c", "2026-11-01", 0.9),  // after the date: not seen
           holding("uscc:a", "uscc:c", "2026-09-30", 0.2),
           holding("uscc:a", "uscc:c", "2026-10-15", 0.3),  // a's latest of c
           holding("uscc:a", "uscc:b", "2026-01-01", 0.5),
           holding("uscc:b", "uscc:c", "2026-08-01", 0.6),  // b's latest of c by the date
           holding("uscc:b", "uscc:d", "2026-10-31", 0.7),  // the last group
       }) {
    ASSERT_TRUE((*load)->Put(r).ok());
  }
  ASSERT_TRUE((*load)->Commit({"ownership.csv", 6, 0}).ok());
  std::vector<std::string> seen;
  ASSERT_TRUE((*store)
                  ->ScanOwnership("2026-10-31",
                                  [&](const mapping::OwnershipRecord& r) {
                                    seen.push_back(r.holder_id + ">" + r.owned_id + "@" + r.as_of +
                                                   "=" + std::to_string(r.share));
                                    return OkStatus();
                                  })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{
                      "uscc:a>uscc:b@2026-01-01=0.500000", "uscc:a>uscc:c@2026-10-15=0.300000",
                      "uscc:b>uscc:c@2026-08-01=0.600000", "uscc:b>uscc:d@2026-10-31=0.700000"}));
  // A visitor's error stops the scan, the last group's included.
  int visits = 0;
  Status stopped = (*store)->ScanOwnership("2026-10-31", [&](const mapping::OwnershipRecord&) {
    return ++visits == 4 ? OutOfRangeError("enough") : OkStatus();
  });
  EXPECT_EQ(stopped.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(visits, 4);
}

// A period's evaluations are committed in parts; readers on another connection see
// none of them until the last part, and a load that never completes leaves the
// period hidden (and the periods before it as they were).
TEST_F(StoreTest, EvaluationsOfAPeriodAreSeenWholeOrNotAtAll) {
  auto writer = Store::Open(url_);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  auto evaluation = [](std::string id, std::string period, std::string grade) {
    StoredEvaluation e;
    e.entity_id = std::move(id);
    e.period = std::move(period);
    e.joint_pd = 0.01;
    e.score = 600;
    e.grade = std::move(grade);
    e.evaluation = "bytes of " + e.grade;
    return e;
  };
  // A load of `rows` evaluations of a period (uscc:100000 on), not committed.
  auto begin_period = [&](const std::string& period, const std::string& grade, size_t rows) {
    auto load = (*writer)->BeginEvaluations(period);
    EXPECT_TRUE(load.ok()) << load.status().ToString();
    for (size_t i = 0; i < rows && load.ok(); ++i) {
      if (!(*load)->Put(evaluation("uscc:" + std::to_string(100000 + i), period, grade)).ok()) {
        ADD_FAILURE() << "evaluation " << i << " of " << period << " not stored";
        break;
      }
    }
    return load;
  };
  auto write_period = [&](const std::string& period, const std::string& grade, size_t rows) {
    auto load = begin_period(period, grade, rows);
    ASSERT_TRUE(load.ok());
    ASSERT_TRUE((*load)->Commit().ok());
  };
  auto reader = Store::Open(url_);
  ASSERT_TRUE(reader.ok());
  // The generation of the evaluations moves with each commit that readers see, and
  // only then.
  auto generation = [&] {
    auto g = (*reader)->EvaluationsGeneration();
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return g.ok() ? *g : ~uint64_t{0};
  };
  EXPECT_EQ(generation(), 0u);
  write_period("2026-10", "A", 3);
  EXPECT_EQ(generation(), 1u);

  auto latest_grade = [&] {
    auto e = (*reader)->GetEvaluation("uscc:100000", "");
    return e.ok() ? e->period + " " + e->grade : e.status().ToString();
  };
  EXPECT_EQ(latest_grade(), "2026-10 A");

  // More rows than two parts (65,536 each): parts are committed, and still not seen.
  auto load = begin_period("2026-11", "B", 140000);
  ASSERT_TRUE(load.ok());
  EXPECT_EQ(latest_grade(), "2026-10 A");
  EXPECT_EQ((*reader)->GetEvaluation("uscc:100000", "2026-11").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(*(*reader)->PreviousEvaluatedPeriod("2026-12"), "2026-10");
  EXPECT_EQ(*(*reader)->UnfinishedEvaluations(), std::vector<std::string>{"2026-11"});
  EXPECT_EQ(generation(), 1u);  // parts committed, nothing new to see
  load->reset();                // never committed: the period stays hidden
  EXPECT_EQ(latest_grade(), "2026-10 A");
  EXPECT_EQ(*(*reader)->UnfinishedEvaluations(), std::vector<std::string>{"2026-11"});
  EXPECT_EQ(*(*reader)->PreviousEvaluatedPeriod("2026-12"), "2026-10");

  // A re-run of a stored period is one transaction: failing, it leaves the old
  // evaluations as they were, readable all along.
  auto rerun = begin_period("2026-10", "E", 140000);
  ASSERT_TRUE(rerun.ok());
  EXPECT_EQ(latest_grade(), "2026-10 A");
  rerun->reset();
  EXPECT_EQ(latest_grade(), "2026-10 A");
  EXPECT_EQ(generation(), 1u);
  EXPECT_TRUE((*reader)->GetEvaluation("uscc:100002", "2026-10").ok());

  // A batch of the period that completes shows it whole (the rows the failed batch
  // left are replaced in one transaction).
  write_period("2026-11", "C", 40000);
  EXPECT_EQ(latest_grade(), "2026-11 C");
  EXPECT_EQ(generation(), 2u);
  EXPECT_TRUE((*reader)->UnfinishedEvaluations()->empty());
  EXPECT_EQ(*(*reader)->PreviousEvaluatedPeriod("2026-12"), "2026-11");
  auto transitions = (*reader)->CompareGrades("2026-11", "2026-10");
  ASSERT_TRUE(transitions.ok());
  ASSERT_EQ(transitions->size(), 2u);
  EXPECT_EQ((*transitions)[0].from, "");
  EXPECT_EQ((*transitions)[0].count, 39997u);
  EXPECT_EQ((*transitions)[1].from, "A");
  EXPECT_EQ((*transitions)[1].to, "C");
  EXPECT_EQ((*transitions)[1].count, 3u);
}

TEST_F(StoreTest, UncommittedLoadLeavesNothing) {
  auto store = Store::Open(url_);
  ASSERT_TRUE(store.ok());
  LoadGrades(**store, {Grade("uscc:1", "A")});
  {
    auto load = (*store)->BeginLoad(mapping::FeedKind::kSzGrades);
    ASSERT_TRUE(load.ok());
    ASSERT_TRUE((*load)->Put(Grade("uscc:2", "A")).ok());
    ASSERT_TRUE((*load)->Put(Grade("uscc:1", "E")).ok());
  }  // destroyed without Commit
  EXPECT_EQ(*(*store)->CountRows(mapping::FeedKind::kSzGrades), 1u);
  auto reopened = Store::Open(url_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(*(*reopened)->CountRows(mapping::FeedKind::kSzGrades), 1u);
}

TEST_F(StoreTest, RecordsOtherFeedsAndRejectsMismatchedRecords) {
  auto store = Store::Open("sqlite::memory:");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto load = (*store)->BeginLoad(mapping::FeedKind::kOwnership);
  ASSERT_TRUE(load.ok());
  mapping::OwnershipRecord holding;
  holding.holder_id = "person:ps1-00000000000000000000000000000000";
  holding.holder_is_person = true;
  holding.holder_jurisdiction = "HK";
  holding.owned_id = "uscc:1";
  holding.share = holding.voting = 0.6;
  holding.as_of = "2026-10-01";
  EXPECT_TRUE((*load)->Put(holding).ok());
  EXPECT_EQ((*load)->Put(Grade("uscc:1", "A")).code(), StatusCode::kInternal);
  ASSERT_TRUE((*load)->Commit({"o.csv", 1, 0}).ok());
  EXPECT_EQ(*(*store)->CountRows(mapping::FeedKind::kOwnership), 1u);
}

TEST_F(StoreTest, BadUrlsAndDatabases) {
  EXPECT_EQ(Store::Open("mysql://x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Store::Open("sqlite:").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Store::Open("sqlite:" + dir_ + "/no/such/dir/x.db").status().code(),
            StatusCode::kUnavailable);
  std::ofstream(dir_ + "/garbage.db") << std::string(8192, 'x');
  EXPECT_EQ(Store::Open("sqlite:" + dir_ + "/garbage.db").status().code(), StatusCode::kDataLoss);
}

TEST_F(StoreTest, RefusesANewerSchema) {
  ASSERT_TRUE(Store::Open(url_).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/node.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 999", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = Store::Open(url_);
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("newer"), std::string::npos);
}

StoredEntityStatement StatementRow(const std::string& id, const std::string& period,
                                   double native_pd) {
  StoredEntityStatement e;
  e.entity_id = id;
  e.issuer_node_id = "hk-node-1";
  e.period = period;
  e.native_pd = native_pd;
  e.joint_pd = native_pd * 1.5;
  e.grade = "B";
  e.valid_until = 1796083200;
  e.fetched_at = 1793491200;
  e.statement = std::string("\x08\x01\x00statement-of-", 16) + id;  // binary: NULs kept
  e.envelope = std::string("\x0a\x00envelope", 10);
  return e;
}

TEST_F(StoreTest, EntityStatementsUpsertScanAndGet) {
  auto store = Store::Open(url_);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->GetEntityStatement("hkbrn:12345678").status().code(), StatusCode::kNotFound);
  const std::vector<StoredEntityStatement> first = {
      StatementRow("hkcrn:0012345", "2026-09", 0.05),
      StatementRow("hkbrn:12345678", "2026-09", 0.02)};
  ASSERT_TRUE((*store)->PutEntityStatements(first).ok());
  // A newer statement of one entity replaces its old one.
  const std::vector<StoredEntityStatement> second = {
      StatementRow("hkbrn:12345678", "2026-10", 0.03)};
  ASSERT_TRUE((*store)->PutEntityStatements(second).ok());

  std::vector<StoredEntityStatement> scanned;
  ASSERT_TRUE((*store)
                  ->ScanEntityStatements([&](const StoredEntityStatement& e) {
                    scanned.push_back(e);
                    return OkStatus();
                  })
                  .ok());
  ASSERT_EQ(scanned.size(), 2u);
  EXPECT_EQ(scanned[0].entity_id, "hkbrn:12345678");  // by entity id
  EXPECT_EQ(scanned[0].period, "2026-10");
  EXPECT_DOUBLE_EQ(scanned[0].native_pd, 0.03);
  EXPECT_EQ(scanned[1].entity_id, "hkcrn:0012345");

  auto got = (*store)->GetEntityStatement("hkbrn:12345678");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  const StoredEntityStatement& want = second[0];
  EXPECT_EQ(got->issuer_node_id, want.issuer_node_id);
  EXPECT_DOUBLE_EQ(got->joint_pd, want.joint_pd);
  EXPECT_EQ(got->grade, want.grade);
  EXPECT_EQ(got->valid_until, want.valid_until);
  EXPECT_EQ(got->fetched_at, want.fetched_at);
  EXPECT_EQ(got->statement, want.statement);
  EXPECT_EQ(got->envelope, want.envelope);

  // A visitor's error stops the scan and comes back.
  EXPECT_EQ(
      (*store)
          ->ScanEntityStatements([](const StoredEntityStatement&) { return DataLossError("stop"); })
          .code(),
      StatusCode::kDataLoss);
}

TEST_F(StoreTest, MigratesAVersion5Store) {
  {
    auto store = Store::Open(url_);
    ASSERT_TRUE(store.ok());
    LoadGrades(**store, {Grade("uscc:91440300MA5G2U7B88", "A")});
  }
  // Back to what a version 5 program made.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/node.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(
          db,
          "DROP TABLE entity_statements; DROP TABLE evaluation_runs; DROP TABLE store_generations; "
          "DROP INDEX attestations_active; CREATE INDEX attestations_active "
          "ON attestations (subject_id) WHERE state = 1; "
          "CREATE INDEX attestations_by_subject ON attestations (subject_id, issued_at); "
          "PRAGMA user_version = 5",
          nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);

  auto store = Store::Open(url_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->schema_version(), 10);
  EXPECT_EQ(LatestSchemaVersion(), 10);
  EXPECT_EQ(*(*store)->EvaluationsGeneration(), 0u);  // migration 9
  {
    // Migration 8 keys the index of active attestations by status index.
    sqlite3* check = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/node.db").c_str(), &check), SQLITE_OK);
    sqlite3_stmt* sql = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(check,
                                 "SELECT sql FROM sqlite_master WHERE name = 'attestations_active'",
                                 -1, &sql, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(sql), SQLITE_ROW);
    EXPECT_NE(std::string(reinterpret_cast<const char*>(sqlite3_column_text(sql, 0)))
                  .find("(status_index) WHERE state = 1"),
              std::string::npos);
    sqlite3_finalize(sql);
    sqlite3_close(check);
  }
  EXPECT_EQ(*(*store)->CountRows(mapping::FeedKind::kSzGrades), 1u);
  const std::vector<StoredEntityStatement> rows = {StatementRow("hkbrn:12345678", "2026-10", 0.03)};
  ASSERT_TRUE((*store)->PutEntityStatements(rows).ok());
  EXPECT_TRUE((*store)->GetEntityStatement("hkbrn:12345678").ok());
}

// Back-to-back groups of `group` rows (as a ledger under load commits them), each
// row with an envelope of about a 16 KiB page: 9,600 pages through the WAL, where
// the checkpoints start at 1,000 pages and the WAL starts again past 4,000.
void CommitAttestationsInGroups(const std::string& url, const std::string& dir, size_t group) {
  auto store = Store::Open(url);
  ASSERT_TRUE(store.ok());
  const std::string db = dir + "/node.db";
  const auto size_before = fs::file_size(db);
  constexpr uint64_t kRows = 9'600;
  constexpr uintmax_t kPage = 16'384;
  uint64_t index = 0;
  while (index < kRows) {
    std::vector<StoredAttestation> rows(group);
    for (StoredAttestation& a : rows) {
      a.attestation_id = fmt::format("{:032x}", index);
      a.subject_id = "uscc:91440300MA5G2U7B88";
      a.period = "2026-10";
      a.grade = "A";
      a.issued_at = 1'790'000'000;
      a.valid_until = a.issued_at + 86'400;
      a.status_index = index++;
      a.envelope = std::string(16'000, static_cast<char>('a' + index % 26));
    }
    ASSERT_TRUE((*store)->PutAttestations(rows).ok());
  }
  // The checkpoints copied the pages into the database (the writer's commits only
  // ask for them; which thread ran each is not visible from here).
  bool copied = false;
  for (int i = 0; i < 100 && !copied; ++i) {
    copied = fs::file_size(db) > size_before + 4'000 * kPage;
    if (!copied) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(copied) << "database file still " << fs::file_size(db) << " bytes";
  // The WAL was started again on the way (its file keeps the largest size it had):
  // it would hold every page otherwise.
  EXPECT_LT(fs::file_size(db + "-wal"), 7'000 * kPage) << "groups of " << group;
  // Every row is there, for another connection too.
  auto reader = Store::Open(url);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(*(*reader)->NextStatusIndex(), kRows);
  auto last = (*reader)->GetAttestation(fmt::format("{:032x}", kRows - 1));
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_EQ(last->envelope.size(), 16'000u);
}

TEST_F(StoreTest, AttestationCommitsAreCheckpointedInTheBackground) {
  CommitAttestationsInGroups(url_, dir_, 8);
}

// Groups larger than what the writer copies itself to start the WAL again: the
// background checkpoint never gets that close while they keep coming, and the WAL
// must still start again.
TEST_F(StoreTest, LargeGroupsStillStartTheWalAgain) { CommitAttestationsInGroups(url_, dir_, 100); }

// Attestations of `subjects` subjects in turn, `count` of them from status index
// `first`, stored in groups of 64.
void PutSubjectAttestations(Store& store, uint64_t first, uint64_t count, int subjects) {
  std::vector<StoredAttestation> rows;
  for (uint64_t i = first; i < first + count; ++i) {
    StoredAttestation a;
    a.attestation_id = fmt::format("{:032x}", i);
    a.subject_id = fmt::format("uscc:91440300MA5G2U{:04}", i % static_cast<uint64_t>(subjects));
    a.period = "2026-10";
    a.grade = "A";
    a.issued_at = 1'790'000'000 + static_cast<int64_t>(i);
    a.valid_until = a.issued_at + 86'400;
    a.status_index = i;
    a.envelope = "envelope";
    rows.push_back(std::move(a));
    if (rows.size() == 64 || i + 1 == first + count) {
      const Status stored = store.PutAttestations(rows);
      ASSERT_TRUE(stored.ok()) << stored.ToString();
      rows.clear();
    }
  }
}

// Runs `sql` on the SQLite file `file` with a connection of the test's own.
void ExecOn(const std::string& file, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

// The subject file's filing mark, read with a connection of the test's own.
int64_t FiledMark(const std::string& dir) {
  sqlite3* db = nullptr;
  int64_t mark = -1;
  if (sqlite3_open_v2((dir + "/node.db-subjects").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
      SQLITE_OK) {
    sqlite3_stmt* sql = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT last_rowid FROM filed", -1, &sql, nullptr) == SQLITE_OK &&
        sqlite3_step(sql) == SQLITE_ROW) {
      mark = sqlite3_column_int64(sql, 0);
    }
    sqlite3_finalize(sql);
  }
  sqlite3_close(db);
  return mark;
}

int64_t WaitForFiledMark(const std::string& dir, int64_t at_least) {
  int64_t mark = FiledMark(dir);
  for (int i = 0; i < 200 && mark < at_least; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    mark = FiledMark(dir);
  }
  return mark;
}

// What ListAttestations must give for subject `s` of `subjects` with `count` stored:
// its status indexes, newest first.
std::vector<uint64_t> ExpectedListing(uint64_t count, int subjects, int s, size_t limit) {
  std::vector<uint64_t> out;
  for (uint64_t i = count; i-- > 0 && out.size() < limit;) {
    if (i % static_cast<uint64_t>(subjects) == static_cast<uint64_t>(s)) out.push_back(i);
  }
  return out;
}

std::vector<uint64_t> Listed(Store& store, int s, size_t limit) {
  auto listed = store.ListAttestations(fmt::format("uscc:91440300MA5G2U{:04}", s), limit);
  EXPECT_TRUE(listed.ok()) << listed.status().ToString();
  std::vector<uint64_t> out;
  if (listed.ok()) {
    for (const StoredAttestation& a : *listed) out.push_back(a.status_index);
  }
  return out;
}

// Subjects are filed in batches on a thread of the store's own; a listing finds
// every attestation, filed or not, for this connection and for another.
TEST_F(StoreTest, AListingFindsAttestationsWhetherTheirSubjectsAreFiledOrNot) {
  constexpr int kSubjects = 37;
  auto store = Store::Open(url_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  // Before any filing: all of them past the mark.
  PutSubjectAttestations(**store, 0, 100, kSubjects);
  EXPECT_EQ(Listed(**store, 5, 100), ExpectedListing(100, kSubjects, 5, 100));
  // Two batches: the filer files them on its own, when asked (at the first store,
  // then after each batch) and as far as they are stored when it runs.
  const uint64_t stored = 2 * kSubjectFilingBatch + 100;
  PutSubjectAttestations(**store, 100, stored - 100, kSubjects);
  const int64_t filed = WaitForFiledMark(dir_, static_cast<int64_t>(kSubjectFilingBatch));
  EXPECT_GE(filed, static_cast<int64_t>(kSubjectFilingBatch));
  EXPECT_LE(filed, static_cast<int64_t>(stored));
  // And some more that wait for the next batch.
  const uint64_t total = stored + 300;
  PutSubjectAttestations(**store, stored, 300, kSubjects);
  auto reader = Store::Open(url_);
  ASSERT_TRUE(reader.ok());
  for (int s : {0, 5, 36}) {
    EXPECT_EQ(Listed(**store, s, 1000), ExpectedListing(total, kSubjects, s, 1000)) << s;
    EXPECT_EQ(Listed(**reader, s, 1000), ExpectedListing(total, kSubjects, s, 1000)) << s;
    EXPECT_EQ(Listed(**reader, s, 7), ExpectedListing(total, kSubjects, s, 7)) << s;
  }
  EXPECT_TRUE(Listed(**reader, kSubjects, 10).empty());
  // The filing index holds each filed attestation once.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/node.db-subjects").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* sql = nullptr;
  // In one statement: a filing may still be committing.
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT count(*), count(DISTINCT status_index), "
                               "(SELECT last_rowid FROM filed) FROM attestation_subjects",
                               -1, &sql, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(sql), SQLITE_ROW);
  const int64_t filed_now = sqlite3_column_int64(sql, 2);
  EXPECT_GE(filed_now, filed);
  EXPECT_EQ(sqlite3_column_int64(sql, 0), filed_now);
  EXPECT_EQ(sqlite3_column_int64(sql, 1), filed_now);
  sqlite3_finalize(sql);
  sqlite3_close(db);
}

// The subject file is derived: lost, or not the store's (a store restored without
// it), it is filed again from the start, and listings stay whole meanwhile.
TEST_F(StoreTest, ASubjectFileLostOrNotTheStoresIsFiledAgain) {
  constexpr int kSubjects = 11;
  const uint64_t count = kSubjectFilingBatch + 10;
  {
    auto store = Store::Open(url_);
    ASSERT_TRUE(store.ok());
    PutSubjectAttestations(**store, 0, count, kSubjects);
    ASSERT_GT(WaitForFiledMark(dir_, 1), 0);
  }
  // A subject file left from before a restore: its mark names an attestation the
  // store does not have (and half of what it filed is gone, to tell).
  ExecOn(dir_ + "/node.db-subjects",
         "UPDATE filed SET last_attestation_id = 'lost with the restore'; "
         "DELETE FROM attestation_subjects WHERE status_index % 2 = 0");
  {
    auto store = Store::Open(url_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    // The first listing finds that the file is not the store's, starts it again
    // and, with more than a batch waiting, files them before it lists.
    EXPECT_EQ(Listed(**store, 4, 1000), ExpectedListing(count, kSubjects, 4, 1000));
    EXPECT_EQ(FiledMark(dir_), static_cast<int64_t>(count));
    // The next attestation stored starts the filer, which files it.
    PutSubjectAttestations(**store, count, 1, kSubjects);
    EXPECT_EQ(WaitForFiledMark(dir_, static_cast<int64_t>(count + 1)),
              static_cast<int64_t>(count + 1));
    EXPECT_EQ(Listed(**store, 4, 1000), ExpectedListing(count + 1, kSubjects, 4, 1000));
  }
  // Of another format (an older program's): made again.
  {
    ExecOn(dir_ + "/node.db-subjects",
           "DROP TABLE filed; CREATE TABLE filed (id, last_rowid); PRAGMA user_version = 7");
    auto store = Store::Open(url_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ(Listed(**store, 4, 1000), ExpectedListing(count + 1, kSubjects, 4, 1000));
    EXPECT_EQ(FiledMark(dir_), static_cast<int64_t>(count + 1));
  }
  // Damaged: its pages past the header overwritten. Listings are still whole (by a
  // scan of the store).
  {
    const std::string file = dir_ + "/node.db-subjects";
    ExecOn(file, "PRAGMA wal_checkpoint(TRUNCATE)");  // all of it into the file
    const auto size = fs::file_size(file);
    ASSERT_GT(size, 8192u);
    std::fstream damage(file, std::ios::in | std::ios::out | std::ios::binary);
    damage.seekp(4096);
    const std::string garbage(size - 4096, '\xA5');
    damage.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    damage.close();
    auto store = Store::Open(url_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (int s = 0; s < kSubjects; ++s) {
      EXPECT_EQ(Listed(**store, s, 1000), ExpectedListing(count + 1, kSubjects, s, 1000)) << s;
    }
  }
  // Lost altogether; the store file readable by its group (which a umask of 022
  // would take from a file made plainly).
  const auto shared = fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                      fs::perms::group_write;
  fs::permissions(dir_ + "/node.db", shared);
  const mode_t umask_before = ::umask(022);
  for (const char* suffix : {"-subjects", "-subjects-wal", "-subjects-shm"}) {
    fs::remove(dir_ + "/node.db" + suffix);
  }
  auto store = Store::Open(url_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(Listed(**store, 4, 1000), ExpectedListing(count + 1, kSubjects, 4, 1000));
  ::umask(umask_before);
  // Made with the store file's permissions.
  EXPECT_EQ(fs::status(dir_ + "/node.db-subjects").permissions(), shared);
}

// An upgraded store gets its subject file, filed, as the migration completes; and
// the index it replaces is gone.
TEST_F(StoreTest, TheUpgradeToTheSubjectFileFilesEverySubject) {
  const uint64_t count = 2 * kSubjectFilingBatch + 10;
  {
    auto store = Store::Open(url_);
    ASSERT_TRUE(store.ok());
    PutSubjectAttestations(**store, 0, count, 9);
  }
  // Back to what a version 9 program made.
  for (const char* suffix : {"-subjects", "-subjects-wal", "-subjects-shm"}) {
    fs::remove(dir_ + "/node.db" + suffix);
  }
  ExecOn(dir_ + "/node.db",
         "CREATE INDEX attestations_by_subject ON attestations (subject_id, issued_at); "
         "PRAGMA user_version = 9");

  auto store = Store::Open(url_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->schema_version(), 10);
  EXPECT_EQ(FiledMark(dir_), static_cast<int64_t>(count));
  EXPECT_EQ(Listed(**store, 3, 2000), ExpectedListing(count, 9, 3, 2000));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/node.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* sql = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(
                db, "SELECT count(*) FROM sqlite_master WHERE name = 'attestations_by_subject'", -1,
                &sql, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(sql), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(sql, 0), 0);
  sqlite3_finalize(sql);
  sqlite3_close(db);
}

// A private in-memory store has no other connection: it files on its own.
TEST(InMemoryStoreTest, FilesSubjectsOnItsOwnConnection) {
  auto store = Store::Open("sqlite::memory:");
  ASSERT_TRUE(store.ok());
  const uint64_t count = kSubjectFilingBatch + 5;
  PutSubjectAttestations(**store, 0, count, 3);
  for (int s : {0, 1, 2}) {
    EXPECT_EQ(Listed(**store, s, 2000), ExpectedListing(count, 3, s, 2000)) << s;
  }
}

TEST_F(StoreTest, ScansTheForeignHoldersOfEachSide) {
  auto store = Store::Open(url_);
  ASSERT_TRUE(store.ok());
  auto holding = [](std::string holder, std::string owned, std::string as_of) {
    mapping::OwnershipRecord r;
    r.holder_id = std::move(holder);
    r.holder_is_person = r.holder_id.starts_with("person:");
    r.owned_id = std::move(owned);
    r.share = r.voting = 0.3;
    r.as_of = std::move(as_of);
    return r;
  };
  const std::string firm = "uscc:91440300MA5G2U7B88";
  const std::string hk_firm = "hkbrn:87654321";
  const std::vector<mapping::OwnershipRecord> rows = {
      holding("hkbrn:12345678", firm, "2026-10-01"),
      holding("hkbrn:12345678", hk_firm, "2026-10-01"),  // the same holder twice
      holding("hkcrn:0012345", firm, "2026-09-30"),
      holding("hkcrn:0099999", firm, "2026-11-01"),  // after the date asked about
      holding("person:ps1-0123456789abcdef0123456789abcdef", firm, "2026-10-01"),
      holding("lei:5493001KJTIIGC8Y1R12", firm, "2026-10-01"),
      holding("uscc:91440300MA5G2U7B88", hk_firm, "2026-10-01"),
  };
  {
    auto load = (*store)->BeginLoad(mapping::FeedKind::kOwnership);
    ASSERT_TRUE(load.ok());
    for (const auto& r : rows) ASSERT_TRUE((*load)->Put(r).ok());
    ASSERT_TRUE((*load)->Commit({"ownership.csv", rows.size(), 0}).ok());
  }
  auto scan = [&](std::string_view side) {
    std::vector<std::string> ids;
    Status s = (*store)->ScanForeignHolders("2026-10-31", side, [&](const std::string& id) {
      ids.push_back(id);
      return OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return ids;
  };
  EXPECT_EQ(scan("sz"), (std::vector<std::string>{"hkbrn:12345678", "hkcrn:0012345"}));
  EXPECT_EQ(scan("hk"), (std::vector<std::string>{"uscc:91440300MA5G2U7B88"}));
  EXPECT_EQ(
      (*store)
          ->ScanForeignHolders("2026-10-31", "mo", [](const std::string&) { return OkStatus(); })
          .code(),
      StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cg::gateway
