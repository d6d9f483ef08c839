// Rating scales as views of PD, and translation between them.
//
// Every scale is a list of grades, best first, each a band of 12-month probability
// of default [pd_low, pd_high); the bands are contiguous and cover [0, 1] (the last
// band includes 1). Translating a grade from one scale to another goes through the
// PD bands: the source grade's band is mapped onto the target scale by a policy,
// conservative by default (a band that straddles two target grades maps to the
// worse). Translation is monotonic: a better source grade never maps to a worse
// target grade than a worse source grade does. specs/joint-model.md states it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "specs/status.h"

namespace cg::mapping {

struct GradeBand {
  std::string grade;
  double pd_low = 0;   // inclusive
  double pd_high = 0;  // exclusive, except 1.0 for the last band
};

class Scale {
 public:
  // Validates: a non-empty name, 2..64 grades with distinct non-empty names, the
  // first band starting at 0, each band starting where the previous ended, bands
  // not empty (pd_low < pd_high), the last ending at 1. kInvalidArgument naming the
  // grade otherwise.
  static StatusOr<Scale> Create(std::string name, std::vector<GradeBand> bands);

  const std::string& name() const { return name_; }
  const std::vector<GradeBand>& bands() const { return bands_; }
  size_t size() const { return bands_.size(); }

  // The index of the grade whose band holds `pd` (clamped into [0, 1]; NaN is
  // treated as 1, the worst). O(log n).
  size_t IndexForPd(double pd) const;
  const std::string& GradeForPd(double pd) const { return bands_[IndexForPd(pd)].grade; }
  // kNotFound when the scale has no such grade.
  StatusOr<size_t> IndexOf(std::string_view grade) const;
  // A canonical text of the scale ("name\ngrade low high\n..." with %.17g numbers),
  // what digests of scales and translation tables are computed over.
  std::string CanonicalText() const;

 private:
  std::string name_;
  std::vector<GradeBand> bands_;
};

enum class TranslationPolicy {
  kConservative,  // the target grade of the band's worst PD (just below pd_high)
  kMidpoint,      // the target grade of the band's geometric midpoint
  kOptimistic,    // the target grade of the band's best PD (pd_low)
};

// "conservative" | "midpoint" | "optimistic"; kInvalidArgument otherwise.
StatusOr<TranslationPolicy> ParseTranslationPolicy(std::string_view name);
std::string_view TranslationPolicyName(TranslationPolicy policy);

// A precomputed table from every grade of one scale to a grade of another.
class ScaleTranslator {
 public:
  ScaleTranslator(const Scale& from, const Scale& to,
                  TranslationPolicy policy = TranslationPolicy::kConservative);

  // The target grade for a source grade; kNotFound for a grade not on `from`.
  StatusOr<std::string> Translate(std::string_view grade) const;
  // The target grade index for each source grade index.
  const std::vector<size_t>& table() const { return table_; }
  // The canonical text of the table: both scales, the policy and the mapping.
  // Its SHA-256 is the scale_table_digest signed into recognitions.
  std::string CanonicalText() const;

  const Scale& from() const { return from_; }
  const Scale& to() const { return to_; }

 private:
  Scale from_;
  Scale to_;
  TranslationPolicy policy_;
  std::vector<size_t> table_;
};

// The shipped scales. Their bands are ILLUSTRATIVE defaults until an operator
// calibrates them; specs/joint-model.md documents them.
// "sz-six-level": Shenzhen's A+, A, B, C, D, E.
Scale ShenzhenSixLevelScale();
// "hk-bureau": a ten-grade Hong Kong bureau scale, A (best) to J.
Scale HongKongBureauScale();

}  // namespace cg::mapping
