// `credit-gateway load` and `evaluate` as an operator runs them: real processes on a
// real SQLite store, including a load killed with SIGKILL part way through.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "tests/test_process.h"

namespace cg::test {
namespace {

class LoadCliTest : public ::testing::Test {
 protected:
  ProcessResult Cli(std::vector<std::string> args,
                    std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
    args.insert(args.begin(), CG_BINARY);
    ProcessOptions options;
    options.timeout = timeout;
    return RunProcess(args, options);
  }
  std::string Store() const { return "sqlite:" + dir_.File("node.db"); }

  int64_t Count(const std::string& sql, const std::string& file = "node.db") {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(dir_.File(file).c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
              SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      n = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
  }
  std::string IntegrityCheck() {
    sqlite3* db = nullptr;
    sqlite3_open(dir_.File("node.db").c_str(), &db);
    sqlite3_stmt* stmt = nullptr;
    std::string result;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return result;
  }

  TempDir dir_;
};

TEST_F(LoadCliTest, LoadReloadEvaluateExplain) {
  ASSERT_EQ(
      Cli({"synth", "--entities", "5000", "--seed", "3", "--out", dir_.File("feeds")}).exit_code,
      0);
  ASSERT_EQ(Cli({"key", "pseudonym", "--out", dir_.File("pseudonym.key")}).exit_code, 0);
  for (const char* feed : {"sz-grades", "ownership", "performance"}) {
    const std::string file = dir_.File("feeds/" + std::string(feed) + ".csv");
    auto first = Cli(
        {"load", feed, file, "--store", Store(), "--pseudonym-key", dir_.File("pseudonym.key")});
    ASSERT_EQ(first.exit_code, 0) << first.Describe();
    EXPECT_NE(first.stdout_text.find(" 0 unchanged, 0 rejected"), std::string::npos)
        << first.stdout_text;
    auto again = Cli(
        {"load", feed, file, "--store", Store(), "--pseudonym-key", dir_.File("pseudonym.key")});
    ASSERT_EQ(again.exit_code, 0) << again.Describe();
    EXPECT_NE(again.stdout_text.find(" 0 stored (new or changed)"), std::string::npos)
        << "reloading the same file must change nothing: " << again.stdout_text;
  }
  EXPECT_EQ(Count("SELECT count(*) FROM ownership WHERE holder_id GLOB 'person:*' AND "
                  "holder_id NOT GLOB 'person:ps1-*'"),
            0)
      << "a raw natural-person id reached the store";
  auto evaluate = Cli({"evaluate", "--period", "2026-10", "--store", Store()});
  ASSERT_EQ(evaluate.exit_code, 0) << evaluate.Describe();
  EXPECT_NE(evaluate.stdout_text.find("grade distribution (sz-six-level)"), std::string::npos);
  // The model is configuration: a model file that puts every grade at a PD of 50%
  // grades nearly every entity E (only a safe parent or a spotless payment record can
  // pull one out), and a bad one is refused before anything is stored.
  const int64_t e_before =
      Count("SELECT count(*) FROM evaluations WHERE period = '2026-10' AND grade = 'E'");
  const std::string harsh = dir_.WriteFile(
      "harsh.toml",
      "[shenzhen.grade_pd]\n\"A+\" = 0.5\nA = 0.5\nB = 0.5\nC = 0.5\nD = 0.5\nE = 0.5\n");
  auto harsh_run = Cli({"evaluate", "--period", "2026-10", "--store", Store(), "--model", harsh});
  ASSERT_EQ(harsh_run.exit_code, 0) << harsh_run.Describe();
  const int64_t total = Count("SELECT count(*) FROM evaluations WHERE period = '2026-10'");
  const int64_t e_after =
      Count("SELECT count(*) FROM evaluations WHERE period = '2026-10' AND grade = 'E'");
  EXPECT_LT(e_before, total / 10);
  EXPECT_GT(e_after, total * 95 / 100) << harsh_run.stdout_text;
  auto bad_model = Cli({"evaluate", "--period", "2026-10", "--store", Store(), "--model",
                        dir_.WriteFile("bad.toml", "[equity]\ncolour = 1\n")});
  EXPECT_EQ(bad_model.exit_code, 2);
  EXPECT_NE(bad_model.stderr_text.find("equity.colour"), std::string::npos)
      << bad_model.stderr_text;
  ASSERT_EQ(Cli({"evaluate", "--period", "2026-10", "--store", Store()}).exit_code, 0);

  // A Shenzhen firm held by a Hong Kong company: its chains cross the border.
  const std::string subject = [&] {
    std::ifstream in(dir_.File("feeds/ownership.csv"));
    std::string line;
    while (std::getline(in, line)) {
      if ((line.starts_with("hkcrn:") || line.starts_with("hkbrn:")) &&
          line.find(",entity,HK,uscc:") != std::string::npos) {
        const size_t start = line.find("uscc:");
        return line.substr(start, line.find(',', start) - start);
      }
    }
    return std::string();
  }();
  ASSERT_FALSE(subject.empty());
  auto explain = Cli(
      {"explain", subject, "--store", Store(), "--evaluation-out", dir_.File("evaluation.json")});
  ASSERT_EQ(explain.exit_code, 0) << explain.Describe();
  EXPECT_NE(explain.stdout_text.find(subject), std::string::npos);
  EXPECT_NE(explain.stdout_text.find("reasons"), std::string::npos);
  EXPECT_NE(explain.stdout_text.find("strongest chains"), std::string::npos);
  EXPECT_NE(explain.stdout_text.find("crosses the border"), std::string::npos)
      << explain.stdout_text;
  EXPECT_NE(ReadWholeFile(dir_.File("evaluation.json")).find("\"joint_grade\""), std::string::npos);
  auto missing = Cli({"explain", "uscc:none", "--store", Store()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.stderr_text.find("no evaluation of uscc:none"), std::string::npos);
}

TEST_F(LoadCliTest, RejectsGoToTheReportAndGoodRowsAreStored) {
  const std::string file = dir_.WriteFile(
      "g.csv",
      "entity_id,name,period,grade,industry,business_changes,registration_licensing,penalties,"
      "complaints,commendations\n"
      "uscc:91440300MA5G2U7B88,Good,2026-10,A,C39,1,2,3,4,5\n"
      "uscc:91440300MA5G2U7B89,Bad check,2026-10,A,C39,1,2,3,4,5\n");
  auto r = Cli({"load", "sz-grades", file, "--store", Store()});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.stdout_text.find("1 rejected"), std::string::npos);
  const std::string report = ReadWholeFile(file + ".rejects.csv");
  EXPECT_NE(report.find("3,entity_id,"), std::string::npos) << report;
  EXPECT_EQ(Count("SELECT count(*) FROM sz_grades"), 1);
  auto header =
      Cli({"load", "sz-grades", dir_.WriteFile("h.csv", "entity_id,colour\n"), "--store", Store()});
  EXPECT_EQ(header.exit_code, 2);
  EXPECT_NE(header.stderr_text.find("unknown column 'colour'"), std::string::npos);
  EXPECT_EQ(Count("SELECT count(*) FROM sz_grades"), 1);
}

// A load killed at any point leaves the store either exactly as it was before the
// load or with the whole load: never a part of it.
TEST_F(LoadCliTest, KilledLoadLeavesTheStoreAsItWas) {
  ASSERT_EQ(
      Cli({"synth", "--entities", "400000", "--seed", "9", "--out", dir_.File("feeds")}).exit_code,
      0);
  const std::string grades = dir_.File("feeds/sz-grades.csv");
  const std::string performance = dir_.File("feeds/performance.csv");
  ASSERT_EQ(Cli({"load", "sz-grades", grades, "--store", Store()}).exit_code, 0);
  const int64_t graded = Count("SELECT count(*) FROM sz_grades");
  const int64_t before = Count("SELECT total(business_changes) FROM sz_grades");
  ASSERT_GT(graded, 300000);

  // The whole load, timed on a store of its own: what a load that got to its commit
  // leaves, and how long a load runs on this machine, so that the kills below land
  // part way through it however fast the machine is.
  const std::string reference = "sqlite:" + dir_.File("reference.db");
  const auto start = std::chrono::steady_clock::now();
  auto whole = Cli({"load", "performance", performance, "--store", reference});
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  ASSERT_EQ(whole.exit_code, 0) << whole.Describe();
  const int64_t loaded = Count("SELECT count(*) FROM performance", "reference.db");
  ASSERT_GT(loaded, 1000000);

  int interrupted = 0;
  for (double fraction : {0.3, 0.6, 0.8, 0.95}) {
    const auto at = std::chrono::milliseconds(static_cast<int64_t>(took.count() * fraction));
    const int64_t rows_before = Count("SELECT count(*) FROM performance");
    const int64_t loads_before =
        Count("SELECT count(*) FROM feed_loads WHERE feed = 'performance'");
    auto killed = Cli({"load", "performance", performance, "--store", Store()}, at);
    SCOPED_TRACE(::testing::Message() << "killed after " << at.count() << " ms of " << took.count()
                                      << " ms; " << killed.Describe());
    EXPECT_EQ(IntegrityCheck(), "ok");
    EXPECT_EQ(Count("SELECT count(*) FROM sz_grades"), graded);
    EXPECT_EQ(Count("SELECT total(business_changes) FROM sz_grades"), before);
    const int64_t loads = Count("SELECT count(*) FROM feed_loads WHERE feed = 'performance'");
    if (loads == loads_before) {
      // Killed before its commit: nothing of it is stored.
      EXPECT_TRUE(killed.timed_out);
      EXPECT_EQ(Count("SELECT count(*) FROM performance"), rows_before);
      ++interrupted;
    } else {
      // The kill came after the commit (the process was on its way out): all of it is.
      EXPECT_EQ(loads, loads_before + 1);
      EXPECT_EQ(Count("SELECT count(*) FROM performance"), loaded);
    }
  }
  EXPECT_GT(interrupted, 0) << "no kill landed before a load's commit";

  auto full = Cli({"load", "performance", performance, "--store", Store()});
  ASSERT_EQ(full.exit_code, 0) << full.Describe();
  EXPECT_EQ(Count("SELECT count(*) FROM performance"), loaded);
}

}  // namespace
}  // namespace cg::test
