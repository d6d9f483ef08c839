// Throughput of the synthetic feed generator (mapping/synthetic_feeds.h) on one core:
// rows and bytes per second of the four feeds written to a temporary directory.
// Run: build/bench/synth_bench  (figures go to bench/README.md)
// Shenzhen's full scale: CG_SYNTH_ENTITIES=4400000 build/bench/synth_bench
// (about 3.5 GB of files in $TMPDIR, or /tmp, removed afterwards). The figures include
// the file system: put TMPDIR on tmpfs (/dev/shm) to see the generator alone.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "mapping/synthetic_feeds.h"

namespace cg::mapping {
namespace {

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "synth_bench_XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void BM_WriteSyntheticFeeds(benchmark::State& state) {
  ScratchDir dir;
  if (dir.path().empty()) {
    state.SkipWithError("cannot create a temporary directory");
    return;
  }
  SynthOptions options;
  options.entities = static_cast<uint64_t>(state.range(0));
  options.seed = 1;
  SynthSummary summary;
  for (auto _ : state) {
    StatusOr<SynthSummary> written = WriteSyntheticFeeds(options, dir.path());
    if (!written.ok()) {
      state.SkipWithError(written.status().ToString().c_str());
      return;
    }
    summary = *written;
  }
  const uint64_t rows = summary.sz_grade_rows + summary.ownership_rows + summary.performance_rows +
                        summary.hk_bureau_rows;
  const auto iterations = static_cast<double>(state.iterations());
  using benchmark::Counter;
  state.counters["rows/s"] = Counter(static_cast<double>(rows) * iterations, Counter::kIsRate);
  state.counters["MB/s"] =
      Counter(static_cast<double>(summary.bytes_written) * iterations / 1e6, Counter::kIsRate);
  state.counters["rows"] = static_cast<double>(rows);
  state.counters["ownership"] = static_cast<double>(summary.ownership_rows);
  state.counters["performance"] = static_cast<double>(summary.performance_rows);
  state.counters["MB"] = static_cast<double>(summary.bytes_written) / 1e6;
  state.counters["max_held"] = static_cast<double>(summary.max_companies_held_by_entity);
}

void Sizes(benchmark::internal::Benchmark* b) {
  b->Arg(200'000);
  if (const char* entities = std::getenv("CG_SYNTH_ENTITIES")) {
    const long long n = std::atoll(entities);
    if (n > 0) b->Arg(n);
  }
}
BENCHMARK(BM_WriteSyntheticFeeds)
    ->Apply(Sizes)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

}  // namespace
}  // namespace cg::mapping

BENCHMARK_MAIN();
