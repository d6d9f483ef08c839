// The joint evaluation model (specs/joint-model.md states it normatively, with test
// vectors): per entity, a native PD from its own side's data, then in log-odds the
// risk of the companies that own it (by integrated share), the opacity of its
// ownership structure, and its cross-border performance; the result is a joint PD,
// a 0-1000 score, a grade on every configured scale, and the reason codes that
// moved it most.
//
// Everything is a pure function of its inputs and JointModelParams: no clock, no
// I/O, no threads. Every weight is a parameter with a documented default; the
// defaults are ILLUSTRATIVE until an operator calibrates them.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mapping/feeds.h"
#include "mapping/scale.h"
#include "specs/status.h"

namespace cg::mapping {

inline constexpr std::string_view kJointModelVersion = "joint-1.0.0";

// One factor's contribution to the joint log-odds of default (positive = riskier),
// with a stable code from the table in specs/joint-model.md.
struct Reason {
  std::string code;
  std::string description;
  double contribution = 0;
};

// --- Native PD ---

struct ShenzhenNativeParams {
  // A representative PD inside each grade's band on the Shenzhen scale.
  std::map<std::string, double, std::less<>> grade_pd = {
      {"A+", 0.0003}, {"A", 0.0012}, {"B", 0.004}, {"C", 0.015}, {"D", 0.055}, {"E", 0.25}};
  // Log-odds added for each list the entity is on.
  double serious_dishonesty = 1.50;
  double abnormal_operation = 0.80;
  double shell_risk = 0.60;
};

// A points scorecard with the standard scaling: `base_points` at odds (good:bad)
// of `base_odds`, and `points_to_double_odds` more points for twice the odds.
struct HongKongScorecardParams {
  double base_points = 600;
  double base_odds = 50;
  double points_to_double_odds = 20;
  // Points by attribute band (see specs/joint-model.md §2.2 for the bands).
  double years_under_2 = -15, years_2_to_5 = -5, years_5_to_10 = 5, years_10_plus = 15;
  double dpd_0 = 20, dpd_1_to_29 = 0, dpd_30_to_59 = -15, dpd_60_to_89 = -25, dpd_90_plus = -40;
  double utilisation_under_30 = 10, utilisation_30_to_70 = 0, utilisation_70_to_90 = -5,
         utilisation_over_90 = -15;
  double default_one = -40, default_two_plus = -60;    // defaults in the last 5 years
  double judgment_one = -20, judgment_two_plus = -35;  // unsatisfied judgments
  double winding_up_petition = -60;                    // any in the last 5 years
  double written_off_facility = -40;
  double trade_dbt_under_5 = 10, trade_dbt_5_to_30 = 0, trade_dbt_30_to_60 = -10,
         trade_dbt_over_60 = -25;  // amount-weighted days beyond terms
};

struct NativeAssessment {
  double pd = 0;
  std::string scale;            // the scale `grade` is on ("sz-six-level"), or empty
  std::string grade;            // the native grade, or empty (Hong Kong: from the PD)
  std::vector<Reason> reasons;  // relative to the reference PD
  bool has_data = true;         // false: no native record, the prior was used
};

// --- Cross-border performance ---

struct PerformanceParams {
  int window_months = 24;
  // Below either minimum the component is neutral (0), never a penalty.
  uint32_t min_records = 3;
  double min_amount_cny = 100'000;
  // Fixed conversion to CNY for weighting amounts (illustrative).
  std::map<std::string, double, std::less<>> cny_per_unit = {
      {"CNY", 1.0}, {"HKD", 0.92}, {"USD", 7.2}, {"EUR", 7.8}, {"MOP", 0.89}};
  double unknown_currency_cny = 1.0;
  double reference_on_time_rate = 0.95;
  double on_time_weight = 2.0;         // log-odds per unit of (reference - rate)
  double dbt_weight_per_point = 0.04;  // log-odds per point below 80
  double default_weight = 0.60;        // each default, up to max_counted
  double dispute_weight = 0.20;        // each dispute, up to max_counted
  uint32_t max_counted = 3;
  uint32_t defaulted_days_beyond_terms = 120;  // an unsettled default counts as this late
};

struct PerformanceResult {
  uint32_t window_months = 0;
  uint64_t records = 0;
  double amount_cny = 0;
  double on_time_rate = 0;              // amount-weighted, 0..1
  double days_beyond_terms = 0;         // amount-weighted average
  double days_beyond_terms_score = 80;  // 80 = on terms, lower = later (20 at 120+ days)
  uint32_t defaults = 0;
  uint32_t disputes = 0;
  bool sufficient_evidence = false;
  std::vector<Reason> reasons;
};

// Summarises an entity's records due in the window ending at the end of `period`,
// with its reasons.
PerformanceResult AssessPerformance(std::span<const PerformanceRecord> records,
                                    std::string_view period, const PerformanceParams& params);
// The reasons of a summary (empty without sufficient evidence): what AssessPerformance
// puts in `reasons`, for summaries kept without them.
std::vector<Reason> PerformanceReasons(const PerformanceResult& result,
                                       const PerformanceParams& params);

// The days-beyond-terms score for an average number of days late.
double DaysBeyondTermsScore(double days);

// --- Equity ---

struct EquityParams {
  // Log-odds per unit of share-weighted excess parent log-odds.
  double parent_weight = 0.50;
  // Parents carrying less than this of the entity are ignored.
  double parent_min_share = 0.10;
  uint32_t free_layers = 2;  // layers to the beneficial owner that cost nothing
  double per_layer = 0.10;
  uint32_t max_layers_counted = 5;
  double secrecy_jurisdiction = 0.40;
  double ring = 0.25;
  double no_beneficial_owner = 0.35;
  double shell_on_chain = 0.30;
  double unknown_share_weight = 0.50;  // times the unknown share
};

// An entity above the target (who it is does not enter the model, only how much of
// the target it carries and how risky it is).
struct ParentExposure {
  double integrated_share = 0;
  double pd = 0;  // its native PD
};

// What the joint model uses from equity penetration (mapping/equity_graph.h).
struct EquityFactors {
  std::vector<ParentExposure> parents;
  uint32_t layers_to_beneficial_owner = 0;
  std::vector<std::string> secrecy_jurisdictions;
  bool ring_on_chain = false;
  bool no_identifiable_beneficial_owner = false;
  bool shell_on_chain = false;
  double unknown_share = 0;
  bool crosses_border = false;
};

// --- The whole model ---

struct JointModelParams {
  ShenzhenNativeParams shenzhen;
  HongKongScorecardParams hong_kong;
  PerformanceParams performance;
  EquityParams equity;
  // PD for an entity with no native record (an offshore holding company, say).
  double unknown_native_pd = 0.02;
  // Reasons are contributions relative to this PD: the scorecard's base odds.
  double reference_pd = 1.0 / 51.0;
  // The joint PD is kept inside [min_pd, max_pd].
  double min_pd = 1e-5;
  double max_pd = 0.9999;
  // 0-1000 score with the scorecard scaling; clamped.
  double score_base_points = 600;
  double score_base_odds = 50;
  double score_points_to_double_odds = 20;
  size_t max_reasons = 4;
};

// Rejects parameters out of range (negative weights where the sign matters, PDs
// outside (0,1), an empty grade table, min_pd >= max_pd). kInvalidArgument naming it.
Status ValidateParams(const JointModelParams& params);

// A canonical text of every parameter (sorted, %.17g numbers); its SHA-256 is the
// parameter digest signed into attestations.
std::string CanonicalParams(const JointModelParams& params);

NativeAssessment AssessShenzhen(const SzGradeRecord& record, const JointModelParams& params);
// `as_of_day`: days since 1970-01-01 at which ages and 5-year windows are measured.
NativeAssessment AssessHongKong(const HkBureauRecord& record, int64_t as_of_day,
                                const JointModelParams& params);
NativeAssessment NoNativeRecord(const JointModelParams& params);

struct JointResult {
  double native_pd = 0;
  double joint_logit = 0;
  double joint_pd = 0;
  uint32_t score = 0;
  std::vector<Reason> all_reasons;  // every non-zero factor, in table order
  std::vector<Reason> top_reasons;  // up to max_reasons by |contribution|, ties by code
};

JointResult Combine(const NativeAssessment& native, const EquityFactors& equity,
                    const PerformanceResult& performance, const JointModelParams& params);

double Logit(double p);
double Logistic(double x);

}  // namespace cg::mapping
