#include "mapping/joint_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string_view>
#include <type_traits>
#include <utility>

#include "mapping/calendar.h"

namespace cg::mapping {
namespace {

std::string Printf(const char* format, double a, double b = 0) {
  char buf[160];
  std::snprintf(buf, sizeof buf, format, a, b);
  return buf;
}

// Adds a reason that moved the result (a contribution of 0 did not). `description`
// is its text, or a function that makes it: formatted only for a reason kept, since
// most candidate reasons of most entities contribute nothing.
template <typename Description>
void AddReason(std::vector<Reason>& reasons, std::string_view code, Description&& description,
               double contribution) {
  if (contribution == 0) return;
  if constexpr (std::is_invocable_v<Description>) {
    reasons.push_back({std::string(code), description(), contribution});
  } else {
    reasons.push_back(
        {std::string(code), std::string(std::forward<Description>(description)), contribution});
  }
}

std::string Number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

}  // namespace

double Logit(double p) { return std::log(p / (1.0 - p)); }
double Logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }

Status ValidateParams(const JointModelParams& p) {
  auto pd_ok = [](double x) { return x > 0 && x < 1; };
  if (p.shenzhen.grade_pd.empty()) return InvalidArgumentError("shenzhen.grade_pd is empty");
  for (const auto& [grade, pd] : p.shenzhen.grade_pd) {
    if (!pd_ok(pd))
      return InvalidArgumentError("shenzhen.grade_pd." + grade + " must be in (0, 1)");
  }
  if (!pd_ok(p.unknown_native_pd))
    return InvalidArgumentError("unknown_native_pd must be in (0, 1)");
  if (!pd_ok(p.reference_pd)) return InvalidArgumentError("reference_pd must be in (0, 1)");
  if (!(pd_ok(p.min_pd) && pd_ok(p.max_pd) && p.min_pd < p.max_pd)) {
    return InvalidArgumentError("min_pd and max_pd must be in (0, 1) with min_pd < max_pd");
  }
  if (!(p.hong_kong.base_odds > 0 && p.hong_kong.points_to_double_odds > 0)) {
    return InvalidArgumentError("hong_kong.base_odds and points_to_double_odds must be positive");
  }
  if (!(p.score_base_odds > 0 && p.score_points_to_double_odds > 0)) {
    return InvalidArgumentError("score_base_odds and score_points_to_double_odds must be positive");
  }
  const PerformanceParams& perf = p.performance;
  if (perf.window_months < 1 || perf.window_months > 120) {
    return InvalidArgumentError("performance.window_months must be 1 to 120");
  }
  if (perf.min_amount_cny < 0 || perf.on_time_weight < 0 || perf.dbt_weight_per_point < 0 ||
      perf.default_weight < 0 || perf.dispute_weight < 0 ||
      !(perf.reference_on_time_rate >= 0 && perf.reference_on_time_rate <= 1)) {
    return InvalidArgumentError(
        "performance weights must be >= 0 and the reference rate in [0, 1]");
  }
  for (const auto& [currency, rate] : perf.cny_per_unit) {
    if (!(rate > 0))
      return InvalidArgumentError("performance.cny_per_unit." + currency + " must be > 0");
  }
  const EquityParams& eq = p.equity;
  if (eq.parent_weight < 0 || eq.per_layer < 0 || eq.secrecy_jurisdiction < 0 || eq.ring < 0 ||
      eq.no_beneficial_owner < 0 || eq.shell_on_chain < 0 || eq.unknown_share_weight < 0 ||
      !(eq.parent_min_share >= 0 && eq.parent_min_share <= 1)) {
    return InvalidArgumentError("equity weights must be >= 0 and parent_min_share in [0, 1]");
  }
  if (p.max_reasons == 0 || p.max_reasons > 16)
    return InvalidArgumentError("max_reasons must be 1 to 16");
  return OkStatus();
}

std::string CanonicalParams(const JointModelParams& p) {
  std::string out = "model " + std::string(kJointModelVersion) + "\n";
  auto line = [&out](std::string_view key, double value) {
    out += std::string(key) + " " + Number(value) + "\n";
  };
  for (const auto& [grade, pd] : p.shenzhen.grade_pd) line("shenzhen.grade_pd." + grade, pd);
  line("shenzhen.serious_dishonesty", p.shenzhen.serious_dishonesty);
  line("shenzhen.abnormal_operation", p.shenzhen.abnormal_operation);
  line("shenzhen.shell_risk", p.shenzhen.shell_risk);
  const HongKongScorecardParams& h = p.hong_kong;
  for (auto [key, value] : std::initializer_list<std::pair<const char*, double>>{
           {"base_points", h.base_points},
           {"base_odds", h.base_odds},
           {"points_to_double_odds", h.points_to_double_odds},
           {"years_under_2", h.years_under_2},
           {"years_2_to_5", h.years_2_to_5},
           {"years_5_to_10", h.years_5_to_10},
           {"years_10_plus", h.years_10_plus},
           {"dpd_0", h.dpd_0},
           {"dpd_1_to_29", h.dpd_1_to_29},
           {"dpd_30_to_59", h.dpd_30_to_59},
           {"dpd_60_to_89", h.dpd_60_to_89},
           {"dpd_90_plus", h.dpd_90_plus},
           {"utilisation_under_30", h.utilisation_under_30},
           {"utilisation_30_to_70", h.utilisation_30_to_70},
           {"utilisation_70_to_90", h.utilisation_70_to_90},
           {"utilisation_over_90", h.utilisation_over_90},
           {"default_one", h.default_one},
           {"default_two_plus", h.default_two_plus},
           {"judgment_one", h.judgment_one},
           {"judgment_two_plus", h.judgment_two_plus},
           {"winding_up_petition", h.winding_up_petition},
           {"written_off_facility", h.written_off_facility},
           {"trade_dbt_under_5", h.trade_dbt_under_5},
           {"trade_dbt_5_to_30", h.trade_dbt_5_to_30},
           {"trade_dbt_30_to_60", h.trade_dbt_30_to_60},
           {"trade_dbt_over_60", h.trade_dbt_over_60}}) {
    line(std::string("hong_kong.") + key, value);
  }
  const PerformanceParams& f = p.performance;
  line("performance.window_months", f.window_months);
  line("performance.min_records", f.min_records);
  line("performance.min_amount_cny", f.min_amount_cny);
  for (const auto& [currency, rate] : f.cny_per_unit)
    line("performance.cny_per_unit." + currency, rate);
  line("performance.unknown_currency_cny", f.unknown_currency_cny);
  line("performance.reference_on_time_rate", f.reference_on_time_rate);
  line("performance.on_time_weight", f.on_time_weight);
  line("performance.dbt_weight_per_point", f.dbt_weight_per_point);
  line("performance.default_weight", f.default_weight);
  line("performance.dispute_weight", f.dispute_weight);
  line("performance.max_counted", f.max_counted);
  line("performance.defaulted_days_beyond_terms", f.defaulted_days_beyond_terms);
  const EquityParams& e = p.equity;
  line("equity.parent_weight", e.parent_weight);
  line("equity.parent_min_share", e.parent_min_share);
  line("equity.free_layers", e.free_layers);
  line("equity.per_layer", e.per_layer);
  line("equity.max_layers_counted", e.max_layers_counted);
  line("equity.secrecy_jurisdiction", e.secrecy_jurisdiction);
  line("equity.ring", e.ring);
  line("equity.no_beneficial_owner", e.no_beneficial_owner);
  line("equity.shell_on_chain", e.shell_on_chain);
  line("equity.unknown_share_weight", e.unknown_share_weight);
  line("unknown_native_pd", p.unknown_native_pd);
  line("reference_pd", p.reference_pd);
  line("min_pd", p.min_pd);
  line("max_pd", p.max_pd);
  line("score_base_points", p.score_base_points);
  line("score_base_odds", p.score_base_odds);
  line("score_points_to_double_odds", p.score_points_to_double_odds);
  line("max_reasons", static_cast<double>(p.max_reasons));
  return out;
}

NativeAssessment AssessShenzhen(const SzGradeRecord& r, const JointModelParams& params) {
  const ShenzhenNativeParams& p = params.shenzhen;
  NativeAssessment native;
  native.scale = "sz-six-level";
  native.grade = r.grade;
  auto it = p.grade_pd.find(r.grade);
  const double grade_pd = it != p.grade_pd.end() ? it->second : params.unknown_native_pd;
  double logit = Logit(grade_pd);
  AddReason(native.reasons, "SZ_GRADE", "Shenzhen grade " + r.grade,
            logit - Logit(params.reference_pd));
  if (r.serious_dishonesty) {
    logit += p.serious_dishonesty;
    AddReason(native.reasons, "SZ_SERIOUS_DISHONESTY", "on the serious dishonesty list",
              p.serious_dishonesty);
  }
  if (r.abnormal_operation) {
    logit += p.abnormal_operation;
    AddReason(native.reasons, "SZ_ABNORMAL_OPERATION", "on the abnormal operation list",
              p.abnormal_operation);
  }
  if (r.shell_risk) {
    logit += p.shell_risk;
    AddReason(native.reasons, "SZ_SHELL_RISK", "flagged as a shell-company risk", p.shell_risk);
  }
  native.pd = Logistic(logit);
  return native;
}

NativeAssessment AssessHongKong(const HkBureauRecord& r, int64_t as_of_day,
                                const JointModelParams& params) {
  const HongKongScorecardParams& p = params.hong_kong;
  NativeAssessment native;
  // Points become log-odds at ln 2 per points_to_double_odds; more points, less risk.
  const double per_point = -std::log(2.0) / p.points_to_double_odds;
  double points = 0;
  auto add = [&](const char* code, auto description, double attribute_points) {
    points += attribute_points;
    AddReason(native.reasons, code, std::move(description), attribute_points * per_point);
  };
  const int64_t five_years_ago = MonthsBefore(as_of_day, 60);

  if (!r.incorporation_date.empty()) {
    const double years = (as_of_day - DaysFromDate(r.incorporation_date)) / 365.25;
    add(
        "HK_YEARS_TRADING", [&] { return Printf("%.1f years since incorporation", years); },
        years < 2    ? p.years_under_2
        : years < 5  ? p.years_2_to_5
        : years < 10 ? p.years_5_to_10
                     : p.years_10_plus);
  }
  uint32_t worst_dpd = 0;
  double limit = 0, outstanding = 0;
  bool written_off = false;
  for (const HkFacility& f : r.facilities) {
    worst_dpd = std::max(worst_dpd, f.worst_dpd_12m);
    if (f.status == "written_off") written_off = true;
    if (f.status == "current" && f.limit > 0) {
      limit += f.limit;
      outstanding += f.outstanding;
    }
  }
  if (!r.facilities.empty()) {
    add(
        "HK_WORST_DPD", [&] { return Printf("worst %.0f days past due in 12 months", worst_dpd); },
        worst_dpd == 0   ? p.dpd_0
        : worst_dpd < 30 ? p.dpd_1_to_29
        : worst_dpd < 60 ? p.dpd_30_to_59
        : worst_dpd < 90 ? p.dpd_60_to_89
                         : p.dpd_90_plus);
  }
  if (limit > 0) {
    const double u = outstanding / limit;
    add(
        "HK_UTILISATION", [&] { return Printf("%.0f%% of credit limits used", u * 100); },
        u < 0.30   ? p.utilisation_under_30
        : u < 0.70 ? p.utilisation_30_to_70
        : u < 0.90 ? p.utilisation_70_to_90
                   : p.utilisation_over_90);
  }
  int defaults = 0;
  for (const auto& d : r.defaults) defaults += DaysFromDate(d.date) >= five_years_ago;
  if (defaults > 0) {
    add(
        "HK_DEFAULTS", [&] { return Printf("%.0f default(s) in 5 years", defaults); },
        defaults == 1 ? p.default_one : p.default_two_plus);
  }
  int judgments = 0;
  for (const auto& j : r.judgments)
    judgments += !j.satisfied && DaysFromDate(j.date) >= five_years_ago;
  if (judgments > 0) {
    add(
        "HK_JUDGMENTS", [&] { return Printf("%.0f unsatisfied judgment(s)", judgments); },
        judgments == 1 ? p.judgment_one : p.judgment_two_plus);
  }
  bool petition = false;
  for (const auto& date : r.winding_up_petitions) petition |= DaysFromDate(date) >= five_years_ago;
  if (petition) add("HK_WINDING_UP", "winding-up petition in 5 years", p.winding_up_petition);
  if (written_off) add("HK_WRITE_OFF", "a facility was written off", p.written_off_facility);
  double paid = 0, weighted_days = 0;
  for (const auto& t : r.trade_payments) {
    paid += t.amount;
    weighted_days += t.amount * t.days_beyond_terms;
  }
  if (paid > 0) {
    const double dbt = weighted_days / paid;
    add(
        "HK_TRADE_DBT", [&] { return Printf("trade paid %.1f days beyond terms on average", dbt); },
        dbt < 5    ? p.trade_dbt_under_5
        : dbt < 30 ? p.trade_dbt_5_to_30
        : dbt < 60 ? p.trade_dbt_30_to_60
                   : p.trade_dbt_over_60);
  }
  // PD at base_points + points: odds (good:bad) = base_odds * 2^(points / pdo).
  const double logit = -std::log(p.base_odds) + points * per_point;
  native.pd = Logistic(logit);
  // Reasons are relative to reference_pd; the base itself is a reason when they differ.
  AddReason(native.reasons, "HK_SCORECARD_BASE", "scorecard base odds",
            -std::log(p.base_odds) - Logit(params.reference_pd));
  return native;
}

NativeAssessment NoNativeRecord(const JointModelParams& params) {
  NativeAssessment native;
  native.pd = params.unknown_native_pd;
  native.has_data = false;
  AddReason(native.reasons, "NO_NATIVE_DATA", "no grade or bureau record: the prior PD is used",
            Logit(params.unknown_native_pd) - Logit(params.reference_pd));
  return native;
}

double DaysBeyondTermsScore(double days) {
  // (days beyond terms, score) in the manner of trade-payment indices.
  static constexpr double kPoints[][2] = {{0, 80},  {15, 70}, {22, 60}, {30, 50},
                                          {60, 40}, {90, 30}, {120, 20}};
  if (!(days > 0)) return 80;
  for (size_t i = 1; i < std::size(kPoints); ++i) {
    if (days <= kPoints[i][0]) {
      const double t = (days - kPoints[i - 1][0]) / (kPoints[i][0] - kPoints[i - 1][0]);
      return kPoints[i - 1][1] + t * (kPoints[i][1] - kPoints[i - 1][1]);
    }
  }
  return 20;
}

PerformanceResult AssessPerformance(std::span<const PerformanceRecord> records,
                                    std::string_view period, const PerformanceParams& p) {
  PerformanceResult out;
  out.window_months = static_cast<uint32_t>(p.window_months);
  const int64_t end = PeriodEndDay(period);
  const int64_t start = MonthsBefore(end, p.window_months);  // exclusive
  double rated = 0, on_time = 0, weighted_days = 0;
  for (const PerformanceRecord& r : records) {
    const int64_t due = DaysFromDate(r.due_date);
    if (due <= start || due > end) continue;
    auto rate = p.cny_per_unit.find(r.currency);
    const double amount =
        r.amount * (rate != p.cny_per_unit.end() ? rate->second : p.unknown_currency_cny);
    ++out.records;
    out.amount_cny += amount;
    switch (r.status) {
      case PerformanceStatus::kDisputed:
        ++out.disputes;
        continue;
      case PerformanceStatus::kDefaulted:
        ++out.defaults;
        weighted_days += amount * p.defaulted_days_beyond_terms;
        break;
      case PerformanceStatus::kLate:
        weighted_days += amount * static_cast<double>(DaysFromDate(r.settled_date) - due);
        break;
      case PerformanceStatus::kOnTime:
        on_time += amount;
        break;
    }
    rated += amount;
  }
  out.on_time_rate = rated > 0 ? on_time / rated : p.reference_on_time_rate;
  out.days_beyond_terms = rated > 0 ? weighted_days / rated : 0;
  out.days_beyond_terms_score = DaysBeyondTermsScore(out.days_beyond_terms);
  out.sufficient_evidence = out.records >= p.min_records && out.amount_cny >= p.min_amount_cny;
  out.reasons = PerformanceReasons(out, p);
  return out;
}

std::vector<Reason> PerformanceReasons(const PerformanceResult& r, const PerformanceParams& p) {
  std::vector<Reason> reasons;
  if (!r.sufficient_evidence) return reasons;  // too little evidence: neutral
  AddReason(
      reasons, "XB_ON_TIME",
      [&] {
        return Printf("cross-border obligations %.1f%% on time by amount (reference %.0f%%)",
                      r.on_time_rate * 100, p.reference_on_time_rate * 100);
      },
      p.on_time_weight * (p.reference_on_time_rate - r.on_time_rate));
  AddReason(
      reasons, "XB_DAYS_BEYOND_TERMS",
      [&] {
        return Printf("paid %.1f days beyond terms on average (score %.0f of 80)",
                      r.days_beyond_terms, r.days_beyond_terms_score);
      },
      p.dbt_weight_per_point * (80 - r.days_beyond_terms_score));
  AddReason(
      reasons, "XB_DEFAULTS", [&] { return Printf("%.0f cross-border default(s)", r.defaults); },
      p.default_weight * std::min(r.defaults, p.max_counted));
  AddReason(
      reasons, "XB_DISPUTES", [&] { return Printf("%.0f disputed obligation(s)", r.disputes); },
      p.dispute_weight * std::min(r.disputes, p.max_counted));
  return reasons;
}

JointResult Combine(const NativeAssessment& native, const EquityFactors& equity,
                    const PerformanceResult& performance, const JointModelParams& params) {
  const EquityParams& e = params.equity;
  JointResult out;
  out.native_pd = std::clamp(native.pd, params.min_pd, params.max_pd);
  const double native_logit = Logit(out.native_pd);
  out.all_reasons = native.reasons;

  std::vector<Reason> equity_reasons;
  double parent_excess = 0, parent_share = 0;
  for (const ParentExposure& parent : equity.parents) {
    if (parent.integrated_share < e.parent_min_share) continue;
    const double parent_pd = std::clamp(parent.pd, params.min_pd, params.max_pd);
    parent_excess += parent.integrated_share * (Logit(parent_pd) - native_logit);
    parent_share += parent.integrated_share;
  }
  AddReason(
      equity_reasons, "EQ_PARENT_RISK",
      [&] {
        return Printf(parent_excess > 0 ? "owned (%.0f%%) by companies of higher risk"
                                        : "owned (%.0f%%) by companies of lower risk",
                      parent_share * 100);
      },
      e.parent_weight * parent_excess);
  const uint32_t layers = std::min(equity.layers_to_beneficial_owner, e.max_layers_counted);
  if (layers > e.free_layers) {
    AddReason(
        equity_reasons, "EQ_LAYERS",
        [&] { return Printf("%.0f layers of companies to the beneficial owner", layers); },
        e.per_layer * (layers - e.free_layers));
  }
  if (!equity.secrecy_jurisdictions.empty()) {
    std::string list;
    for (const auto& j : equity.secrecy_jurisdictions) list += (list.empty() ? "" : ", ") + j;
    AddReason(equity_reasons, "EQ_SECRECY_JURISDICTION", "ownership runs through " + list,
              e.secrecy_jurisdiction);
  }
  if (equity.ring_on_chain) {
    AddReason(equity_reasons, "EQ_RING", "cross-holding ring in the ownership", e.ring);
  }
  if (equity.no_identifiable_beneficial_owner) {
    AddReason(equity_reasons, "EQ_NO_BENEFICIAL_OWNER", "no identifiable beneficial owner",
              e.no_beneficial_owner);
  }
  if (equity.shell_on_chain) {
    AddReason(equity_reasons, "EQ_SHELL_ON_CHAIN", "a shell-company risk in the ownership",
              e.shell_on_chain);
  }
  AddReason(
      equity_reasons, "EQ_UNKNOWN_OWNERSHIP",
      [&] {
        return Printf("%.0f%% of the ownership is not accounted for", equity.unknown_share * 100);
      },
      e.unknown_share_weight * equity.unknown_share);

  double logit = native_logit;
  out.all_reasons.reserve(out.all_reasons.size() + equity_reasons.size() +
                          performance.reasons.size());
  for (Reason& r : equity_reasons) {
    logit += r.contribution;
    out.all_reasons.push_back(std::move(r));
  }
  for (const Reason& r : performance.reasons) {
    logit += r.contribution;
    out.all_reasons.push_back(r);
  }
  out.joint_pd = std::clamp(Logistic(logit), params.min_pd, params.max_pd);
  out.joint_logit = Logit(out.joint_pd);
  const double odds_good = (1 - out.joint_pd) / out.joint_pd;
  const double score = params.score_base_points + params.score_points_to_double_odds /
                                                      std::log(2.0) *
                                                      std::log(odds_good / params.score_base_odds);
  out.score = static_cast<uint32_t>(std::lround(std::clamp(score, 0.0, 1000.0)));

  // The reasons that moved the result most (ties in the order above); only those are
  // copied.
  std::vector<uint32_t> order(out.all_reasons.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](uint32_t i, uint32_t j) {
    const Reason& a = out.all_reasons[i];
    const Reason& b = out.all_reasons[j];
    const double ma = std::fabs(a.contribution), mb = std::fabs(b.contribution);
    return ma != mb ? ma > mb : a.code < b.code;
  });
  if (order.size() > params.max_reasons) order.resize(params.max_reasons);
  out.top_reasons.reserve(order.size());
  for (uint32_t i : order) out.top_reasons.push_back(out.all_reasons[i]);
  return out;
}

}  // namespace cg::mapping
