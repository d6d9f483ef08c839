// load: read a feed file, check every row, store the good ones in one transaction,
// and write the bad ones to a reject report.
#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "config/node_config.h"
#include "gateway/cli.h"
#include "gateway/node_keys.h"
#include "gateway/store.h"
#include "mapping/feeds.h"

namespace cg::gateway {
namespace {

struct LoadOptions {
  std::string feed;
  std::string file;
  std::string store_url;
  std::string config_file;
  std::string pseudonym_key;
  std::string format;
  std::string rejects;
};

// Reject report: CSV with line, column, reason. Reasons never hold raw person ids.
class RejectReport {
 public:
  ~RejectReport() {
    if (file_ != nullptr) std::fclose(file_);
  }
  Status Open(const std::string& path) {
    path_ = path;
    file_ = std::fopen(path.c_str(), "w");
    if (file_ == nullptr) return PermissionDeniedError("cannot write the reject report " + path);
    std::fputs("line,column,reason\n", file_);
    return OkStatus();
  }
  void Add(const mapping::FeedReject& reject) {
    std::string reason;
    for (char c : reject.reason) reason += c == '"' ? std::string("\"\"") : std::string(1, c);
    fmt::print(file_, "{},{},\"{}\"\n", reject.line, reject.column, reason);
    if (shown_ < 5) {
      fmt::print(stderr, "  rejected line {}{}: {}\n", reject.line,
                 reject.column.empty() ? "" : " (" + reject.column + ")", reject.reason);
      ++shown_;
    }
  }
  Status Close() {
    const bool ok = std::fclose(file_) == 0;
    file_ = nullptr;
    return ok ? OkStatus() : DataLossError("cannot finish the reject report " + path_);
  }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  int shown_ = 0;
};

// Progress on a terminal: a bar with rows, rows/s and ETA, redrawn a few times a
// second. Off a terminal nothing is drawn; the summary line says it all.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled), start_(Clock::now()) {}
  void Update(uint64_t rows, uint64_t bytes, uint64_t total_bytes) {
    if (!enabled_) return;
    const auto now = Clock::now();
    if (now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double fraction = total_bytes ? static_cast<double>(bytes) / total_bytes : 0;
    const double rate = seconds > 0 ? rows / seconds : 0;
    const double eta = fraction > 0 ? seconds * (1 - fraction) / fraction : 0;
    const int width = 30;
    const int filled = static_cast<int>(fraction * width);
    fmt::print(stderr, "\r[{}{}] {:3.0f}%  {} rows  {:.0f} rows/s  ETA {:.0f}s ",
               std::string(filled, '#'), std::string(width - filled, ' '), fraction * 100, rows,
               rate, eta);
  }
  void Finish() {
    if (enabled_) fmt::print(stderr, "\r{}\r", std::string(90, ' '));
  }

 private:
  bool enabled_;
  Clock::time_point start_;
  Clock::time_point last_{};
};

class StoreSink : public mapping::FeedSink {
 public:
  StoreSink(FeedLoad& load, RejectReport& rejects, Progress& progress)
      : load_(load), rejects_(rejects), progress_(progress) {}
  Status OnSzGrade(const mapping::SzGradeRecord& r) override { return Count(load_.Put(r)); }
  Status OnOwnership(const mapping::OwnershipRecord& r) override { return Count(load_.Put(r)); }
  Status OnPerformance(const mapping::PerformanceRecord& r) override { return Count(load_.Put(r)); }
  Status OnHkBureau(const mapping::HkBureauRecord& r) override { return Count(load_.Put(r)); }
  Status OnReject(const mapping::FeedReject& reject) override {
    ++rows_;
    rejects_.Add(reject);
    return OkStatus();
  }
  void OnProgress(uint64_t bytes, uint64_t total) override {
    progress_.Update(rows_, bytes, total);
  }

 private:
  Status Count(Status stored) {
    ++rows_;
    return stored;
  }
  FeedLoad& load_;
  RejectReport& rejects_;
  Progress& progress_;
  uint64_t rows_ = 0;
};

int Load(const LoadOptions& o) {
  auto kind = mapping::ParseFeedKind(o.feed);
  if (!kind.ok()) return ReportError(kind.status());
  StatusOr<mapping::FeedFormat> format = mapping::FeedFormatForPath(o.file);
  if (o.format == "csv") format = mapping::FeedFormat::kCsv;
  if (o.format == "jsonl") format = mapping::FeedFormat::kJsonLines;
  if (!format.ok()) return ReportError(format.status());

  std::string store_url = o.store_url;
  std::optional<crypto::Pseudonymizer> pseudonymizer;
  if (!o.config_file.empty()) {
    auto config = config::LoadNodeConfig(o.config_file);
    if (!config.ok()) return ReportError(config.status());
    auto loaded = LoadPseudonymizer(*config);
    if (!loaded.ok()) return ReportError(loaded.status());
    pseudonymizer = std::move(loaded).value();
    if (store_url.empty()) store_url = config->store.url;
  }
  if (!o.pseudonym_key.empty()) {
    auto loaded = crypto::Pseudonymizer::FromKeyFile(o.pseudonym_key);
    if (!loaded.ok()) return ReportError(loaded.status());
    pseudonymizer = std::move(loaded).value();
  }
  if (store_url.empty()) return ReportError(InvalidArgumentError("give --store URL"));

  auto store = Store::Open(store_url);
  if (!store.ok()) return ReportError(store.status());
  auto load = (*store)->BeginLoad(*kind);
  if (!load.ok()) return ReportError(load.status());

  RejectReport rejects;
  const std::string rejects_path = o.rejects.empty() ? o.file + ".rejects.csv" : o.rejects;
  if (Status opened = rejects.Open(rejects_path); !opened.ok()) return ReportError(opened);
  Progress progress(::isatty(STDERR_FILENO) == 1);
  StoreSink sink(**load, rejects, progress);

  const auto start = Clock::now();
  auto read =
      mapping::ReadFeed(*kind, o.file, *format, pseudonymizer ? &*pseudonymizer : nullptr, sink);
  progress.Finish();
  if (!read.ok()) return ReportError(read.status().WithContext("nothing was stored"));
  if (Status closed = rejects.Close(); !closed.ok()) return ReportError(closed);
  FeedLoad::Source source{o.file, read->rows, read->rejected};
  auto counts = (*load)->Commit(source);
  if (!counts.ok()) return ReportError(counts.status().WithContext("nothing was stored"));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  fmt::print(
      "{}: {} rows read, {} stored (new or changed), {} unchanged, {} rejected{}; "
      "{:.1f} s, {:.0f} rows/s\n",
      mapping::FeedKindName(*kind), read->rows, counts->stored, counts->unchanged, read->rejected,
      read->rejected ? " -> " + rejects_path : "", seconds,
      seconds > 0 ? read->rows / seconds : 0.0);
  return kExitOk;
}

}  // namespace

void AddLoadCommand(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<LoadOptions>();
  auto* load = app.add_subcommand(
      "load",
      "Load a feed file (specs/feeds.md) into the store: every row checked, bad rows to a reject "
      "report, good rows stored in one transaction; loading the same file again changes nothing");
  load->add_option("feed", o->feed, "sz-grades, hk-bureau, ownership or performance")->required();
  load->add_option("file", o->file, "The feed file (.csv, .jsonl)")->required();
  load->add_option("--store", o->store_url,
                   "Store URL, e.g. sqlite:node.db (default: the configuration's)");
  load->add_option("--config", o->config_file,
                   "Node configuration: its pseudonymisation key and store");
  load->add_option("--pseudonym-key", o->pseudonym_key, "Pseudonymisation key file");
  load->add_option("--format", o->format, "csv or jsonl (default: from the file name)")
      ->check(CLI::IsMember({"csv", "jsonl"}));
  load->add_option("--rejects", o->rejects, "Reject report to write (default: FILE.rejects.csv)");
  load->callback([o, &exit_code] { exit_code = Load(*o); });
}

}  // namespace cg::gateway
