#include "gateway/server/metrics.h"

#include <fmt/format.h>

#include <cassert>
#include <cmath>
#include <type_traits>
#include <utility>
#include <variant>

namespace cg::gateway::server {
namespace {

void AtomicAdd(std::atomic<double>& target, double by) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + by, std::memory_order_relaxed)) {
  }
}

bool ValidName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

// A sample value as Prometheus reads it: shortest round-trip form, +Inf/-Inf/NaN.
std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

void AppendEscaped(std::string& out, std::string_view text, bool quote) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// {a="x",b="y"}, with an optional extra label (the histogram's "le") last.
std::string LabelSet(const std::vector<std::string>& names, const std::vector<std::string>& values,
                     std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    AppendEscaped(out, values[i], /*quote=*/true);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
  return out;
}

enum Kind { kCounter = 0, kGauge = 1, kHistogram = 2 };

constexpr std::string_view kKindNames[] = {"counter", "gauge", "histogram"};

}  // namespace

void Counter::Increment(double by) {
  if (by < 0 || std::isnan(by)) return;
  AtomicAdd(value_, by);
}

void Gauge::Increment(double by) { AtomicAdd(value_, by); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
}

Histogram::Snapshot Histogram::Take() const {
  Snapshot snapshot;
  snapshot.bounds = bounds_;
  snapshot.cumulative.resize(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    snapshot.cumulative[i] = total;
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

template <typename Metric>
Family<Metric>::Family(std::vector<std::string> label_names, std::vector<double> bounds)
    : label_names_(std::move(label_names)), bounds_(std::move(bounds)) {
  if (label_names_.empty()) Get({});
}

template <typename Metric>
Metric& Family<Metric>::WithLabels(std::initializer_list<std::string_view> values) {
  std::vector<std::string> copy;
  copy.reserve(values.size());
  for (const std::string_view value : values) copy.emplace_back(value);
  return Get(std::move(copy));
}

template <typename Metric>
Metric& Family<Metric>::WithLabels(const std::vector<std::string>& values) {
  return Get(values);
}

template <typename Metric>
Metric& Family<Metric>::Get(std::vector<std::string> values) {
  assert(values.size() == label_names_.size() && "wrong number of label values");
  values.resize(label_names_.size());
  std::lock_guard lock(mutex_);
  auto it = children_.find(values);
  if (it != children_.end()) return *it->second;
  if (children_.size() >= kMaxChildren) {
    values.assign(label_names_.size(), "_overflow");
    it = children_.find(values);
    if (it != children_.end()) return *it->second;
  }
  std::unique_ptr<Metric> metric;
  if constexpr (std::is_same_v<Metric, Histogram>) {
    metric = std::make_unique<Histogram>(bounds_);
  } else {
    metric = std::make_unique<Metric>();
  }
  return *children_.emplace(std::move(values), std::move(metric)).first->second;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

struct MetricsRegistry::Entry {
  std::string name;
  std::string help;
  int kind = kCounter;
  std::vector<std::string> label_names;
  std::vector<double> bounds;
  std::variant<std::unique_ptr<CounterFamily>, std::unique_ptr<GaugeFamily>,
               std::unique_ptr<HistogramFamily>>
      family;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

StatusOr<MetricsRegistry::Entry*> MetricsRegistry::Register(std::string name, std::string help,
                                                            int kind,
                                                            std::vector<std::string> label_names,
                                                            std::vector<double> bounds) {
  if (!ValidName(name)) return InvalidArgumentError("bad metric name \"" + name + "\"");
  for (const std::string& label : label_names) {
    if (!ValidName(label) || label.starts_with("__"))
      return InvalidArgumentError("bad label name \"" + label + "\" on " + name);
    if (kind == kHistogram && label == "le")
      return InvalidArgumentError("histogram " + name + " may not use the label \"le\"");
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
      return InvalidArgumentError("histogram " + name + " bounds must increase strictly");
  }
  std::lock_guard lock(mutex_);
  for (const auto& entry : entries_) {
    if (entry->name != name) continue;
    if (entry->kind != kind || entry->label_names != label_names || entry->bounds != bounds)
      return AlreadyExistsError("metric " + name + " is already registered differently");
    return entry.get();
  }
  auto entry = std::make_unique<Entry>();
  entry->name = std::move(name);
  entry->help = std::move(help);
  entry->kind = kind;
  entry->label_names = label_names;
  entry->bounds = bounds;
  switch (kind) {
    case kCounter:
      entry->family = std::make_unique<CounterFamily>(std::move(label_names), std::move(bounds));
      break;
    case kGauge:
      entry->family = std::make_unique<GaugeFamily>(std::move(label_names), std::move(bounds));
      break;
    default:
      entry->family = std::make_unique<HistogramFamily>(std::move(label_names), std::move(bounds));
      break;
  }
  entries_.push_back(std::move(entry));
  return entries_.back().get();
}

StatusOr<CounterFamily*> MetricsRegistry::AddCounter(std::string name, std::string help,
                                                     std::vector<std::string> label_names) {
  CG_ASSIGN_OR_RETURN(Entry * entry, Register(std::move(name), std::move(help), kCounter,
                                              std::move(label_names), {}));
  return std::get<std::unique_ptr<CounterFamily>>(entry->family).get();
}

StatusOr<GaugeFamily*> MetricsRegistry::AddGauge(std::string name, std::string help,
                                                 std::vector<std::string> label_names) {
  CG_ASSIGN_OR_RETURN(Entry * entry, Register(std::move(name), std::move(help), kGauge,
                                              std::move(label_names), {}));
  return std::get<std::unique_ptr<GaugeFamily>>(entry->family).get();
}

StatusOr<HistogramFamily*> MetricsRegistry::AddHistogram(std::string name, std::string help,
                                                         std::vector<std::string> label_names,
                                                         std::vector<double> bounds) {
  CG_ASSIGN_OR_RETURN(Entry * entry, Register(std::move(name), std::move(help), kHistogram,
                                              std::move(label_names), std::move(bounds)));
  return std::get<std::unique_ptr<HistogramFamily>>(entry->family).get();
}

std::string MetricsRegistry::Render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& entry : entries_) {
    out += "# HELP ";
    out += entry->name;
    out += ' ';
    AppendEscaped(out, entry->help, /*quote=*/false);
    out += "\n# TYPE ";
    out += entry->name;
    out += ' ';
    out += kKindNames[entry->kind];
    out += '\n';
    const auto& names = entry->label_names;
    std::visit(
        [&](const auto& family) {
          family->ForEach([&](const std::vector<std::string>& values, const auto& metric) {
            using Metric = std::decay_t<decltype(metric)>;
            if constexpr (std::is_same_v<Metric, Histogram>) {
              const Histogram::Snapshot snapshot = metric.Take();
              for (size_t i = 0; i <= snapshot.bounds.size(); ++i) {
                const std::string le =
                    i < snapshot.bounds.size() ? FormatValue(snapshot.bounds[i]) : "+Inf";
                out += fmt::format("{}_bucket{} {}\n", entry->name,
                                   LabelSet(names, values, "le", le), snapshot.cumulative[i]);
              }
              const std::string labels = LabelSet(names, values);
              out += fmt::format("{}_sum{} {}\n", entry->name, labels, FormatValue(snapshot.sum));
              out +=
                  fmt::format("{}_count{} {}\n", entry->name, labels, snapshot.cumulative.back());
            } else {
              out += fmt::format("{}{} {}\n", entry->name, LabelSet(names, values),
                                 FormatValue(metric.Value()));
            }
          });
        },
        entry->family);
  }
  return out;
}

}  // namespace cg::gateway::server
