// SortedLoad: a load's rows come out in key order, ties in the order they went in,
// whether they stayed in memory or went through sorted runs on a temporary file.
#include "gateway/sorted_load.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace cg::gateway {
namespace {

using mapping::OwnershipRecord;
using mapping::PerformanceRecord;
using mapping::SzGradeRecord;

SzGradeRecord Grade(std::mt19937& random, int n) {
  SzGradeRecord r;
  // Few distinct ids over two periods, so equal keys are common.
  r.entity_id = "uscc:9144030" + std::to_string(random() % 50);
  r.period = random() % 2 ? "2026-10" : "2026-09";
  r.name = "Entity " + std::to_string(n) + std::string(random() % 40, 'x');
  r.grade = "A+";
  r.industry = "C38";
  for (double& d : r.dimensions) d = static_cast<double>(random() % 1000) / 10.0;
  r.serious_dishonesty = random() % 2;
  r.abnormal_operation = random() % 2;
  r.shell_risk = random() % 2;
  return r;
}

// What a load must produce: a stable sort by key.
template <typename Order, typename Record>
std::vector<Record> Expected(std::vector<Record> rows) {
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return Order::Key(a) < Order::Key(b); });
  return rows;
}

template <typename Record, typename Order>
std::vector<Record> Drained(SortedLoad<Record, Order>& load) {
  std::vector<Record> out;
  Status drained = load.Drain([&](const Record& r) {
    out.push_back(r);
    return OkStatus();
  });
  EXPECT_TRUE(drained.ok()) << drained.message();
  return out;
}

template <typename Record>
void ExpectSameRows(const std::vector<Record>& got, const std::vector<Record>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_TRUE(got[i] == want[i]) << "row " << i;
}

// Adds every row to a load with chunks of chunk_rows, and expects them back sorted.
template <typename Order, typename Record>
void ExpectLoadSorts(const std::vector<Record>& rows, size_t chunk_rows) {
  SortedLoad<Record, Order> load(chunk_rows);
  for (const auto& r : rows) ASSERT_TRUE(load.Add(r).ok());
  ExpectSameRows(Drained(load), Expected<Order>(rows));
}

TEST(SortedLoadTest, OrdersAChunkInMemoryKeepingTiesInOrder) {
  std::mt19937 random(1);
  std::vector<SzGradeRecord> rows;
  for (int i = 0; i < 500; ++i) rows.push_back(Grade(random, i));
  ExpectLoadSorts<SzGradeOrder>(rows, SortedLoad<SzGradeRecord, SzGradeOrder>::kChunkRows);
}

TEST(SortedLoadTest, MergesRunsOnFileWithTheChunkInMemory) {
  // Chunk sizes that leave a partial last chunk, an exact multiple, and one row per run.
  for (size_t chunk_rows : {7u, 100u, 1u}) {
    std::mt19937 random(static_cast<unsigned>(chunk_rows));
    std::vector<SzGradeRecord> rows;
    for (int i = 0; i < 1000; ++i) rows.push_back(Grade(random, i));
    ExpectLoadSorts<SzGradeOrder>(rows, chunk_rows);
  }
}

TEST(SortedLoadTest, StartsEmptyAfterADrain) {
  std::mt19937 random(2);
  SortedLoad<SzGradeRecord, SzGradeOrder> load(10);
  for (int i = 0; i < 95; ++i) ASSERT_TRUE(load.Add(Grade(random, i)).ok());
  EXPECT_EQ(Drained(load).size(), 95u);
  std::vector<SzGradeRecord> second;
  for (int i = 0; i < 33; ++i) second.push_back(Grade(random, 1000 + i));
  for (const auto& r : second) ASSERT_TRUE(load.Add(r).ok());
  ExpectSameRows(Drained(load), Expected<SzGradeOrder>(second));
  EXPECT_TRUE(Drained(load).empty());
}

TEST(SortedLoadTest, AWriteErrorStopsTheMergeAndIsReturned) {
  std::mt19937 random(3);
  SortedLoad<SzGradeRecord, SzGradeOrder> load(16);
  for (int i = 0; i < 20000; ++i) ASSERT_TRUE(load.Add(Grade(random, i)).ok());
  size_t written = 0;
  Status drained = load.Drain([&](const SzGradeRecord&) {
    return ++written == 5000 ? UnavailableError("disk went away") : OkStatus();
  });
  EXPECT_EQ(drained.code(), StatusCode::kUnavailable);
  EXPECT_EQ(drained.message(), "disk went away");
  EXPECT_EQ(written, 5000u);
}

TEST(SortedLoadTest, OwnershipAndPerformanceRowsSurviveTheirRuns) {
  std::mt19937 random(4);
  std::vector<OwnershipRecord> holdings;
  std::vector<PerformanceRecord> records;
  for (int i = 0; i < 300; ++i) {
    OwnershipRecord h;
    h.holder_id = "person:ps1-" + std::to_string(random() % 20);
    h.holder_is_person = true;
    h.holder_jurisdiction = random() % 2 ? "KY" : "";
    h.owned_id = "uscc:" + std::to_string(random() % 20);
    h.share = static_cast<double>(random() % 100) / 100.0;
    h.voting = h.share / 2;
    h.as_of = "2026-10-0" + std::to_string(1 + random() % 3);
    holdings.push_back(h);
    PerformanceRecord p;
    p.subject_id = "hkbrn:" + std::to_string(random() % 20);
    p.record_id = "r" + std::to_string(random() % 40);
    p.counterparty_jurisdiction = "CN";
    p.kind = static_cast<mapping::PerformanceKind>(random() % 4);
    p.due_date = "2026-01-01";
    p.settled_date = random() % 2 ? "2026-01-09" : "";
    p.amount = static_cast<double>(random() % 100000) / 3.0;
    p.currency = "HKD";
    p.status = static_cast<mapping::PerformanceStatus>(random() % 4);
    records.push_back(p);
  }
  ExpectLoadSorts<OwnershipOrder>(holdings, 9);
  ExpectLoadSorts<PerformanceOrder>(records, 11);
}

TEST(SortedLoadTest, ErrorsStayAndTheMergerStopsWithTheWriter) {
  std::mt19937 random(5);
  SortedLoad<SzGradeRecord, SzGradeOrder> load(8);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(load.Add(Grade(random, i)).ok());
  Status first = load.Drain([](const SzGradeRecord&) { return InternalError("no store"); });
  EXPECT_EQ(first.message(), "no store");
  // The rows are gone with the failed drain: nothing pretends otherwise.
  EXPECT_EQ(load.Add(Grade(random, 101)).message(), "no store");
  EXPECT_EQ(load.Drain([](const SzGradeRecord&) { return OkStatus(); }).message(), "no store");
}

TEST(SortedLoadTest, ADamagedRunRecordIsNoticedNotOverread) {
  RunEncoder out;
  SzGradeRecord r;
  r.entity_id = "uscc:1";
  r.name = "A name";
  SzGradeOrder::Fields(out, std::as_const(r));
  const std::string bytes = out.bytes();
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    RunDecoder in(std::string_view(bytes).substr(0, cut));
    SzGradeRecord back;
    SzGradeOrder::Fields(in, back);
    EXPECT_TRUE(in.failed()) << "cut at " << cut;
  }
  RunDecoder whole(bytes);
  SzGradeRecord back;
  SzGradeOrder::Fields(whole, back);
  EXPECT_FALSE(whole.failed());
  EXPECT_TRUE(back == r);
}

}  // namespace
}  // namespace cg::gateway
