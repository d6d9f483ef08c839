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

bool SameGrade(const SzGradeRecord& a, const SzGradeRecord& b) {
  return a.entity_id == b.entity_id && a.period == b.period && a.name == b.name &&
         a.grade == b.grade && a.industry == b.industry && a.dimensions == b.dimensions &&
         a.serious_dishonesty == b.serious_dishonesty &&
         a.abnormal_operation == b.abnormal_operation && a.shell_risk == b.shell_risk;
}

// What a load must produce: a stable sort by key.
std::vector<SzGradeRecord> Expected(std::vector<SzGradeRecord> rows) {
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return SzGradeOrder::Key(a) < SzGradeOrder::Key(b);
  });
  return rows;
}

std::vector<SzGradeRecord> Drained(SortedLoad<SzGradeRecord, SzGradeOrder>& load) {
  std::vector<SzGradeRecord> out;
  Status drained = load.Drain([&](const SzGradeRecord& r) {
    out.push_back(r);
    return OkStatus();
  });
  EXPECT_TRUE(drained.ok()) << drained.message();
  return out;
}

void ExpectSameRows(const std::vector<SzGradeRecord>& got, const std::vector<SzGradeRecord>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(SameGrade(got[i], want[i]))
        << "row " << i << ": " << got[i].name << " vs " << want[i].name;
  }
}

TEST(SortedLoadTest, OrdersAChunkInMemoryKeepingTiesInOrder) {
  std::mt19937 random(1);
  std::vector<SzGradeRecord> rows;
  for (int i = 0; i < 500; ++i) rows.push_back(Grade(random, i));
  SortedLoad<SzGradeRecord, SzGradeOrder> load;
  for (const auto& r : rows) ASSERT_TRUE(load.Add(r).ok());
  ExpectSameRows(Drained(load), Expected(rows));
}

TEST(SortedLoadTest, MergesRunsOnFileWithTheChunkInMemory) {
  // Chunk sizes that leave a partial last chunk, an exact multiple, and one row per run.
  for (size_t chunk_rows : {7u, 100u, 1u}) {
    std::mt19937 random(static_cast<unsigned>(chunk_rows));
    std::vector<SzGradeRecord> rows;
    for (int i = 0; i < 1000; ++i) rows.push_back(Grade(random, i));
    SortedLoad<SzGradeRecord, SzGradeOrder> load(chunk_rows);
    for (const auto& r : rows) ASSERT_TRUE(load.Add(r).ok());
    ExpectSameRows(Drained(load), Expected(rows));
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
  ExpectSameRows(Drained(load), Expected(second));
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
  SortedLoad<OwnershipRecord, OwnershipOrder> holding_load(9);
  for (const auto& h : holdings) ASSERT_TRUE(holding_load.Add(h).ok());
  std::vector<OwnershipRecord> got_holdings;
  ASSERT_TRUE(holding_load
                  .Drain([&](const OwnershipRecord& h) {
                    got_holdings.push_back(h);
                    return OkStatus();
                  })
                  .ok());
  std::stable_sort(holdings.begin(), holdings.end(), [](const auto& a, const auto& b) {
    return OwnershipOrder::Key(a) < OwnershipOrder::Key(b);
  });
  ASSERT_EQ(got_holdings.size(), holdings.size());
  for (size_t i = 0; i < holdings.size(); ++i) {
    const auto& a = got_holdings[i];
    const auto& b = holdings[i];
    EXPECT_TRUE(a.holder_id == b.holder_id && a.holder_is_person == b.holder_is_person &&
                a.holder_jurisdiction == b.holder_jurisdiction && a.owned_id == b.owned_id &&
                a.share == b.share && a.voting == b.voting && a.as_of == b.as_of)
        << "holding " << i;
  }

  SortedLoad<PerformanceRecord, PerformanceOrder> performance_load(11);
  for (const auto& p : records) ASSERT_TRUE(performance_load.Add(p).ok());
  std::vector<PerformanceRecord> got_records;
  ASSERT_TRUE(performance_load
                  .Drain([&](const PerformanceRecord& p) {
                    got_records.push_back(p);
                    return OkStatus();
                  })
                  .ok());
  std::stable_sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
    return PerformanceOrder::Key(a) < PerformanceOrder::Key(b);
  });
  ASSERT_EQ(got_records.size(), records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& a = got_records[i];
    const auto& b = records[i];
    EXPECT_TRUE(a.subject_id == b.subject_id && a.record_id == b.record_id &&
                a.counterparty_jurisdiction == b.counterparty_jurisdiction && a.kind == b.kind &&
                a.due_date == b.due_date && a.settled_date == b.settled_date &&
                a.amount == b.amount && a.currency == b.currency && a.status == b.status)
        << "record " << i;
  }
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
  EXPECT_TRUE(SameGrade(back, r));
}

}  // namespace
}  // namespace cg::gateway
