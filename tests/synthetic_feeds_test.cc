#include "mapping/synthetic_feeds.h"

#include <google/protobuf/struct.pb.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "crypto/pseudonym.h"
#include "mapping/equity_graph.h"
#include "mapping/feeds.h"
#include "mapping/identifier.h"
#include "specs/json.h"

namespace cg::mapping {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSzGradesHeader =
    "entity_id,name,period,grade,industry,business_changes,registration_licensing,penalties,"
    "complaints,commendations,serious_dishonesty,abnormal_operation,shell_risk";
constexpr std::string_view kOwnershipHeader =
    "holder_id,holder_kind,holder_jurisdiction,owned_id,share,voting,as_of";
constexpr std::string_view kPerformanceHeader =
    "subject_id,record_id,counterparty_jurisdiction,kind,due_date,settled_date,amount,currency,"
    "status";

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "synth_test_XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(std::string_view name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path, std::ios::binary);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// One CSV record (no line breaks inside fields in these files): RFC 4180 quoting.
std::vector<std::string> SplitCsv(std::string_view line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

// A CSV file as a header and rows of fields, each row checked to have the header's width.
struct Csv {
  std::string header;
  std::vector<std::vector<std::string>> rows;
};

Csv ReadCsv(const std::string& path) {
  Csv csv;
  std::vector<std::string> lines = Lines(path);
  EXPECT_FALSE(lines.empty()) << path;
  if (lines.empty()) return csv;
  csv.header = lines[0];
  const size_t width = SplitCsv(lines[0]).size();
  for (size_t i = 1; i < lines.size(); ++i) {
    csv.rows.push_back(SplitCsv(lines[i]));
    EXPECT_EQ(csv.rows.back().size(), width) << path << " line " << i + 1 << ": " << lines[i];
  }
  return csv;
}

// Hundredths of a percent from "60", "12.5", "33.33"; -1 if malformed.
int64_t ParseHundredths(std::string_view text) {
  if (text.empty()) return -1;
  int64_t whole = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] != '.'; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    whole = whole * 10 + (text[i] - '0');
  }
  int64_t frac = 0;
  if (i < text.size()) {
    const std::string_view decimals = text.substr(i + 1);
    if (decimals.empty() || decimals.size() > 2) return -1;
    for (char c : decimals) {
      if (c < '0' || c > '9') return -1;
    }
    frac = (decimals[0] - '0') * 10 + (decimals.size() == 2 ? decimals[1] - '0' : 0);
  }
  return whole * 100 + frac;
}

bool IsDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

SynthOptions Options(uint64_t entities, uint64_t seed = 7) {
  SynthOptions options;
  options.entities = entities;
  options.seed = seed;
  return options;
}

SynthSummary Generate(const SynthOptions& options, const TempDir& dir) {
  StatusOr<SynthSummary> summary = WriteSyntheticFeeds(options, dir.path());
  EXPECT_TRUE(summary.ok()) << summary.status().ToString();
  return summary.ok() ? *summary : SynthSummary{};
}

void ExpectParses(std::string_view id, std::string_view where) {
  const StatusOr<EntityId> parsed = ParseEntityId(id);
  EXPECT_TRUE(parsed.ok()) << where << ": " << id << ": " << parsed.status().ToString();
}

const std::array<std::string_view, 4> kFiles = {kSynthSzGradesFile, kSynthOwnershipFile,
                                                kSynthPerformanceFile, kSynthHkBureauFile};

// ---------------------------------------------------------------------------------------

TEST(SynthDeterminismTest, SameOptionsGiveIdenticalFilesAndAnotherSeedDiffers) {
  TempDir a, b, c;
  const SynthSummary first = Generate(Options(5000, 42), a);
  const SynthSummary second = Generate(Options(5000, 42), b);
  Generate(Options(5000, 43), c);
  EXPECT_EQ(first.bytes_written, second.bytes_written);
  for (std::string_view file : kFiles) {
    SCOPED_TRACE(std::string(file));
    const std::string bytes = ReadAll(a.File(file));
    EXPECT_FALSE(bytes.empty());
    EXPECT_TRUE(bytes == ReadAll(b.File(file)));
    EXPECT_FALSE(bytes == ReadAll(c.File(file)));
  }
}

TEST(SynthDeterminismTest, GoldenDigestOfASmallWorld) {
  // Guards the "same bytes on any machine" promise: a change here means every published
  // synthetic data set changes; do it on purpose and update the digest.
  TempDir dir;
  Generate(Options(300, 1), dir);
  uint64_t digest = 1469598103934665603ull;  // FNV-1a over the four files in order
  for (std::string_view file : kFiles) {
    for (unsigned char ch : ReadAll(dir.File(file))) digest = (digest ^ ch) * 1099511628211ull;
  }
  EXPECT_EQ(digest, 12512663336482404432ull) << "digest is " << digest;
}

TEST(SynthFilesTest, HeadersMatchTheSpec) {
  TempDir dir;
  Generate(Options(2000), dir);
  EXPECT_EQ(Lines(dir.File(kSynthSzGradesFile)).at(0), kSzGradesHeader);
  EXPECT_EQ(Lines(dir.File(kSynthOwnershipFile)).at(0), kOwnershipHeader);
  EXPECT_EQ(Lines(dir.File(kSynthPerformanceFile)).at(0), kPerformanceHeader);
  // hk-bureau: every line a JSON object with exactly the spec's keys.
  const std::set<std::string> keys = {
      "entity_id",     "name",     "as_of",     "incorporation_date",
      "facilities",    "defaults", "judgments", "winding_up_petitions",
      "trade_payments"};
  for (const std::string& line : Lines(dir.File(kSynthHkBureauFile))) {
    google::protobuf::Struct record;
    ASSERT_TRUE(JsonToMessage(line, &record).ok()) << line;
    std::set<std::string> seen;
    for (const auto& [key, value] : record.fields()) seen.insert(key);
    EXPECT_EQ(seen, keys) << line;
  }
  // No partial files are left behind.
  for (const auto& entry : fs::directory_iterator(dir.path()))
    EXPECT_NE(entry.path().extension(), ".partial") << entry.path();
}

TEST(SynthFilesTest, EveryIdParsesAndAgreesWithItsColumn) {
  TempDir dir;
  const SynthSummary summary = Generate(Options(3000), dir);

  std::unordered_set<std::string> entities;
  for (const auto& row : ReadCsv(dir.File(kSynthSzGradesFile)).rows) {
    ExpectParses(row[0], "sz-grades entity_id");
    EXPECT_TRUE(row[0].starts_with("uscc:")) << row[0];
    EXPECT_TRUE(entities.insert(row[0]).second) << "duplicate " << row[0];
  }
  for (const std::string& line : Lines(dir.File(kSynthHkBureauFile))) {
    google::protobuf::Struct record;
    ASSERT_TRUE(JsonToMessage(line, &record).ok()) << line;
    const std::string id = record.fields().at("entity_id").string_value();
    ExpectParses(id, "hk-bureau entity_id");
    EXPECT_TRUE(id.starts_with("hkcrn:") || id.starts_with("hkbrn:")) << id;
    EXPECT_TRUE(entities.insert(id).second) << "duplicate " << id;
  }
  EXPECT_EQ(entities.size(), summary.shenzhen_entities + summary.hong_kong_entities);

  std::set<std::string> persons;
  bool saw_hkid = false, saw_mainland_id = false, saw_lei = false;
  for (const auto& row : ReadCsv(dir.File(kSynthOwnershipFile)).rows) {
    const std::string& holder = row[0];
    ExpectParses(holder, "ownership holder_id");
    ExpectParses(row[3], "ownership owned_id");
    const bool person = holder.starts_with("person:");
    EXPECT_EQ(row[1], person ? "person" : "entity") << holder;
    EXPECT_FALSE(row[3].starts_with("person:")) << row[3];
    if (person) {
      persons.insert(holder);
      const std::string_view raw = std::string_view(holder).substr(7);
      EXPECT_FALSE(raw.starts_with("ps1-"));  // raw ids, as a source registry gives them
      saw_hkid = saw_hkid || raw.back() == ')';
      saw_mainland_id = saw_mainland_id || raw.size() == 18;
    }
    saw_lei = saw_lei || holder.starts_with("lei:");
  }
  EXPECT_EQ(persons.size(), summary.persons);
  EXPECT_TRUE(saw_hkid);
  EXPECT_TRUE(saw_mainland_id);
  EXPECT_TRUE(saw_lei);
  for (const auto& row : ReadCsv(dir.File(kSynthPerformanceFile)).rows)
    ExpectParses(row[0], "performance subject_id");
}

// Takes every record of a feed, and builds the ownership graph as the evaluation would.
class CollectingSink : public FeedSink {
 public:
  Status OnSzGrade(const SzGradeRecord&) override { return Count(); }
  Status OnPerformance(const PerformanceRecord&) override { return Count(); }
  Status OnHkBureau(const HkBureauRecord&) override { return Count(); }
  Status OnOwnership(const OwnershipRecord& record) override {
    const NodeIndex holder =
        Node(record.holder_id, record.holder_is_person, record.holder_jurisdiction);
    const NodeIndex owned = Node(record.owned_id, false, "");
    CG_RETURN_IF_ERROR(graph_.AddHolding(holder, owned, record.share, record.voting));
    return Count();
  }
  Status OnReject(const FeedReject& reject) override {
    if (rejects_.size() < 5)
      rejects_.push_back("line " + std::to_string(reject.line) + " " + reject.column + ": " +
                         reject.reason);
    return OkStatus();
  }

  uint64_t records() const { return records_; }
  const std::vector<std::string>& rejects() const { return rejects_; }
  StatusOr<EquityGraph> BuildGraph() && { return std::move(graph_).Build(); }

 private:
  Status Count() {
    ++records_;
    return OkStatus();
  }
  NodeIndex Node(const std::string& id, bool person, const std::string& jurisdiction) {
    const auto [it, inserted] = nodes_.emplace(id, 0);
    if (inserted) {
      it->second = graph_.AddNode(id, person ? NodeKind::kNaturalPerson : NodeKind::kEntity,
                                  jurisdiction, false);
    }
    return it->second;
  }

  uint64_t records_ = 0;
  std::vector<std::string> rejects_;
  std::unordered_map<std::string, NodeIndex> nodes_;
  EquityGraphBuilder graph_{OverSubscribedHolders::kReject};
};

TEST(SynthFilesTest, LoadThroughTheFeedReaderWithoutRejects) {
  TempDir dir;
  const SynthSummary summary = Generate(Options(5000), dir);
  const StatusOr<crypto::Pseudonymizer> pseudonymizer =
      crypto::Pseudonymizer::FromKey(std::string(crypto::kPseudonymKeyBytes, 'k'));
  ASSERT_TRUE(pseudonymizer.ok());
  const struct {
    FeedKind kind;
    std::string_view file;
    uint64_t rows;
  } feeds[] = {{FeedKind::kSzGrades, kSynthSzGradesFile, summary.sz_grade_rows},
               {FeedKind::kOwnership, kSynthOwnershipFile, summary.ownership_rows},
               {FeedKind::kPerformance, kSynthPerformanceFile, summary.performance_rows},
               {FeedKind::kHkBureau, kSynthHkBureauFile, summary.hk_bureau_rows}};
  for (const auto& feed : feeds) {
    SCOPED_TRACE(std::string(feed.file));
    CollectingSink sink;
    const FeedFormat format =
        feed.kind == FeedKind::kHkBureau ? FeedFormat::kJsonLines : FeedFormat::kCsv;
    const StatusOr<FeedReadSummary> read =
        ReadFeed(feed.kind, dir.File(feed.file), format, &*pseudonymizer, sink);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(read->rejected, 0u);
    for (const std::string& reject : sink.rejects()) ADD_FAILURE() << reject;
    EXPECT_EQ(read->accepted, feed.rows);
    EXPECT_EQ(sink.records(), feed.rows);
    if (feed.kind == FeedKind::kOwnership) {
      // The equity graph refuses holders over 100% (of share or of votes) and self-holding.
      const StatusOr<EquityGraph> graph = std::move(sink).BuildGraph();
      ASSERT_TRUE(graph.ok()) << graph.status().ToString();
      EXPECT_EQ(graph->edge_count(), summary.ownership_rows);
    }
  }
}

TEST(SynthOwnershipTest, HoldersNeverExceedAHundredPercentAndNeverHoldThemselves) {
  TempDir dir;
  const SynthSummary summary = Generate(Options(20000), dir);
  const Csv csv = ReadCsv(dir.File(kSynthOwnershipFile));
  ASSERT_EQ(csv.rows.size(), summary.ownership_rows);
  std::unordered_map<std::string, int64_t> share_sum, voting_sum;
  std::unordered_map<std::string, std::string> as_of;
  std::set<std::pair<std::string, std::string>> pairs;
  for (const auto& row : csv.rows) {
    const std::string& holder = row[0];
    const std::string& owned = row[3];
    EXPECT_NE(holder, owned);
    EXPECT_TRUE(pairs.emplace(holder, owned).second) << "twice: " << holder << " " << owned;
    const int64_t share = ParseHundredths(row[4]);
    EXPECT_GT(share, 0) << row[4];
    EXPECT_LE(share, 10000) << row[4];
    const int64_t voting = row[5].empty() ? share : ParseHundredths(row[5]);
    EXPECT_GE(voting, 0) << row[5];
    share_sum[owned] += share;
    voting_sum[owned] += voting;
    EXPECT_TRUE(IsDate(row[6]) && row[6].starts_with("2026-10-")) << row[6];
    // One as_of per company: its holders are one snapshot.
    auto [it, inserted] = as_of.emplace(owned, row[6]);
    if (!inserted) {
      EXPECT_EQ(it->second, row[6]) << owned;
    }
  }
  uint64_t partial = 0;
  for (const auto& [owned, sum] : share_sum) {
    EXPECT_LE(sum, 10000) << owned;
    EXPECT_LE(voting_sum[owned], 10000) << owned;
    if (sum < 10000) ++partial;
  }
  EXPECT_EQ(partial, summary.partially_held);
  EXPECT_EQ(share_sum.size() + summary.unheld, summary.entities);
}

// Counts the companies on ownership cycles (Kosaraju over the entity-held edges).
uint64_t CompaniesOnCycles(const std::vector<std::vector<std::string>>& rows) {
  std::unordered_map<std::string, size_t> index;
  const auto node = [&](const std::string& id) {
    return index.emplace(id, index.size()).first->second;
  };
  std::vector<std::pair<size_t, size_t>> edges;
  for (const auto& row : rows) {
    if (row[1] == "entity") edges.emplace_back(node(row[0]), node(row[3]));
  }
  const size_t n = index.size();
  std::vector<std::vector<size_t>> out(n), in(n);
  for (const auto& [from, to] : edges) {
    out[from].push_back(to);
    in[to].push_back(from);
  }
  std::vector<size_t> order;
  std::vector<bool> seen(n, false);
  for (size_t start = 0; start < n; ++start) {
    if (seen[start]) continue;
    std::vector<std::pair<size_t, size_t>> stack = {{start, 0}};
    seen[start] = true;
    while (!stack.empty()) {
      auto& [v, next] = stack.back();
      if (next < out[v].size()) {
        const size_t w = out[v][next++];
        if (!seen[w]) {
          seen[w] = true;
          stack.emplace_back(w, 0);
        }
      } else {
        order.push_back(v);
        stack.pop_back();
      }
    }
  }
  std::vector<int64_t> component(n, -1);
  uint64_t on_cycles = 0;
  int64_t label = 0;
  for (auto it = order.rbegin(); it != order.rend(); ++it, ++label) {
    if (component[*it] >= 0) continue;
    std::vector<size_t> members, stack = {*it};
    component[*it] = label;
    while (!stack.empty()) {
      const size_t v = stack.back();
      stack.pop_back();
      members.push_back(v);
      for (size_t w : in[v]) {
        if (component[w] < 0) {
          component[w] = label;
          stack.push_back(w);
        }
      }
    }
    if (members.size() > 1) on_cycles += members.size();
  }
  return on_cycles;
}

TEST(SynthShapeTest, KnobsAreRoughlyHonoured) {
  TempDir dir;
  const SynthOptions options = Options(20000);
  const SynthSummary s = Generate(options, dir);

  EXPECT_EQ(s.entities, 20000u);
  EXPECT_NEAR(static_cast<double>(s.hong_kong_entities) / 20000, 0.07, 0.002);
  EXPECT_NEAR(static_cast<double>(s.offshore_entities) / 20000, 0.01, 0.002);
  EXPECT_EQ(s.sz_grade_rows, s.shenzhen_entities);
  EXPECT_EQ(s.hk_bureau_rows, s.hong_kong_entities);

  const Csv ownership = ReadCsv(dir.File(kSynthOwnershipFile));
  std::set<std::string> hk_funded, mainland_owned_hk, offshore_holders;
  uint64_t voting_differs = 0;
  for (const auto& row : ownership.rows) {
    const bool holder_hk = row[0].starts_with("hk");
    const bool holder_sz = row[0].starts_with("uscc:");
    if (holder_hk && row[3].starts_with("uscc:")) hk_funded.insert(row[3]);
    if (holder_sz && row[3].starts_with("hk")) mainland_owned_hk.insert(row[3]);
    if (row[0].starts_with("lei:")) {
      offshore_holders.insert(row[0]);
      static const std::set<std::string> kSecrecy = {"VG", "KY", "BM", "SC",
                                                     "MU", "WS", "BS", "JE"};
      EXPECT_TRUE(kSecrecy.count(row[2])) << row[2];
    }
    if (!row[5].empty() && row[5] != row[4]) ++voting_differs;
  }
  EXPECT_EQ(hk_funded.size(), s.hk_funded_mainland);
  EXPECT_NEAR(static_cast<double>(hk_funded.size()) / s.shenzhen_entities,
              options.hk_funded_mainland_share, 0.015);
  EXPECT_NEAR(static_cast<double>(mainland_owned_hk.size()) / s.hong_kong_entities,
              options.mainland_owned_hk_share, 0.04);
  EXPECT_GT(offshore_holders.size(), 20u);
  EXPECT_NEAR(static_cast<double>(voting_differs) / ownership.rows.size(),
              options.voting_differs_share, 0.01);
  EXPECT_NEAR(static_cast<double>(s.partially_held) / 20000, options.partial_holders_share, 0.015);

  // Rings: the planted ones are the only cycles, and some have no outside holder.
  EXPECT_GT(s.rings, 10u);
  EXPECT_NEAR(static_cast<double>(s.ring_entities) / 20000, options.ring_share, 0.001);
  EXPECT_EQ(s.closed_rings, options.closed_rings);
  EXPECT_EQ(CompaniesOnCycles(ownership.rows), s.ring_entities);

  // Heavy tails: some group holds many companies, some person several.
  EXPECT_GE(s.max_companies_held_by_entity, 50u);
  EXPECT_GE(s.max_companies_held_by_person, 5u);
  EXPECT_LT(s.persons, s.person_edges);

  // Grades: the skew, and flags concentrated on the bad grades.
  std::map<std::string, uint64_t> grades;
  std::map<std::string, uint64_t> flagged;
  std::map<std::string, double> penalties;
  for (const auto& row : ReadCsv(dir.File(kSynthSzGradesFile)).rows) {
    ++grades[row[3]];
    if (row[10] == "1" || row[11] == "1") ++flagged[row[3]];
    penalties[row[3]] += std::stod(row[7]);
  }
  const double sz = static_cast<double>(s.shenzhen_entities);
  EXPECT_NEAR(grades["A+"] / sz, 0.05, 0.01);
  EXPECT_NEAR(grades["A"] / sz, 0.30, 0.02);
  EXPECT_NEAR(grades["B"] / sz, 0.45, 0.02);
  EXPECT_NEAR(grades["E"] / sz, 0.02, 0.006);
  EXPECT_GT(static_cast<double>(flagged["E"]) / grades["E"],
            10 * static_cast<double>(flagged["A"] + 1) / grades["A"]);
  EXPECT_GT(penalties["A+"] / grades["A+"], penalties["B"] / grades["B"] + 10);
  EXPECT_GT(penalties["B"] / grades["B"], penalties["E"] / grades["E"] + 10);
}

TEST(SynthShapeTest, RowCountsNearTargets) {
  TempDir dir;
  const SynthSummary s = Generate(Options(20000, 3), dir);
  EXPECT_EQ(Lines(dir.File(kSynthSzGradesFile)).size(), s.sz_grade_rows + 1);
  EXPECT_EQ(Lines(dir.File(kSynthOwnershipFile)).size(), s.ownership_rows + 1);
  EXPECT_EQ(Lines(dir.File(kSynthPerformanceFile)).size(), s.performance_rows + 1);
  EXPECT_EQ(Lines(dir.File(kSynthHkBureauFile)).size(), s.hk_bureau_rows);
  EXPECT_EQ(s.ownership_rows, s.person_edges + s.entity_edges);
  EXPECT_NEAR(static_cast<double>(s.ownership_rows) / s.entities, 1.8, 0.15);
  EXPECT_NEAR(static_cast<double>(s.performance_rows) / s.entities, 4.5, 0.6);
  EXPECT_NEAR(static_cast<double>(s.cross_border_entities) / s.entities, 0.60, 0.03);
  uint64_t bytes = 0;
  for (std::string_view file : kFiles) bytes += fs::file_size(dir.File(file));
  EXPECT_EQ(bytes, s.bytes_written);
}

TEST(SynthPerformanceTest, RecordsFollowTheSpecAndClusterOnBadGrades) {
  TempDir dir;
  Generate(Options(20000), dir);
  std::unordered_map<std::string, std::string> grade;
  for (const auto& row : ReadCsv(dir.File(kSynthSzGradesFile)).rows) grade[row[0]] = row[3];

  const std::set<std::string> kinds = {"trade_payment", "loan_repayment", "contract_delivery",
                                       "customs"};
  const std::set<std::string> currencies = {"CNY", "HKD", "USD"};
  std::set<std::pair<std::string, std::string>> keys;
  std::map<std::string, uint64_t> records, bad;  // by grade
  std::map<std::string, uint64_t> statuses;
  uint64_t cross_border = 0, rows = 0;
  for (const auto& row : ReadCsv(dir.File(kSynthPerformanceFile)).rows) {
    ++rows;
    const std::string &subject = row[0], &record = row[1], &counterparty = row[2];
    const std::string &due = row[4], &settled = row[5], &status = row[8];
    EXPECT_TRUE(keys.emplace(subject, record).second) << subject << " " << record;
    EXPECT_TRUE(!record.empty() && record.size() <= 64);
    EXPECT_TRUE(kinds.count(row[3])) << row[3];
    EXPECT_TRUE(currencies.count(row[7])) << row[7];
    EXPECT_TRUE(IsDate(due)) << due;
    EXPECT_GE(due, "2024-05-01");
    EXPECT_LE(due, "2026-10-31");
    EXPECT_GT(ParseHundredths(row[6]), 0) << row[6];
    ++statuses[status];
    if (status == "on_time") {
      EXPECT_TRUE(IsDate(settled) && settled <= due) << due << " " << settled;
    } else if (status == "late") {
      EXPECT_TRUE(IsDate(settled) && settled > due && settled <= "2026-10-31")
          << due << " " << settled;
    } else if (status == "defaulted") {
      EXPECT_TRUE(settled.empty());
    } else {
      EXPECT_EQ(status, "disputed");
      EXPECT_TRUE(settled.empty() || (IsDate(settled) && settled > due));
    }
    const bool sz = subject.starts_with("uscc:");
    if ((sz && counterparty == "HK") || (!sz && counterparty.starts_with("CN-"))) ++cross_border;
    if (sz) {
      const std::string& g = grade.at(subject);
      ++records[g];
      if (status == "late" || status == "defaulted") ++bad[g];
    }
  }
  EXPECT_GT(static_cast<double>(cross_border) / rows, 0.6);
  EXPECT_GT(statuses["on_time"], rows * 8 / 10);
  EXPECT_GT(statuses["late"], 0u);
  EXPECT_GT(statuses["defaulted"], 0u);
  EXPECT_GT(statuses["disputed"], 0u);
  const auto rate = [&](const std::string& g) {
    return static_cast<double>(bad[g]) / static_cast<double>(records[g]);
  };
  EXPECT_GT(rate("E"), 2 * rate("A"));
  EXPECT_GT(rate("D"), rate("B"));
}

TEST(SynthBureauTest, WorseRecordsForAMinority) {
  TempDir dir;
  Generate(Options(20000), dir);
  uint64_t lines = 0, with_defaults = 0, with_petitions = 0, written_off = 0;
  for (const std::string& line : Lines(dir.File(kSynthHkBureauFile))) {
    google::protobuf::Struct record;
    ASSERT_TRUE(JsonToMessage(line, &record).ok()) << line;
    ++lines;
    const auto& f = record.fields();
    EXPECT_TRUE(IsDate(f.at("incorporation_date").string_value()));
    EXPECT_LE(f.at("incorporation_date").string_value(), f.at("as_of").string_value());
    if (f.at("defaults").list_value().values_size() > 0) ++with_defaults;
    if (f.at("winding_up_petitions").list_value().values_size() > 0) ++with_petitions;
    for (const auto& facility : f.at("facilities").list_value().values()) {
      const auto& ff = facility.struct_value().fields();
      EXPECT_GT(ff.at("limit").number_value(), 0);
      EXPECT_GT(ff.at("outstanding").number_value(), 0);
      const double dpd = ff.at("worst_dpd_12m").number_value();
      EXPECT_TRUE(dpd >= 0 && dpd <= 999);
      if (ff.at("status").string_value() == "written_off") ++written_off;
    }
    // A new (8-digit) company number means incorporation since 27 December 2023.
    const std::string id = f.at("entity_id").string_value();
    if (id.starts_with("hkcrn:") && id.size() == 14) {
      EXPECT_GE(f.at("incorporation_date").string_value(), "2023-12-27") << id;
    }
  }
  EXPECT_GT(with_defaults, 0u);
  EXPECT_LT(with_defaults, lines / 5);
  EXPECT_GT(written_off, 0u);
  EXPECT_LT(with_petitions, lines / 20);
}

TEST(SynthShapeTest, TinyWorldsAreWellFormed) {
  for (uint64_t entities : {1, 2, 3, 7, 50, 400}) {
    SCOPED_TRACE(entities);
    TempDir dir;
    const SynthSummary s = Generate(Options(entities), dir);
    EXPECT_EQ(s.entities, entities);
    EXPECT_EQ(s.shenzhen_entities + s.hong_kong_entities + s.offshore_entities, entities);
    std::unordered_map<std::string, int64_t> sums;
    for (const auto& row : ReadCsv(dir.File(kSynthOwnershipFile)).rows) {
      ExpectParses(row[0], "holder");
      ExpectParses(row[3], "owned");
      EXPECT_NE(row[0], row[3]);
      sums[row[3]] += ParseHundredths(row[4]);
    }
    for (const auto& [owned, sum] : sums) EXPECT_LE(sum, 10000) << owned;
  }
}

TEST(SynthProgressTest, ReportsEachStageToItsEnd) {
  TempDir dir;
  std::map<std::string, std::pair<uint64_t, uint64_t>> last;
  const StatusOr<SynthSummary> s = WriteSyntheticFeeds(
      Options(3000), dir.path(), [&](std::string_view stage, uint64_t done, uint64_t total) {
        EXPECT_LE(done, total);
        last[std::string(stage)] = {done, total};
      });
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(last.size(), 4u);
  EXPECT_EQ(last["sz-grades"], std::make_pair(s->shenzhen_entities, s->shenzhen_entities));
  EXPECT_EQ(last["ownership"], std::make_pair(s->entities, s->entities));
  EXPECT_EQ(last["hk-bureau"], std::make_pair(s->hong_kong_entities, s->hong_kong_entities));
  EXPECT_EQ(last["performance"].first, last["performance"].second);
}

TEST(SynthErrorsTest, RejectsBadOptions) {
  TempDir dir;
  const auto code = [&](const SynthOptions& options) {
    return WriteSyntheticFeeds(options, dir.path()).status().code();
  };
  EXPECT_EQ(code(Options(0)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Options(kMaxSynthEntities + 1)), StatusCode::kInvalidArgument);
  SynthOptions bad_period = Options(10);
  bad_period.period = "2026-13";
  EXPECT_EQ(code(bad_period), StatusCode::kInvalidArgument);
  bad_period.period = "26-10";
  EXPECT_EQ(code(bad_period), StatusCode::kInvalidArgument);
  SynthOptions bad_share = Options(10);
  bad_share.ring_share = 1.5;
  EXPECT_EQ(code(bad_share), StatusCode::kInvalidArgument);
  bad_share.ring_share = std::nan("");
  EXPECT_EQ(code(bad_share), StatusCode::kInvalidArgument);
  SynthOptions no_shenzhen = Options(10);
  no_shenzhen.hk_share = 0.6;
  no_shenzhen.offshore_share = 0.4;
  EXPECT_EQ(code(no_shenzhen), StatusCode::kInvalidArgument);
  SynthOptions grades = Options(10);
  grades.grade_shares = {0.5, 0.5, 0.5, 0, 0, 0};
  EXPECT_EQ(code(grades), StatusCode::kInvalidArgument);
  SynthOptions too_many_hk = Options(kMaxSynthEntities);
  too_many_hk.hk_share = 0.5;
  EXPECT_EQ(ValidateSynthOptions(too_many_hk).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateSynthOptions(Options(kMaxSynthEntities)).ok());
  EXPECT_TRUE(fs::is_empty(dir.path()));  // nothing written for a bad option
}

TEST(SynthErrorsTest, OutputDirectoryMustExistAndBeADirectory) {
  TempDir dir;
  const std::string missing = dir.File("missing");
  EXPECT_EQ(WriteSyntheticFeeds(Options(10), missing).status().code(), StatusCode::kNotFound);

  const std::string file = dir.File("file");
  std::ofstream(file) << "x";
  EXPECT_EQ(WriteSyntheticFeeds(Options(10), file).status().code(), StatusCode::kInvalidArgument);
}

TEST(SynthErrorsTest, ReadOnlyDirectoryIsPermissionDenied) {
  if (geteuid() == 0) {
    // Root writes into any 0500 directory; sysfs refuses new files even to root.
    EXPECT_EQ(WriteSyntheticFeeds(Options(10), "/sys/kernel").status().code(),
              StatusCode::kPermissionDenied);
    return;
  }
  TempDir dir;
  const std::string read_only = dir.File("read-only");
  fs::create_directory(read_only);
  fs::permissions(read_only, fs::perms::owner_read | fs::perms::owner_exec);
  EXPECT_EQ(WriteSyntheticFeeds(Options(10), read_only).status().code(),
            StatusCode::kPermissionDenied);
  fs::permissions(read_only, fs::perms::owner_all);
}

TEST(SynthErrorsTest, AFailedRunLeavesNoPartialFiles) {
  TempDir dir;
  // A directory where a feed file should go makes its rename fail after all the work.
  fs::create_directory(dir.File(kSynthHkBureauFile));
  fs::create_directory(fs::path(dir.File(kSynthHkBureauFile)) / "occupied");
  const StatusOr<SynthSummary> s = WriteSyntheticFeeds(Options(100), dir.path());
  EXPECT_FALSE(s.ok());
  for (const auto& entry : fs::directory_iterator(dir.path()))
    EXPECT_NE(entry.path().extension(), ".partial") << entry.path();
}

}  // namespace
}  // namespace cg::mapping
