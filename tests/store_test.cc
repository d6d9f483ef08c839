#include "gateway/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

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

}  // namespace
}  // namespace cg::gateway
