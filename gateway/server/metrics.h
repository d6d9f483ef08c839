// A small Prometheus metrics registry: counters, gauges and histograms with labels,
// rendered in the text exposition format 0.0.4 (served by the admin listener at
// /metrics). The server registers its own metrics here; handlers add theirs
// (attestations_issued_total, ...) to the same registry (HttpsServer::metrics()).
//
// Label values must come from a small fixed set (route templates, status codes,
// reason codes), never from request data: each distinct combination is kept for the
// life of the registry. As a guard, a family holds at most kMaxChildren label
// combinations; further ones all share one child whose label values are
// "_overflow".
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "specs/status.h"

namespace cg::gateway::server {

// Monotonic. Thread-safe.
class Counter {
 public:
  // `by` must be >= 0; a negative value is ignored.
  void Increment(double by = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Goes up and down. Thread-safe.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Increment(double by = 1);
  void Decrement(double by = 1) { Increment(-by); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations into buckets with fixed upper bounds (plus +Inf). Thread-safe;
// a rendering taken during Observe may be off by that one observation.
class Histogram {
 public:
  // `bounds`: strictly increasing finite upper bounds (checked by AddHistogram).
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
  };
  Snapshot Take() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1 (+Inf)
  std::atomic<double> sum_{0};
};

// Request durations in seconds: 0.5 ms .. 10 s.
std::vector<double> DefaultLatencyBuckets();

// The metrics of one name, one child per combination of label values.
template <typename Metric>
class Family {
 public:
  Family(std::vector<std::string> label_names, std::vector<double> bounds);
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // The child for these label values (one per label name, in order), created on
  // first use. The reference stays valid for the registry's life; cache it on hot
  // paths. Passing the wrong number of values is a programming error: in debug
  // builds it asserts, otherwise the values are padded with "" or truncated.
  Metric& WithLabels(std::initializer_list<std::string_view> values);
  Metric& WithLabels(const std::vector<std::string>& values);

  const std::vector<std::string>& label_names() const { return label_names_; }
  // Calls visit(label_values, metric) for every child, in label-value order, under
  // the family's lock.
  template <typename Visit>
  void ForEach(Visit&& visit) const {
    std::lock_guard lock(mutex_);
    for (const auto& [values, metric] : children_) visit(values, *metric);
  }

  static constexpr size_t kMaxChildren = 10'000;

 private:
  Metric& Get(std::vector<std::string> values);

  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;  // histograms only
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Thread-safe: registration, updates and Render may happen concurrently.
class MetricsRegistry {
 public:
  // The Content-Type of Render()'s output.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registers a family, or returns the one already registered under `name` when
  // its kind, label names (and buckets) are the same; the pointer stays valid for
  // the registry's life. kInvalidArgument for a name or label name outside
  // [a-zA-Z_][a-zA-Z0-9_]* (label names may not start with "__"), a reserved label
  // name ("le" on a histogram), or bounds not strictly increasing and finite;
  // kAlreadyExists when `name` is registered with another kind, labels or buckets.
  // A family without labels renders its single child (0) from the start.
  StatusOr<CounterFamily*> AddCounter(std::string name, std::string help,
                                      std::vector<std::string> label_names = {});
  StatusOr<GaugeFamily*> AddGauge(std::string name, std::string help,
                                  std::vector<std::string> label_names = {});
  StatusOr<HistogramFamily*> AddHistogram(std::string name, std::string help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> bounds = DefaultLatencyBuckets());

  // Every family in registration order, in the text exposition format 0.0.4.
  std::string Render() const;

 private:
  struct Entry;
  StatusOr<Entry*> Register(std::string name, std::string help, int kind,
                            std::vector<std::string> label_names, std::vector<double> bounds);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

}  // namespace cg::gateway::server
