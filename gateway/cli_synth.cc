// synth: write realistic synthetic feeds (mapping/synthetic_feeds.h) for demos,
// tests and benchmarks at Shenzhen's scale.
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "gateway/cli.h"
#include "mapping/synthetic_feeds.h"

namespace cg::gateway {
namespace {

struct SynthCliOptions {
  uint64_t entities = 10'000;
  uint64_t seed = 1;
  std::string out;
  std::string period = "2026-10";
};

int Synth(const SynthCliOptions& o) {
  mapping::SynthOptions options;
  options.entities = o.entities;
  options.seed = o.seed;
  options.period = o.period;
  ::mkdir(o.out.c_str(), 0755);  // an existing directory is fine; errors come below
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  const auto start = Clock::now();
  auto summary = mapping::WriteSyntheticFeeds(
      options, o.out, [tty](std::string_view stage, uint64_t done, uint64_t total) {
        if (tty) fmt::print(stderr, "\r{:<12} {:>3}% ", stage, total ? done * 100 / total : 100);
      });
  if (tty) fmt::print(stderr, "\r{}\r", std::string(30, ' '));
  if (!summary.ok()) return ReportError(summary.status());
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const auto& s = *summary;
  fmt::print(
      "wrote {} entities ({} Shenzhen, {} Hong Kong, {} offshore) to {} in {:.1f} s:\n"
      "  sz-grades.csv    {} rows\n  ownership.csv    {} rows ({} rings, {} HK-funded mainland "
      "firms, {} mainland-owned HK firms)\n  performance.csv  {} rows\n  hk-bureau.jsonl  {} "
      "rows\n",
      s.entities, s.shenzhen_entities, s.hong_kong_entities, s.offshore_entities, o.out, seconds,
      s.sz_grade_rows, s.ownership_rows, s.rings, s.hk_funded_mainland, s.mainland_owned_hk,
      s.performance_rows, s.hk_bureau_rows);
  return kExitOk;
}

}  // namespace

void AddSynthCommand(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<SynthCliOptions>();
  auto* synth = app.add_subcommand(
      "synth", "Write realistic synthetic feeds (sz-grades, ownership, performance, hk-bureau)");
  synth->add_option("--entities", o->entities, "How many entities")->capture_default_str();
  synth->add_option("--seed", o->seed, "Random seed: the same seed gives the same files")
      ->capture_default_str();
  synth->add_option("--period", o->period, "Period of the grades, YYYY-MM")->capture_default_str();
  synth->add_option("--out", o->out, "Directory to write into (created if missing)")->required();
  synth->callback([o, &exit_code] { exit_code = Synth(*o); });
}

}  // namespace cg::gateway
