#include "mapping/scale.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace cg::mapping {
namespace {

std::string Number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

}  // namespace

StatusOr<Scale> Scale::Create(std::string name, std::vector<GradeBand> bands) {
  if (name.empty()) return InvalidArgumentError("a scale needs a name");
  const std::string where = "scale '" + name + "'";
  if (bands.size() < 2 || bands.size() > 64) {
    return InvalidArgumentError(where + " must have 2 to 64 grades, has " +
                                std::to_string(bands.size()));
  }
  for (size_t i = 0; i < bands.size(); ++i) {
    const GradeBand& b = bands[i];
    if (b.grade.empty())
      return InvalidArgumentError(where + ": grade " + std::to_string(i + 1) + " has no name");
    for (size_t j = 0; j < i; ++j) {
      if (bands[j].grade == b.grade) {
        return InvalidArgumentError(where + ": grade '" + b.grade + "' appears twice");
      }
    }
    const double expected_low = i == 0 ? 0.0 : bands[i - 1].pd_high;
    if (b.pd_low != expected_low) {
      return InvalidArgumentError(where + ": grade '" + b.grade + "' must start at PD " +
                                  Number(expected_low) + " (where the previous band ends), not " +
                                  Number(b.pd_low));
    }
    if (!(b.pd_low < b.pd_high)) {
      return InvalidArgumentError(where + ": grade '" + b.grade +
                                  "' has an empty or reversed PD band");
    }
  }
  if (bands.back().pd_high != 1.0) {
    return InvalidArgumentError(where + ": the last grade must end at PD 1");
  }
  Scale scale;
  scale.name_ = std::move(name);
  scale.bands_ = std::move(bands);
  return scale;
}

size_t Scale::IndexForPd(double pd) const {
  if (std::isnan(pd) || pd >= 1.0) return bands_.size() - 1;
  if (pd <= 0.0) return 0;
  // The first band whose pd_high is above pd.
  auto it = std::upper_bound(bands_.begin(), bands_.end(), pd,
                             [](double p, const GradeBand& b) { return p < b.pd_high; });
  return it == bands_.end() ? bands_.size() - 1 : static_cast<size_t>(it - bands_.begin());
}

StatusOr<size_t> Scale::IndexOf(std::string_view grade) const {
  for (size_t i = 0; i < bands_.size(); ++i) {
    if (bands_[i].grade == grade) return i;
  }
  return NotFoundError("scale '" + name_ + "' has no grade '" + std::string(grade.substr(0, 16)) +
                       "'");
}

std::string Scale::CanonicalText() const {
  std::string out = "scale " + name_ + "\n";
  for (const auto& b : bands_) {
    out += b.grade + " " + Number(b.pd_low) + " " + Number(b.pd_high) + "\n";
  }
  return out;
}

StatusOr<TranslationPolicy> ParseTranslationPolicy(std::string_view name) {
  if (name == "conservative") return TranslationPolicy::kConservative;
  if (name == "midpoint") return TranslationPolicy::kMidpoint;
  if (name == "optimistic") return TranslationPolicy::kOptimistic;
  return InvalidArgumentError(
      "translation policy must be conservative, midpoint or optimistic, not '" +
      std::string(name.substr(0, 32)) + "'");
}

std::string_view TranslationPolicyName(TranslationPolicy policy) {
  switch (policy) {
    case TranslationPolicy::kConservative:
      return "conservative";
    case TranslationPolicy::kMidpoint:
      return "midpoint";
    case TranslationPolicy::kOptimistic:
      return "optimistic";
  }
  return "conservative";
}

ScaleTranslator::ScaleTranslator(const Scale& from, const Scale& to, TranslationPolicy policy)
    : from_(from), to_(to), policy_(policy) {
  table_.reserve(from_.size());
  for (const GradeBand& band : from_.bands()) {
    double pd = band.pd_low;
    switch (policy_) {
      case TranslationPolicy::kConservative:
        // The worst PD of [low, high) is just below high: the largest double under it.
        pd = band.pd_high >= 1.0 ? 1.0 : std::nextafter(band.pd_high, 0.0);
        break;
      case TranslationPolicy::kMidpoint:
        pd = band.pd_low > 0 ? std::sqrt(band.pd_low * band.pd_high) : band.pd_high / 2;
        break;
      case TranslationPolicy::kOptimistic:
        pd = band.pd_low;
        break;
    }
    table_.push_back(to_.IndexForPd(pd));
  }
}

StatusOr<std::string> ScaleTranslator::Translate(std::string_view grade) const {
  CG_ASSIGN_OR_RETURN(size_t index, from_.IndexOf(grade));
  return to_.bands()[table_[index]].grade;
}

std::string ScaleTranslator::CanonicalText() const {
  std::string out = "translation " + std::string(TranslationPolicyName(policy_)) + "\n";
  out += from_.CanonicalText();
  out += to_.CanonicalText();
  for (size_t i = 0; i < table_.size(); ++i) {
    out += from_.bands()[i].grade + " -> " + to_.bands()[table_[i]].grade + "\n";
  }
  return out;
}

Scale ShenzhenSixLevelScale() {
  return *Scale::Create("sz-six-level", {{"A+", 0.0, 0.0005},
                                         {"A", 0.0005, 0.002},
                                         {"B", 0.002, 0.008},
                                         {"C", 0.008, 0.03},
                                         {"D", 0.03, 0.10},
                                         {"E", 0.10, 1.0}});
}

Scale HongKongBureauScale() {
  return *Scale::Create("hk-bureau", {{"A", 0.0, 0.0003},
                                      {"B", 0.0003, 0.001},
                                      {"C", 0.001, 0.0025},
                                      {"D", 0.0025, 0.005},
                                      {"E", 0.005, 0.01},
                                      {"F", 0.01, 0.02},
                                      {"G", 0.02, 0.05},
                                      {"H", 0.05, 0.10},
                                      {"I", 0.10, 0.20},
                                      {"J", 0.20, 1.0}});
}

}  // namespace cg::mapping
