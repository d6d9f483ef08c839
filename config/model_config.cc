#include "config/model_config.h"

#include <toml++/toml.h>

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <map>
#include <span>
#include <utility>

#include "config/internal/toml_support.h"
#include "config/node_config.h"  // kMaxConfigFileBytes
#include "specs/file_io.h"

namespace cg::config {
namespace {

using internal::HeaderName;
using internal::kMaxEchoedValueBytes;
using internal::Position;
using internal::Quote;
using internal::TypeName;

using mapping::BeneficialOwnerRule;
using mapping::EquityParams;
using mapping::GradeBand;
using mapping::HongKongScorecardParams;
using mapping::JointModelParams;
using mapping::JurisdictionBeneficialOwnerRule;
using mapping::PenetrationParams;
using mapping::PerformanceParams;
using mapping::Scale;
using mapping::ShenzhenNativeParams;

// The ranges of the integer parameters, and the other limits of the file. Where
// mapping::ValidateParams or EquityPenetrator::Create has a range, these are the same
// or inside it; the rest are sanity bounds, far from any calibrated value.
constexpr int kMinWindowMonths = 1, kMaxWindowMonths = 120;
// At least one record: with none, an on-time rate of 0 would count as evidence.
constexpr int64_t kMinRecords = 1, kMaxMinRecords = 1'000'000;
// At least one: 0 would not mean "no cap" but "defaults and disputes never count".
constexpr int64_t kMinCounted = 1, kMaxCounted = 100;
constexpr int64_t kMinDefaultedDays = 1, kMaxDefaultedDays = 3650;
constexpr int64_t kMaxFreeLayers = 64;
constexpr int64_t kMinLayersCounted = 1, kMaxLayersCounted = 64;
constexpr int64_t kMinReasons = 1, kMaxReasons = 16;
constexpr int64_t kMinRingSweeps = 1, kMaxRingSweeps = 1'000'000;
constexpr int64_t kMinExplainChains = 1, kMaxExplainChains = 1000;
constexpr int64_t kMinExplainExpansions = 1, kMaxExplainExpansions = 100'000'000;
constexpr size_t kMaxBeneficialOwnerRules = 128;
// Scale, grade and grade_pd names: printable ASCII without spaces, so that canonical
// texts (one "name value" per line) stay unambiguous.
constexpr size_t kMaxNameBytes = 64;

enum class Presence { kOptional, kRequired };

template <typename E>
struct Choice {
  std::string_view name;
  E value;
};

constexpr Choice<BeneficialOwnerRule::Comparison> kComparisonChoices[] = {
    {"at_least", BeneficialOwnerRule::Comparison::kAtLeast},
    {"more_than", BeneficialOwnerRule::Comparison::kMoreThan}};
constexpr Choice<BeneficialOwnerRule::ChainRule> kChainRuleChoices[] = {
    {"multiplicative", BeneficialOwnerRule::ChainRule::kMultiplicative},
    {"majority_attribution", BeneficialOwnerRule::ChainRule::kMajorityAttribution}};

// The shortest text that reads back as `x` ("0.0003", "1e-09", "nan").
std::string Number(double x) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, x);
  return std::string(buffer, result.ptr);
}

// The values a floating-point parameter may take: finite, between low and high.
struct Range {
  double low;
  double high;
  bool low_open;
  bool high_open;

  bool Contains(double x) const {
    return std::isfinite(x) && (low_open ? x > low : x >= low) &&
           (high_open ? x < high : x <= high);
  }
  std::string Describe() const {
    if (std::isinf(low) && std::isinf(high)) return "a finite number";
    if (std::isinf(high)) return (low_open ? "> " : ">= ") + Number(low);
    return std::string(low_open ? "in (" : "in [") + Number(low) + ", " + Number(high) +
           (high_open ? ")" : "]");
  }
};

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr Range kFinite{-kInf, kInf, true, true};
constexpr Range kNonNegative{0, kInf, false, true};
constexpr Range kPositive{0, kInf, true, true};
constexpr Range kProbability{0, 1, true, true};  // a PD
constexpr Range kFraction{0, 1, false, false};   // a share or a rate
constexpr Range kBandEdge{0, 1, false, false};
constexpr Range kEpsilonRange{0, 0.01, true, false};
constexpr Range kControlThresholdRange{0.5, 1, false, true};
constexpr Range kOwnerThresholdRange{0, 1, true, false};

// A floating-point parameter of struct S: its key, where it lives, what it may be.
template <typename S>
struct NumberField {
  std::string_view key;
  double S::*member;
  Range range;
};

constexpr NumberField<ShenzhenNativeParams> kShenzhenFields[] = {
    {"serious_dishonesty", &ShenzhenNativeParams::serious_dishonesty, kNonNegative},
    {"abnormal_operation", &ShenzhenNativeParams::abnormal_operation, kNonNegative},
    {"shell_risk", &ShenzhenNativeParams::shell_risk, kNonNegative},
};

// Scorecard points may have either sign; only the scaling must be positive.
constexpr NumberField<HongKongScorecardParams> kHongKongFields[] = {
    {"base_points", &HongKongScorecardParams::base_points, kFinite},
    {"base_odds", &HongKongScorecardParams::base_odds, kPositive},
    {"points_to_double_odds", &HongKongScorecardParams::points_to_double_odds, kPositive},
    {"years_under_2", &HongKongScorecardParams::years_under_2, kFinite},
    {"years_2_to_5", &HongKongScorecardParams::years_2_to_5, kFinite},
    {"years_5_to_10", &HongKongScorecardParams::years_5_to_10, kFinite},
    {"years_10_plus", &HongKongScorecardParams::years_10_plus, kFinite},
    {"dpd_0", &HongKongScorecardParams::dpd_0, kFinite},
    {"dpd_1_to_29", &HongKongScorecardParams::dpd_1_to_29, kFinite},
    {"dpd_30_to_59", &HongKongScorecardParams::dpd_30_to_59, kFinite},
    {"dpd_60_to_89", &HongKongScorecardParams::dpd_60_to_89, kFinite},
    {"dpd_90_plus", &HongKongScorecardParams::dpd_90_plus, kFinite},
    {"utilisation_under_30", &HongKongScorecardParams::utilisation_under_30, kFinite},
    {"utilisation_30_to_70", &HongKongScorecardParams::utilisation_30_to_70, kFinite},
    {"utilisation_70_to_90", &HongKongScorecardParams::utilisation_70_to_90, kFinite},
    {"utilisation_over_90", &HongKongScorecardParams::utilisation_over_90, kFinite},
    {"default_one", &HongKongScorecardParams::default_one, kFinite},
    {"default_two_plus", &HongKongScorecardParams::default_two_plus, kFinite},
    {"judgment_one", &HongKongScorecardParams::judgment_one, kFinite},
    {"judgment_two_plus", &HongKongScorecardParams::judgment_two_plus, kFinite},
    {"winding_up_petition", &HongKongScorecardParams::winding_up_petition, kFinite},
    {"written_off_facility", &HongKongScorecardParams::written_off_facility, kFinite},
    {"trade_dbt_under_5", &HongKongScorecardParams::trade_dbt_under_5, kFinite},
    {"trade_dbt_5_to_30", &HongKongScorecardParams::trade_dbt_5_to_30, kFinite},
    {"trade_dbt_30_to_60", &HongKongScorecardParams::trade_dbt_30_to_60, kFinite},
    {"trade_dbt_over_60", &HongKongScorecardParams::trade_dbt_over_60, kFinite},
};

constexpr NumberField<PerformanceParams> kPerformanceFields[] = {
    {"min_amount_cny", &PerformanceParams::min_amount_cny, kNonNegative},
    {"unknown_currency_cny", &PerformanceParams::unknown_currency_cny, kPositive},
    {"reference_on_time_rate", &PerformanceParams::reference_on_time_rate, kFraction},
    {"on_time_weight", &PerformanceParams::on_time_weight, kNonNegative},
    {"dbt_weight_per_point", &PerformanceParams::dbt_weight_per_point, kNonNegative},
    {"default_weight", &PerformanceParams::default_weight, kNonNegative},
    {"dispute_weight", &PerformanceParams::dispute_weight, kNonNegative},
};

constexpr NumberField<EquityParams> kEquityFields[] = {
    {"parent_weight", &EquityParams::parent_weight, kNonNegative},
    {"parent_min_share", &EquityParams::parent_min_share, kFraction},
    {"per_layer", &EquityParams::per_layer, kNonNegative},
    {"secrecy_jurisdiction", &EquityParams::secrecy_jurisdiction, kNonNegative},
    {"ring", &EquityParams::ring, kNonNegative},
    {"no_beneficial_owner", &EquityParams::no_beneficial_owner, kNonNegative},
    {"shell_on_chain", &EquityParams::shell_on_chain, kNonNegative},
    {"unknown_share_weight", &EquityParams::unknown_share_weight, kNonNegative},
};

constexpr NumberField<JointModelParams> kJointFields[] = {
    {"unknown_native_pd", &JointModelParams::unknown_native_pd, kProbability},
    {"reference_pd", &JointModelParams::reference_pd, kProbability},
    {"min_pd", &JointModelParams::min_pd, kProbability},
    {"max_pd", &JointModelParams::max_pd, kProbability},
    {"score_base_points", &JointModelParams::score_base_points, kFinite},
    {"score_base_odds", &JointModelParams::score_base_odds, kPositive},
    {"score_points_to_double_odds", &JointModelParams::score_points_to_double_odds, kPositive},
};

constexpr NumberField<PenetrationParams> kPenetrationFields[] = {
    {"epsilon", &PenetrationParams::epsilon, kEpsilonRange},
    {"control_threshold", &PenetrationParams::control_threshold, kControlThresholdRange},
    {"opacity_min_share", &PenetrationParams::opacity_min_share, kFraction},
};

// The keys each table may hold; anything else in the file is an error. Tables whose
// keys are numbers (grade_pd, cny_per_unit) take any key of the right form.
using KeyList = std::vector<std::string_view>;

template <typename S, size_t N>
KeyList KeysOf(const NumberField<S> (&fields)[N], std::initializer_list<std::string_view> more) {
  KeyList keys;
  for (const auto& field : fields) keys.push_back(field.key);
  keys.insert(keys.end(), more);
  return keys;
}

const KeyList kRootKeys = {"shenzhen", "hong_kong",   "performance", "equity",
                           "joint",    "penetration", "translation", "scale"};
const KeyList kRuleKeys = {"jurisdiction", "threshold", "comparison", "chain_rule"};
const KeyList kDefaultRuleKeys = {"threshold", "comparison", "chain_rule"};
const KeyList kTranslationKeys = {"policy"};
const KeyList kScaleKeys = {"name", "grade"};
const KeyList kGradeKeys = {"name", "pd_low", "pd_high"};

// A scale, grade or grade_pd name.
bool IsName(std::string_view text) {
  if (text.empty() || text.size() > kMaxNameBytes) return false;
  for (char c : text) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}
constexpr std::string_view kNameForm = "1 to 64 printable ASCII characters without spaces";

// What the performance feed accepts as a currency: ISO 4217, three capital letters.
bool IsCurrencyCode(std::string_view text) {
  if (text.size() != 3) return false;
  for (char c : text) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}
constexpr std::string_view kCurrencyForm = "an ISO 4217 code of three capital letters, such as HKD";

// An ISO 3166-1 alpha-2 code ("VG") or an ISO 3166-2 subdivision ("CN-SZ", "CN-HK").
bool IsJurisdictionPattern(std::string_view text) {
  auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto upper_or_digit = [&](char c) { return upper(c) || (c >= '0' && c <= '9'); };
  if (text.size() < 2 || !upper(text[0]) || !upper(text[1])) return false;
  if (text.size() == 2) return true;
  if (text.size() < 4 || text.size() > 6 || text[2] != '-') return false;
  for (char c : text.substr(3)) {
    if (!upper_or_digit(c)) return false;
  }
  return true;
}
constexpr std::string_view kJurisdictionForm = "an ISO 3166 code such as HK, VG or CN-SZ";

struct Source {
  std::string_view name;  // for messages: "model.toml"
};

Status ErrorAt(const Source& source, const toml::source_region& region, std::string_view path,
               std::string_view message) {
  std::string text = Position(source.name, region);
  if (!path.empty()) {
    text += ": ";
    text += path;
  }
  text += ": ";
  text += message;
  return InvalidArgumentError(std::move(text));
}

// One TOML table of a known shape, named by its dotted path ("joint",
// "scale[1].grade[0]"; empty for the root). The Read* functions leave *out unchanged
// when an optional key is absent, so the caller's default stands; every error names
// the key's dotted path and position. (The same reader as config/node_config.cc's,
// with the number, list and map reads the model needs.)
class TableReader {
 public:
  // Fails on the first key (in file order) that is not in `known`.
  static StatusOr<TableReader> Open(const Source* source, const toml::table* table,
                                    std::string path, KeyList known) {
    TableReader reader(source, table, std::move(path), std::move(known));
    CG_RETURN_IF_ERROR(reader.CheckKnownKeys());
    return reader;
  }

  const std::string& path() const { return path_; }

  bool Has(std::string_view key) const { return Find(key) != nullptr; }

  Status KeyError(std::string_view key, std::string_view message) const {
    const toml::key* written = FindKey(key);
    return ErrorAt(*source_, written != nullptr ? written->source() : table_->source(), PathOf(key),
                   message);
  }

  Status TableError(std::string_view message) const {
    return ErrorAt(*source_, table_->source(), path_, message);
  }

  Status ReadString(std::string_view key, Presence presence, std::string* out) const {
    const toml::node* node = Find(key);
    if (node == nullptr) return presence == Presence::kRequired ? Missing(key) : OkStatus();
    const auto* value = node->as_string();
    if (value == nullptr) return WrongType(key, *node, "a string");
    *out = value->get();
    return OkStatus();
  }

  // A number (TOML integer or float) in `range`.
  Status ReadNumber(std::string_view key, Presence presence, const Range& range,
                    double* out) const {
    const toml::node* node = Find(key);
    if (node == nullptr) return presence == Presence::kRequired ? Missing(key) : OkStatus();
    return ConvertNumber(*node, FindKey(key)->source(), PathOf(key), range, out);
  }

  // An optional TOML integer in [min, max]; a float is the wrong type, even 24.0.
  template <typename I>
  Status ReadInteger(std::string_view key, int64_t min, int64_t max, I* out) const {
    assert(min >= static_cast<int64_t>(std::numeric_limits<I>::min()));
    assert(static_cast<uint64_t>(max) <= static_cast<uint64_t>(std::numeric_limits<I>::max()));
    const toml::node* node = Find(key);
    if (node == nullptr) return OkStatus();
    const auto* value = node->as_integer();
    if (value == nullptr) return WrongType(key, *node, "an integer");
    const int64_t number = value->get();
    if (number < min || number > max) {
      return KeyError(key, "must be between " + std::to_string(min) + " and " +
                               std::to_string(max) + ", got " + std::to_string(number));
    }
    *out = static_cast<I>(number);
    return OkStatus();
  }

  template <typename E>
  Status ReadChoice(std::string_view key, std::span<const Choice<E>> choices, E* out) const {
    std::string written;
    CG_RETURN_IF_ERROR(ReadString(key, Presence::kOptional, &written));
    if (!Has(key)) return OkStatus();
    for (const auto& choice : choices) {
      if (choice.name == written) {
        *out = choice.value;
        return OkStatus();
      }
    }
    std::string message = "must be one of ";
    for (size_t i = 0; i < choices.size(); ++i) {
      if (i > 0) message += ", ";
      message += Quote(choices[i].name);
    }
    return KeyError(key, message + "; got " + Quote(written));
  }

  // An optional array of distinct strings, each of the form `is_valid` accepts
  // (described by `form`); when present it replaces *out (an empty array empties it).
  Status ReadStringList(std::string_view key, bool (*is_valid)(std::string_view),
                        std::string_view form, std::vector<std::string>* out) const {
    const toml::node* node = Find(key);
    if (node == nullptr) return OkStatus();
    const toml::array* array = node->as_array();
    if (array == nullptr) return WrongType(key, *node, "an array of strings");
    std::vector<std::string> values;
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      const std::string element_path = PathOf(key) + "[" + std::to_string(i) + "]";
      const auto* value = element.as_string();
      if (value == nullptr) {
        return ErrorAt(*source_, element.source(), element_path,
                       "must be a string, got " + std::string(TypeName(element.type())));
      }
      const std::string& text = value->get();
      if (!is_valid(text)) {
        return ErrorAt(*source_, element.source(), element_path,
                       "must be " + std::string(form) + ", got " + Quote(text));
      }
      for (const std::string& earlier : values) {
        if (earlier == text) {
          return ErrorAt(*source_, element.source(), element_path,
                         Quote(text) + " is already in the list");
        }
      }
      values.push_back(text);
    }
    *out = std::move(values);
    return OkStatus();
  }

  // An optional table of names to numbers in `range` ([shenzhen.grade_pd]), each name
  // of the form `is_valid_name` accepts (described by `form`); when present it
  // replaces *out.
  Status ReadNumberMap(std::string_view key, bool (*is_valid_name)(std::string_view),
                       std::string_view form, const Range& range,
                       std::map<std::string, double, std::less<>>* out) const {
    const toml::node* node = Find(key);
    if (node == nullptr) return OkStatus();
    const toml::table* table = node->as_table();
    if (table == nullptr) {
      return WrongType(key, *node, "a table ([" + HeaderName(PathOf(key)) + "])");
    }
    std::map<std::string, double, std::less<>> values;
    for (const auto& [name, value] : *table) {
      const std::string entry_path = PathOf(key) + "." + std::string(name.str());
      if (!is_valid_name(name.str())) {
        return ErrorAt(*source_, name.source(), entry_path,
                       "the name must be " + std::string(form) + ", got " + Quote(name.str()));
      }
      double number = 0;
      CG_RETURN_IF_ERROR(ConvertNumber(value, name.source(), entry_path, range, &number));
      values.emplace(std::string(name.str()), number);
    }
    *out = std::move(values);
    return OkStatus();
  }

  // The sub-table at `key`, or an empty table when absent.
  StatusOr<TableReader> ReadTable(std::string_view key, KeyList known) const {
    static const toml::table kEmptyTable;
    const toml::node* node = Find(key);
    if (node == nullptr) return Open(source_, &kEmptyTable, PathOf(key), std::move(known));
    const toml::table* table = node->as_table();
    if (table == nullptr) {
      return WrongType(key, *node, "a table ([" + HeaderName(PathOf(key)) + "])");
    }
    return Open(source_, table, PathOf(key), std::move(known));
  }

  // The tables of an array of tables, in file order; none when absent (tell an empty
  // array from an absent one with Has). Each is checked for unknown keys before any
  // is returned.
  StatusOr<std::vector<TableReader>> ReadArrayOfTables(std::string_view key,
                                                       const KeyList& known) const {
    std::vector<TableReader> readers;
    const toml::node* node = Find(key);
    if (node == nullptr) return readers;
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      return WrongType(key, *node, "an array of tables ([[" + HeaderName(PathOf(key)) + "]])");
    }
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      const std::string element_path = PathOf(key) + "[" + std::to_string(i) + "]";
      const toml::table* table = element.as_table();
      if (table == nullptr) {
        return ErrorAt(*source_, element.source(), element_path,
                       "must be a table, got " + std::string(TypeName(element.type())));
      }
      CG_ASSIGN_OR_RETURN(TableReader reader, Open(source_, table, element_path, known));
      readers.push_back(std::move(reader));
    }
    return readers;
  }

 private:
  TableReader(const Source* source, const toml::table* table, std::string path, KeyList known)
      : source_(source), table_(table), path_(std::move(path)), known_(std::move(known)) {}

  Status CheckKnownKeys() const {
    const toml::key* first_unknown = nullptr;
    auto order = [](const toml::key& key) {
      const auto& begin = key.source().begin;
      // Keys without a position (none are expected) sort last.
      return begin.line == 0 ? std::pair(UINT32_MAX, UINT32_MAX)
                             : std::pair(begin.line, begin.column);
    };
    for (const auto& [key, value] : *table_) {
      if (IsKnown(key.str())) continue;
      if (first_unknown == nullptr || order(key) < order(*first_unknown)) first_unknown = &key;
    }
    if (first_unknown == nullptr) return OkStatus();
    std::string message = "unknown key (allowed here: ";
    for (size_t i = 0; i < known_.size(); ++i) {
      if (i > 0) message += ", ";
      message += known_[i];
    }
    message += ")";
    return ErrorAt(*source_, first_unknown->source(), PathOf(first_unknown->str()), message);
  }

  bool IsKnown(std::string_view key) const {
    for (std::string_view known : known_) {
      if (known == key) return true;
    }
    return false;
  }

  std::string PathOf(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  const toml::key* FindKey(std::string_view key) const {
    assert(IsKnown(key) && "read a key missing from its table's known keys");
    auto it = table_->find(key);
    return it == table_->end() ? nullptr : &it->first;
  }

  const toml::node* Find(std::string_view key) const {
    assert(IsKnown(key) && "read a key missing from its table's known keys");
    auto it = table_->find(key);
    return it == table_->end() ? nullptr : &it->second;
  }

  Status ConvertNumber(const toml::node& node, const toml::source_region& where,
                       const std::string& path, const Range& range, double* out) const {
    double number = 0;
    if (const auto* integer = node.as_integer()) {
      number = static_cast<double>(integer->get());
    } else if (const auto* floating = node.as_floating_point()) {
      number = floating->get();
    } else {
      return ErrorAt(*source_, where, path,
                     "must be a number, got " + std::string(TypeName(node.type())));
    }
    if (!range.Contains(number)) {
      return ErrorAt(*source_, where, path,
                     "must be " + range.Describe() + ", got " + Number(number));
    }
    *out = number;
    return OkStatus();
  }

  Status Missing(std::string_view key) const {
    return ErrorAt(*source_, table_->source(), PathOf(key), "required key is missing");
  }

  Status WrongType(std::string_view key, const toml::node& node, std::string_view expected) const {
    return KeyError(
        key, "must be " + std::string(expected) + ", got " + std::string(TypeName(node.type())));
  }

  const Source* source_;
  const toml::table* table_;
  std::string path_;
  KeyList known_;
};

template <typename S, size_t N>
Status ReadNumberFields(const TableReader& table, const NumberField<S> (&fields)[N], S* out) {
  for (const auto& field : fields) {
    CG_RETURN_IF_ERROR(
        table.ReadNumber(field.key, Presence::kOptional, field.range, &(out->*field.member)));
  }
  return OkStatus();
}

Status ParseShenzhen(const TableReader& root, ShenzhenNativeParams* out) {
  CG_ASSIGN_OR_RETURN(const TableReader table,
                      root.ReadTable("shenzhen", KeysOf(kShenzhenFields, {"grade_pd"})));
  CG_RETURN_IF_ERROR(ReadNumberFields(table, kShenzhenFields, out));
  CG_RETURN_IF_ERROR(
      table.ReadNumberMap("grade_pd", IsName, kNameForm, kProbability, &out->grade_pd));
  if (table.Has("grade_pd") && out->grade_pd.empty()) {
    return table.KeyError("grade_pd", "must give the PD of at least one grade");
  }
  return OkStatus();
}

Status ParseHongKong(const TableReader& root, HongKongScorecardParams* out) {
  CG_ASSIGN_OR_RETURN(const TableReader table,
                      root.ReadTable("hong_kong", KeysOf(kHongKongFields, {})));
  return ReadNumberFields(table, kHongKongFields, out);
}

Status ParsePerformance(const TableReader& root, PerformanceParams* out) {
  CG_ASSIGN_OR_RETURN(
      const TableReader table,
      root.ReadTable("performance",
                     KeysOf(kPerformanceFields, {"window_months", "min_records", "max_counted",
                                                 "defaulted_days_beyond_terms", "cny_per_unit"})));
  CG_RETURN_IF_ERROR(
      table.ReadInteger("window_months", kMinWindowMonths, kMaxWindowMonths, &out->window_months));
  CG_RETURN_IF_ERROR(
      table.ReadInteger("min_records", kMinRecords, kMaxMinRecords, &out->min_records));
  CG_RETURN_IF_ERROR(ReadNumberFields(table, kPerformanceFields, out));
  CG_RETURN_IF_ERROR(table.ReadInteger("max_counted", kMinCounted, kMaxCounted, &out->max_counted));
  CG_RETURN_IF_ERROR(table.ReadInteger("defaulted_days_beyond_terms", kMinDefaultedDays,
                                       kMaxDefaultedDays, &out->defaulted_days_beyond_terms));
  // An empty table is allowed: every currency then converts at unknown_currency_cny.
  return table.ReadNumberMap("cny_per_unit", IsCurrencyCode, kCurrencyForm, kPositive,
                             &out->cny_per_unit);
}

Status ParseEquity(const TableReader& root, EquityParams* out) {
  CG_ASSIGN_OR_RETURN(
      const TableReader table,
      root.ReadTable("equity", KeysOf(kEquityFields, {"free_layers", "max_layers_counted"})));
  CG_RETURN_IF_ERROR(ReadNumberFields(table, kEquityFields, out));
  CG_RETURN_IF_ERROR(table.ReadInteger("free_layers", 0, kMaxFreeLayers, &out->free_layers));
  CG_RETURN_IF_ERROR(table.ReadInteger("max_layers_counted", kMinLayersCounted, kMaxLayersCounted,
                                       &out->max_layers_counted));
  // Layers are counted up to max_layers_counted, the first free_layers free: a cap
  // under the free layers would silently switch EQ_LAYERS off.
  if (out->free_layers > out->max_layers_counted) {
    if (table.Has("free_layers")) {
      return table.KeyError("free_layers", "must be at most " + table.path() +
                                               ".max_layers_counted (" +
                                               std::to_string(out->max_layers_counted) + "), got " +
                                               std::to_string(out->free_layers));
    }
    return table.KeyError("max_layers_counted", "must be at least " + table.path() +
                                                    ".free_layers (" +
                                                    std::to_string(out->free_layers) + "), got " +
                                                    std::to_string(out->max_layers_counted));
  }
  return OkStatus();
}

Status ParseJoint(const TableReader& root, JointModelParams* out) {
  CG_ASSIGN_OR_RETURN(const TableReader table,
                      root.ReadTable("joint", KeysOf(kJointFields, {"max_reasons"})));
  CG_RETURN_IF_ERROR(ReadNumberFields(table, kJointFields, out));
  CG_RETURN_IF_ERROR(table.ReadInteger("max_reasons", kMinReasons, kMaxReasons, &out->max_reasons));
  if (!(out->min_pd < out->max_pd)) {
    if (table.Has("max_pd")) {
      return table.KeyError("max_pd", "must be greater than " + table.path() + ".min_pd (" +
                                          Number(out->min_pd) + "), got " + Number(out->max_pd));
    }
    return table.KeyError("min_pd", "must be less than " + table.path() + ".max_pd (" +
                                        Number(out->max_pd) + "), got " + Number(out->min_pd));
  }
  return OkStatus();
}

Status ParseRuleBody(const TableReader& table, BeneficialOwnerRule* out) {
  CG_RETURN_IF_ERROR(
      table.ReadNumber("threshold", Presence::kOptional, kOwnerThresholdRange, &out->threshold));
  CG_RETURN_IF_ERROR(table.ReadChoice<BeneficialOwnerRule::Comparison>(
      "comparison", kComparisonChoices, &out->comparison));
  return table.ReadChoice<BeneficialOwnerRule::ChainRule>("chain_rule", kChainRuleChoices,
                                                          &out->chain_rule);
}

Status ParseBeneficialOwnerRules(const TableReader& table,
                                 std::vector<JurisdictionBeneficialOwnerRule>* out) {
  CG_ASSIGN_OR_RETURN(const std::vector<TableReader> entries,
                      table.ReadArrayOfTables("beneficial_owner_rule", kRuleKeys));
  if (!table.Has("beneficial_owner_rule")) return OkStatus();
  if (entries.size() > kMaxBeneficialOwnerRules) {
    return table.KeyError("beneficial_owner_rule",
                          "must hold at most " + std::to_string(kMaxBeneficialOwnerRules) +
                              " rules, got " + std::to_string(entries.size()));
  }
  std::vector<JurisdictionBeneficialOwnerRule> rules;
  std::map<std::string, std::string, std::less<>> seen;  // jurisdiction -> path of its rule
  for (const TableReader& entry : entries) {
    JurisdictionBeneficialOwnerRule& rule = rules.emplace_back();
    CG_RETURN_IF_ERROR(entry.ReadString("jurisdiction", Presence::kRequired, &rule.jurisdiction));
    if (!IsJurisdictionPattern(rule.jurisdiction)) {
      return entry.KeyError("jurisdiction", "must be " + std::string(kJurisdictionForm) + ", got " +
                                                Quote(rule.jurisdiction));
    }
    auto [it, inserted] = seen.emplace(rule.jurisdiction, entry.path());
    if (!inserted) {
      return entry.KeyError("jurisdiction", Quote(rule.jurisdiction) + " already has a rule in " +
                                                it->second + "; give each jurisdiction one rule");
    }
    CG_RETURN_IF_ERROR(ParseRuleBody(entry, &rule.rule));
  }
  *out = std::move(rules);
  return OkStatus();
}

Status ParsePenetration(const TableReader& root, PenetrationParams* out) {
  CG_ASSIGN_OR_RETURN(
      const TableReader table,
      root.ReadTable(
          "penetration",
          KeysOf(kPenetrationFields,
                 {"max_ring_sweeps", "secrecy_jurisdictions", "mainland_jurisdictions",
                  "hong_kong_jurisdictions", "explain_max_chains", "explain_max_expansions",
                  "beneficial_owner_rule", "default_beneficial_owner_rule"})));
  CG_RETURN_IF_ERROR(ReadNumberFields(table, kPenetrationFields, out));
  CG_RETURN_IF_ERROR(
      table.ReadInteger("max_ring_sweeps", kMinRingSweeps, kMaxRingSweeps, &out->max_ring_sweeps));
  CG_RETURN_IF_ERROR(table.ReadInteger("explain_max_chains", kMinExplainChains, kMaxExplainChains,
                                       &out->explain_max_chains));
  CG_RETURN_IF_ERROR(table.ReadInteger("explain_max_expansions", kMinExplainExpansions,
                                       kMaxExplainExpansions, &out->explain_max_expansions));
  for (auto [key, list] : {std::pair{"secrecy_jurisdictions", &out->secrecy_jurisdictions},
                           std::pair{"mainland_jurisdictions", &out->mainland_jurisdictions},
                           std::pair{"hong_kong_jurisdictions", &out->hong_kong_jurisdictions}}) {
    CG_RETURN_IF_ERROR(table.ReadStringList(key, IsJurisdictionPattern, kJurisdictionForm, list));
  }
  CG_RETURN_IF_ERROR(ParseBeneficialOwnerRules(table, &out->beneficial_owner_rules));
  CG_ASSIGN_OR_RETURN(const TableReader default_rule,
                      table.ReadTable("default_beneficial_owner_rule", kDefaultRuleKeys));
  return ParseRuleBody(default_rule, &out->default_beneficial_owner_rule);
}

Status ParseTranslation(const TableReader& root, mapping::TranslationPolicy* out) {
  CG_ASSIGN_OR_RETURN(const TableReader table, root.ReadTable("translation", kTranslationKeys));
  std::string written;
  CG_RETURN_IF_ERROR(table.ReadString("policy", Presence::kOptional, &written));
  if (!table.Has("policy")) return OkStatus();
  StatusOr<mapping::TranslationPolicy> policy = mapping::ParseTranslationPolicy(written);
  if (!policy.ok()) {
    return table.KeyError(
        "policy",
        "must be one of \"conservative\", \"midpoint\", \"optimistic\"; got " + Quote(written));
  }
  *out = *policy;
  return OkStatus();
}

StatusOr<Scale> ParseScale(const TableReader& table) {
  std::string name;
  CG_RETURN_IF_ERROR(table.ReadString("name", Presence::kRequired, &name));
  if (!IsName(name)) {
    return table.KeyError("name", "must be " + std::string(kNameForm) + ", got " + Quote(name));
  }
  CG_ASSIGN_OR_RETURN(const std::vector<TableReader> grades,
                      table.ReadArrayOfTables("grade", kGradeKeys));
  std::vector<GradeBand> bands;
  for (const TableReader& grade : grades) {
    GradeBand& band = bands.emplace_back();
    CG_RETURN_IF_ERROR(grade.ReadString("name", Presence::kRequired, &band.grade));
    if (!IsName(band.grade)) {
      return grade.KeyError("name",
                            "must be " + std::string(kNameForm) + ", got " + Quote(band.grade));
    }
    CG_RETURN_IF_ERROR(grade.ReadNumber("pd_low", Presence::kRequired, kBandEdge, &band.pd_low));
    CG_RETURN_IF_ERROR(grade.ReadNumber("pd_high", Presence::kRequired, kBandEdge, &band.pd_high));
  }
  // Scale::Create checks the bands as a whole (count, distinct names, contiguity).
  StatusOr<Scale> scale = Scale::Create(std::move(name), std::move(bands));
  if (!scale.ok()) return table.TableError(scale.status().message());
  return scale;
}

Status ParseScales(const TableReader& root, std::vector<Scale>* out) {
  CG_ASSIGN_OR_RETURN(const std::vector<TableReader> entries,
                      root.ReadArrayOfTables("scale", kScaleKeys));
  if (!root.Has("scale")) return OkStatus();
  if (entries.empty()) return root.KeyError("scale", "must list at least one scale");
  if (entries.size() > kMaxScales) {
    return root.KeyError("scale", "must list at most " + std::to_string(kMaxScales) +
                                      " scales, got " + std::to_string(entries.size()));
  }
  std::vector<Scale> scales;
  for (size_t i = 0; i < entries.size(); ++i) {
    CG_ASSIGN_OR_RETURN(Scale scale, ParseScale(entries[i]));
    for (size_t j = 0; j < scales.size(); ++j) {
      if (scales[j].name() == scale.name()) {
        return entries[i].KeyError("name", Quote(scale.name()) + " is already the name of " +
                                               entries[j].path() + "; give each scale its own");
      }
    }
    scales.push_back(std::move(scale));
  }
  *out = std::move(scales);
  return OkStatus();
}

// What EquityPenetrator::Create would reject, so that a configuration the loader
// accepts can always penetrate.
Status CheckPenetrationParams(const PenetrationParams& params) {
  CG_ASSIGN_OR_RETURN(const mapping::EquityGraph empty_graph,
                      mapping::EquityGraphBuilder().Build());
  return mapping::EquityPenetrator::Create(empty_graph, params).status();
}

StatusOr<ModelConfig> ParseDocument(const Source& source, const toml::table& document) {
  CG_ASSIGN_OR_RETURN(const TableReader root, TableReader::Open(&source, &document, "", kRootKeys));
  ModelConfig config = DefaultModelConfig();
  CG_RETURN_IF_ERROR(ParseShenzhen(root, &config.joint.shenzhen));
  CG_RETURN_IF_ERROR(ParseHongKong(root, &config.joint.hong_kong));
  CG_RETURN_IF_ERROR(ParsePerformance(root, &config.joint.performance));
  CG_RETURN_IF_ERROR(ParseEquity(root, &config.joint.equity));
  CG_RETURN_IF_ERROR(ParseJoint(root, &config.joint));
  CG_RETURN_IF_ERROR(ParsePenetration(root, &config.penetration));
  CG_RETURN_IF_ERROR(ParseTranslation(root, &config.translation));
  CG_RETURN_IF_ERROR(ParseScales(root, &config.scales));
  // The checks above cover the mapping modules' own; these keep it so if they grow.
  const Status joint_valid = mapping::ValidateParams(config.joint);
  if (!joint_valid.ok()) {
    return InvalidArgumentError(std::string(source.name) + ": " + joint_valid.message());
  }
  const Status penetration_valid = CheckPenetrationParams(config.penetration);
  if (!penetration_valid.ok()) {
    return InvalidArgumentError(std::string(source.name) +
                                ": penetration: " + penetration_valid.message());
  }
  return config;
}

}  // namespace

ModelConfig DefaultModelConfig() {
  ModelConfig config;
  config.scales = {mapping::ShenzhenSixLevelScale(), mapping::HongKongBureauScale()};
  return config;
}

StatusOr<ModelConfig> LoadModelConfig(const std::string& path) {
  auto text = ReadFileLimited(path, kMaxConfigFileBytes);
  if (!text.ok()) return text.status().WithContext("model configuration");
  return ParseModelConfig(*text, path);
}

StatusOr<ModelConfig> ParseModelConfig(std::string_view toml_text, std::string_view source_name) {
  toml::table document;
  try {
    document = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& error) {
    return InvalidArgumentError(Position(source_name, error.source()) +
                                ": not valid TOML: " + std::string(error.description()));
  }
  const Source source{source_name};
  return ParseDocument(source, document);
}

}  // namespace cg::config
