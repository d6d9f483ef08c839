#include "config/model_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace cg::config {
namespace {

using mapping::BeneficialOwnerRule;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kExamplePath[] = CG_SOURCE_DIR "/config/examples/model.toml";

StatusOr<ModelConfig> Parse(const std::string& text) {
  return ParseModelConfig(text, "model.toml");
}

// "model.toml:<line>:<column>: " of the first occurrence of `needle` in `text`.
std::string At(const std::string& text, const std::string& needle) {
  const size_t at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  if (at == std::string::npos) return "";
  const size_t newline = text.rfind('\n', at);
  const size_t line_start = newline == std::string::npos ? 0 : newline + 1;
  const auto line =
      1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n');
  return "model.toml:" + std::to_string(line) + ":" + std::to_string(at - line_start + 1) + ": ";
}

// Checks the code, and that the message is one line holding `expected`.
void ExpectError(const StatusOr<ModelConfig>& result, StatusCode code,
                 const std::string& expected) {
  ASSERT_FALSE(result.ok()) << "expected an error holding: " << expected;
  EXPECT_EQ(result.status().code(), code) << result.status().ToString();
  EXPECT_THAT(result.status().message(), HasSubstr(expected));
  EXPECT_THAT(result.status().message(), Not(HasSubstr("\n")));
}

// Parses `text` and expects kInvalidArgument whose message starts with the position
// of `needle` and goes on with `expected` ("dotted.key: reason").
void ExpectErrorAt(const std::string& text, const std::string& needle,
                   const std::string& expected) {
  SCOPED_TRACE(text);
  const StatusOr<ModelConfig> result = Parse(text);
  ExpectError(result, StatusCode::kInvalidArgument, expected);
  if (!result.ok()) {
    EXPECT_THAT(result.status().message(), StartsWith(At(text, needle) + expected));
  }
}

// CanonicalParams as key -> value.
std::map<std::string, std::string> CanonicalLines(const mapping::JointModelParams& params) {
  std::map<std::string, std::string> lines;
  std::istringstream text(mapping::CanonicalParams(params));
  std::string line;
  while (std::getline(text, line)) {
    const size_t space = line.find(' ');
    lines[line.substr(0, space)] = line.substr(space + 1);
  }
  return lines;
}

// The canonical keys whose values differ between the two.
std::set<std::string> ChangedKeys(const mapping::JointModelParams& before,
                                  const mapping::JointModelParams& after) {
  const auto a = CanonicalLines(before);
  const auto b = CanonicalLines(after);
  std::set<std::string> changed;
  for (const auto& [key, value] : a) {
    auto it = b.find(key);
    if (it == b.end() || it->second != value) changed.insert(key);
  }
  for (const auto& [key, value] : b) {
    if (!a.contains(key)) changed.insert(key);
  }
  return changed;
}

void ExpectSameRule(const BeneficialOwnerRule& actual, const BeneficialOwnerRule& expected) {
  EXPECT_EQ(actual.threshold, expected.threshold);
  EXPECT_EQ(actual.comparison, expected.comparison);
  EXPECT_EQ(actual.chain_rule, expected.chain_rule);
}

void ExpectSamePenetration(const mapping::PenetrationParams& actual,
                           const mapping::PenetrationParams& expected) {
  EXPECT_EQ(actual.epsilon, expected.epsilon);
  EXPECT_EQ(actual.max_ring_sweeps, expected.max_ring_sweeps);
  EXPECT_EQ(actual.control_threshold, expected.control_threshold);
  ASSERT_EQ(actual.beneficial_owner_rules.size(), expected.beneficial_owner_rules.size());
  for (size_t i = 0; i < actual.beneficial_owner_rules.size(); ++i) {
    SCOPED_TRACE("beneficial_owner_rules[" + std::to_string(i) + "]");
    EXPECT_EQ(actual.beneficial_owner_rules[i].jurisdiction,
              expected.beneficial_owner_rules[i].jurisdiction);
    ExpectSameRule(actual.beneficial_owner_rules[i].rule, expected.beneficial_owner_rules[i].rule);
  }
  ExpectSameRule(actual.default_beneficial_owner_rule, expected.default_beneficial_owner_rule);
  EXPECT_EQ(actual.secrecy_jurisdictions, expected.secrecy_jurisdictions);
  EXPECT_EQ(actual.mainland_jurisdictions, expected.mainland_jurisdictions);
  EXPECT_EQ(actual.hong_kong_jurisdictions, expected.hong_kong_jurisdictions);
  EXPECT_EQ(actual.opacity_min_share, expected.opacity_min_share);
  EXPECT_EQ(actual.explain_max_chains, expected.explain_max_chains);
  EXPECT_EQ(actual.explain_max_expansions, expected.explain_max_expansions);
}

void ExpectSameScales(const std::vector<mapping::Scale>& actual,
                      const std::vector<mapping::Scale>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].CanonicalText(), expected[i].CanonicalText());
  }
}

void ExpectSameConfig(const ModelConfig& actual, const ModelConfig& expected) {
  EXPECT_TRUE(mapping::CanonicalParams(actual.joint) == mapping::CanonicalParams(expected.joint))
      << "parameters that differ: "
      << ::testing::PrintToString(ChangedKeys(expected.joint, actual.joint));
  ExpectSamePenetration(actual.penetration, expected.penetration);
  ExpectSameScales(actual.scales, expected.scales);
  EXPECT_EQ(actual.translation, expected.translation);
}

std::string ReadExample() {
  std::ifstream in(kExamplePath);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// --- The shipped example ---

TEST(ModelConfigExampleTest, ExampleEqualsTheDefaults) {
  const StatusOr<ModelConfig> config = LoadModelConfig(kExamplePath);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ExpectSameConfig(*config, DefaultModelConfig());
}

// Equal values alone would not catch a parameter the example forgets: it would keep
// its default. So every parameter must also be written in it.
TEST(ModelConfigExampleTest, ExampleWritesEveryParameter) {
  const std::string example = ReadExample();
  ASSERT_FALSE(example.empty()) << kExamplePath;
  auto written = [&example](const std::string& key) {
    return example.find("\n" + key + " = ") != std::string::npos ||
           example.find("\n\"" + key + "\" = ") != std::string::npos;
  };
  for (const auto& [path, value] : CanonicalLines(DefaultModelConfig().joint)) {
    if (path == "model") continue;
    EXPECT_TRUE(written(path.substr(path.rfind('.') + 1))) << path;
  }
  for (const char* key :
       {"epsilon", "max_ring_sweeps", "control_threshold", "secrecy_jurisdictions",
        "mainland_jurisdictions", "hong_kong_jurisdictions", "opacity_min_share",
        "explain_max_chains", "explain_max_expansions", "jurisdiction", "threshold", "comparison",
        "chain_rule", "policy"}) {
    EXPECT_TRUE(written(key)) << key;
  }
  for (const char* header :
       {"[shenzhen]", "[shenzhen.grade_pd]", "[hong_kong]", "[performance]",
        "[performance.cny_per_unit]", "[equity]", "[joint]", "[penetration]",
        "[[penetration.beneficial_owner_rule]]", "[penetration.default_beneficial_owner_rule]",
        "[translation]", "[[scale]]", "[[scale.grade]]"}) {
    EXPECT_THAT(example, HasSubstr("\n" + std::string(header) + "\n"));
  }
}

// --- Defaults and overrides ---

TEST(ModelConfigTest, DefaultsAreTheDefaultStructsAndShippedScales) {
  const ModelConfig defaults = DefaultModelConfig();
  EXPECT_EQ(mapping::CanonicalParams(defaults.joint),
            mapping::CanonicalParams(mapping::JointModelParams{}));
  ExpectSamePenetration(defaults.penetration, mapping::PenetrationParams{});
  ExpectSameScales(defaults.scales,
                   {mapping::ShenzhenSixLevelScale(), mapping::HongKongBureauScale()});
  EXPECT_EQ(defaults.translation, mapping::TranslationPolicy::kConservative);
}

TEST(ModelConfigTest, EmptyFileGivesTheDefaults) {
  for (const char* text :
       {"", "# nothing but a comment\n",
        "[shenzhen]\n[hong_kong]\n[performance]\n[equity]\n[joint]\n[penetration]\n"
        "[penetration.default_beneficial_owner_rule]\n[translation]\n"}) {
    SCOPED_TRACE(text);
    const StatusOr<ModelConfig> config = Parse(text);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    ExpectSameConfig(*config, DefaultModelConfig());
  }
}

TEST(ModelConfigTest, OverridesChangeExactlyThoseValues) {
  const StatusOr<ModelConfig> config = Parse(R"(
[shenzhen]
shell_risk = 0.7
[hong_kong]
dpd_90_plus = -45
[performance]
window_months = 12
dispute_weight = 0
[equity]
ring = 1
max_layers_counted = 8
[joint]
max_pd = 0.999
max_reasons = 6
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_THAT(ChangedKeys(DefaultModelConfig().joint, config->joint),
              ElementsAre("equity.max_layers_counted", "equity.ring", "hong_kong.dpd_90_plus",
                          "max_pd", "max_reasons", "performance.dispute_weight",
                          "performance.window_months", "shenzhen.shell_risk"));
  EXPECT_EQ(config->joint.shenzhen.shell_risk, 0.7);
  EXPECT_EQ(config->joint.hong_kong.dpd_90_plus, -45.0);
  EXPECT_EQ(config->joint.performance.window_months, 12);
  EXPECT_EQ(config->joint.performance.dispute_weight, 0.0);
  EXPECT_EQ(config->joint.equity.ring, 1.0);  // a TOML integer where a number goes
  EXPECT_EQ(config->joint.equity.max_layers_counted, 8u);
  EXPECT_EQ(config->joint.max_pd, 0.999);
  EXPECT_EQ(config->joint.max_reasons, 6u);
  // The rest of the configuration is untouched.
  ExpectSamePenetration(config->penetration, mapping::PenetrationParams{});
  ExpectSameScales(config->scales, DefaultModelConfig().scales);
  EXPECT_EQ(config->translation, mapping::TranslationPolicy::kConservative);
}

TEST(ModelConfigTest, GradePdTableReplacesTheDefaults) {
  const StatusOr<ModelConfig> config = Parse(R"(
[shenzhen.grade_pd]
"A" = 0.001
B = 0.01
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const std::map<std::string, double, std::less<>> expected = {{"A", 0.001}, {"B", 0.01}};
  EXPECT_EQ(config->joint.shenzhen.grade_pd, expected);
  EXPECT_EQ(config->joint.shenzhen.serious_dishonesty,
            mapping::ShenzhenNativeParams{}.serious_dishonesty);
}

TEST(ModelConfigTest, CnyPerUnitTableReplacesTheDefaults) {
  StatusOr<ModelConfig> config = Parse("[performance.cny_per_unit]\nGBP = 9.1\nCNY = 1\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const std::map<std::string, double, std::less<>> expected = {{"CNY", 1.0}, {"GBP", 9.1}};
  EXPECT_EQ(config->joint.performance.cny_per_unit, expected);

  // Empty: every currency converts at unknown_currency_cny.
  config = Parse("[performance]\nunknown_currency_cny = 2\ncny_per_unit = {}\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->joint.performance.cny_per_unit.empty());
  EXPECT_EQ(config->joint.performance.unknown_currency_cny, 2.0);
}

TEST(ModelConfigTest, PenetrationOverrides) {
  const StatusOr<ModelConfig> config = Parse(R"(
[penetration]
epsilon = 1e-6
max_ring_sweeps = 50
control_threshold = 0.6
secrecy_jurisdictions = ["KY", "VG"]
mainland_jurisdictions = ["CN", "MO"]
hong_kong_jurisdictions = []
opacity_min_share = 0.01
explain_max_chains = 3
explain_max_expansions = 2000
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  mapping::PenetrationParams expected;
  expected.epsilon = 1e-6;
  expected.max_ring_sweeps = 50;
  expected.control_threshold = 0.6;
  expected.secrecy_jurisdictions = {"KY", "VG"};
  expected.mainland_jurisdictions = {"CN", "MO"};
  expected.hong_kong_jurisdictions = {};
  expected.opacity_min_share = 0.01;
  expected.explain_max_chains = 3;
  expected.explain_max_expansions = 2000;
  ExpectSamePenetration(config->penetration, expected);
  EXPECT_EQ(mapping::CanonicalParams(config->joint),
            mapping::CanonicalParams(DefaultModelConfig().joint));
}

TEST(ModelConfigTest, BeneficialOwnerRulesReplaceTheDefaults) {
  const StatusOr<ModelConfig> config = Parse(R"(
[[penetration.beneficial_owner_rule]]
jurisdiction = "SG"
threshold = 0.1
comparison = "more_than"

[[penetration.beneficial_owner_rule]]
jurisdiction = "CN-SZ"
chain_rule = "majority_attribution"

[penetration.default_beneficial_owner_rule]
threshold = 0.2
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const auto& rules = config->penetration.beneficial_owner_rules;
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].jurisdiction, "SG");
  ExpectSameRule(rules[0].rule, {0.1, BeneficialOwnerRule::Comparison::kMoreThan,
                                 BeneficialOwnerRule::ChainRule::kMultiplicative});
  // Keys left out of a rule take BeneficialOwnerRule's defaults.
  EXPECT_EQ(rules[1].jurisdiction, "CN-SZ");
  ExpectSameRule(rules[1].rule, {0.25, BeneficialOwnerRule::Comparison::kAtLeast,
                                 BeneficialOwnerRule::ChainRule::kMajorityAttribution});
  ExpectSameRule(config->penetration.default_beneficial_owner_rule,
                 {0.2, BeneficialOwnerRule::Comparison::kAtLeast,
                  BeneficialOwnerRule::ChainRule::kMultiplicative});
}

TEST(ModelConfigTest, EmptyRuleArrayLeavesOnlyTheDefaultRule) {
  const StatusOr<ModelConfig> config = Parse("[penetration]\nbeneficial_owner_rule = []\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->penetration.beneficial_owner_rules.empty());
}

TEST(ModelConfigTest, ScalesReplaceTheShippedOnes) {
  const StatusOr<ModelConfig> config = Parse(R"(
[[scale]]
name = "two-grade"
[[scale.grade]]
name = "good"
pd_low = 0
pd_high = 0.05
[[scale.grade]]
name = "bad"
pd_low = 0.05
pd_high = 1

[[scale]]
name = "sz-six-level"
grade = [
  {name = "A+", pd_low = 0.0, pd_high = 0.0005},
  {name = "A", pd_low = 0.0005, pd_high = 0.002},
  {name = "B", pd_low = 0.002, pd_high = 0.008},
  {name = "C", pd_low = 0.008, pd_high = 0.03},
  {name = "D", pd_low = 0.03, pd_high = 0.1},
  {name = "E", pd_low = 0.1, pd_high = 1.0},
]
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const StatusOr<mapping::Scale> two_grade =
      mapping::Scale::Create("two-grade", {{"good", 0, 0.05}, {"bad", 0.05, 1}});
  ASSERT_TRUE(two_grade.ok());
  ExpectSameScales(config->scales, {*two_grade, mapping::ShenzhenSixLevelScale()});
}

TEST(ModelConfigTest, TranslationPolicies) {
  for (auto [name, policy] : {std::pair{"conservative", mapping::TranslationPolicy::kConservative},
                              std::pair{"midpoint", mapping::TranslationPolicy::kMidpoint},
                              std::pair{"optimistic", mapping::TranslationPolicy::kOptimistic}}) {
    const StatusOr<ModelConfig> config =
        Parse("[translation]\npolicy = \"" + std::string(name) + "\"\n");
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    EXPECT_EQ(config->translation, policy) << name;
  }
}

// --- Errors ---

TEST(ModelConfigTest, SyntaxErrorGivesTheLine) {
  ExpectError(Parse("[joint]\nmax_pd = = 0.5\n"), StatusCode::kInvalidArgument, "model.toml:2:");
  ExpectError(Parse("[joint]\nmax_pd = = 0.5\n"), StatusCode::kInvalidArgument, "not valid TOML");
}

TEST(ModelConfigTest, UnknownKeyInEachTable) {
  struct Case {
    std::string text;
    std::string needle;
    std::string path;
  };
  const Case cases[] = {
      {"modle = 1\n", "modle", "modle"},
      {"[shenzhen]\nshell = 0.6\n", "shell", "shenzhen.shell"},
      {"[hong_kong]\ndpd_zero = 20\n", "dpd_zero", "hong_kong.dpd_zero"},
      {"[performance]\nwindows_months = 12\n", "windows_months", "performance.windows_months"},
      {"[equity]\nrings = 0.2\n", "rings", "equity.rings"},
      {"[joint]\nmin_PD = 0.001\n", "min_PD", "joint.min_PD"},
      {"[penetration]\nepsilon_ = 1e-9\n", "epsilon_", "penetration.epsilon_"},
      {"[[penetration.beneficial_owner_rule]]\njurisdiction = \"CN\"\ntreshold = 0.25\n",
       "treshold", "penetration.beneficial_owner_rule[0].treshold"},
      // A jurisdiction makes no sense for the rule of every other jurisdiction.
      {"[penetration.default_beneficial_owner_rule]\njurisdiction = \"CN\"\n",
       "jurisdiction =", "penetration.default_beneficial_owner_rule.jurisdiction"},
      {"[translation]\npolicies = \"midpoint\"\n", "policies", "translation.policies"},
      {"[[scale]]\nname = \"x\"\nlabel = \"y\"\n", "label", "scale[0].label"},
      {"[[scale]]\nname = \"x\"\n[[scale.grade]]\nname = \"a\"\npd_low = 0\npd_hi = 1\n", "pd_hi",
       "scale[0].grade[0].pd_hi"},
  };
  for (const Case& c : cases) ExpectErrorAt(c.text, c.needle, c.path + ": unknown key");
}

TEST(ModelConfigTest, UnknownKeyNamesTheAllowedKeys) {
  ExpectError(Parse("[translation]\npolicies = \"midpoint\"\n"), StatusCode::kInvalidArgument,
              "translation.policies: unknown key (allowed here: policy)");
  ExpectError(Parse("[joint]\nmin_PD = 0.001\n"), StatusCode::kInvalidArgument,
              "unknown key (allowed here: unknown_native_pd, reference_pd, min_pd, max_pd, "
              "score_base_points, score_base_odds, score_points_to_double_odds, max_reasons)");
}

TEST(ModelConfigTest, ReportsTheFirstUnknownKeyInFileOrder) {
  ExpectErrorAt("[equity]\nzeta = 1\nalpha = 2\n", "zeta", "equity.zeta: unknown key");
}

TEST(ModelConfigTest, WrongType) {
  ExpectErrorAt("[performance]\nwindow_months = 24.0\n", "window_months",
                "performance.window_months: must be an integer, got a floating-point number");
  ExpectErrorAt("[joint]\nmax_reasons = true\n", "max_reasons",
                "joint.max_reasons: must be an integer, got a boolean");
  ExpectErrorAt("[joint]\nreference_pd = \"0.02\"\n", "reference_pd",
                "joint.reference_pd: must be a number, got a string");
  ExpectErrorAt("[shenzhen.grade_pd]\nA = \"low\"\n",
                "A =", "shenzhen.grade_pd.A: must be a number, got a string");
  ExpectErrorAt("[shenzhen]\ngrade_pd = 0.1\n", "grade_pd",
                "shenzhen.grade_pd: must be a table ([shenzhen.grade_pd]), got a "
                "floating-point number");
  ExpectErrorAt("joint = 1\n", "joint", "joint: must be a table ([joint]), got an integer");
  ExpectErrorAt("[penetration]\nsecrecy_jurisdictions = \"VG\"\n", "secrecy_jurisdictions",
                "penetration.secrecy_jurisdictions: must be an array of strings, got a string");
  ExpectErrorAt("[penetration]\nsecrecy_jurisdictions = [\"VG\", 1]\n", "1]",
                "penetration.secrecy_jurisdictions[1]: must be a string, got an integer");
  ExpectErrorAt("[translation]\npolicy = 1\n", "policy",
                "translation.policy: must be a string, got an integer");
  ExpectErrorAt("[scale]\nname = \"x\"\n", "scale]",
                "scale: must be an array of tables ([[scale]]), got a table");
}

TEST(ModelConfigTest, OutOfRange) {
  ExpectErrorAt("[joint]\nmin_pd = 0.5\nmax_pd = 0.4\n", "max_pd",
                "joint.max_pd: must be greater than joint.min_pd (0.5), got 0.4");
  ExpectErrorAt("[joint]\nmin_pd = 0.99995\n", "min_pd",
                "joint.min_pd: must be less than joint.max_pd (0.9999), got 0.99995");
  ExpectErrorAt("[joint]\nmax_pd = 1\n", "max_pd", "joint.max_pd: must be in (0, 1), got 1");
  ExpectErrorAt("[joint]\nmax_reasons = 17\n", "max_reasons",
                "joint.max_reasons: must be between 1 and 16, got 17");
  ExpectErrorAt("[joint]\nscore_base_odds = 0\n", "score_base_odds",
                "joint.score_base_odds: must be > 0, got 0");
  ExpectErrorAt("[performance]\ndefault_weight = -0.6\n", "default_weight",
                "performance.default_weight: must be >= 0, got -0.6");
  ExpectErrorAt("[shenzhen]\nserious_dishonesty = -1\n", "serious_dishonesty",
                "shenzhen.serious_dishonesty: must be >= 0, got -1");
  ExpectErrorAt("[equity]\nparent_weight = -0.5\n", "parent_weight",
                "equity.parent_weight: must be >= 0, got -0.5");
  ExpectErrorAt("[performance]\nwindow_months = 0\n", "window_months",
                "performance.window_months: must be between 1 and 120, got 0");
  ExpectErrorAt("[performance]\nmin_records = -1\n", "min_records",
                "performance.min_records: must be between 1 and 1000000, got -1");
  ExpectErrorAt("[performance]\nreference_on_time_rate = nan\n", "reference_on_time_rate",
                "performance.reference_on_time_rate: must be in [0, 1], got nan");
  ExpectErrorAt("[hong_kong]\nbase_points = inf\n", "base_points",
                "hong_kong.base_points: must be a finite number, got inf");
  ExpectErrorAt("[shenzhen.grade_pd]\nA = 1.5\n",
                "A =", "shenzhen.grade_pd.A: must be in (0, 1), got 1.5");
  ExpectErrorAt("[shenzhen]\ngrade_pd = {}\n", "grade_pd",
                "shenzhen.grade_pd: must give the PD of at least one grade");
  ExpectErrorAt("[performance.cny_per_unit]\nHKD = 0\n", "HKD",
                "performance.cny_per_unit.HKD: must be > 0, got 0");
  ExpectErrorAt("[equity]\nfree_layers = 6\n", "free_layers",
                "equity.free_layers: must be at most equity.max_layers_counted (5), got 6");
  ExpectErrorAt("[penetration]\nepsilon = 0.1\n", "epsilon",
                "penetration.epsilon: must be in (0, 0.01], got 0.1");
  ExpectErrorAt("[penetration]\ncontrol_threshold = 0.4\n", "control_threshold",
                "penetration.control_threshold: must be in [0.5, 1), got 0.4");
  ExpectErrorAt("[penetration]\nmax_ring_sweeps = 5000000000\n", "max_ring_sweeps",
                "penetration.max_ring_sweeps: must be between 1 and 1000000, got 5000000000");
  ExpectErrorAt("[[penetration.beneficial_owner_rule]]\njurisdiction = \"CN\"\nthreshold = 0\n",
                "threshold",
                "penetration.beneficial_owner_rule[0].threshold: must be in (0, 1], got 0");
}

TEST(ModelConfigTest, NamesMustHaveTheirForm) {
  ExpectErrorAt("[shenzhen.grade_pd]\n\"A B\" = 0.01\n", "\"A B\"",
                "shenzhen.grade_pd.A B: the name must be 1 to 64 printable ASCII characters "
                "without spaces, got \"A B\"");
  ExpectErrorAt("[performance.cny_per_unit]\nhkd = 0.92\n", "hkd",
                "performance.cny_per_unit.hkd: the name must be an ISO 4217 code");
  ExpectErrorAt("[penetration]\nsecrecy_jurisdictions = [\"vg\"]\n", "\"vg\"",
                "penetration.secrecy_jurisdictions[0]: must be an ISO 3166 code such as HK, VG "
                "or CN-SZ, got \"vg\"");
  ExpectErrorAt("[penetration]\nmainland_jurisdictions = [\"CN\", \"CN\"]\n", "\"CN\"]",
                "penetration.mainland_jurisdictions[1]: \"CN\" is already in the list");
}

TEST(ModelConfigTest, BeneficialOwnerRuleErrors) {
  ExpectError(Parse("[[penetration.beneficial_owner_rule]]\nthreshold = 0.1\n"),
              StatusCode::kInvalidArgument,
              "penetration.beneficial_owner_rule[0].jurisdiction: required key is missing");
  ExpectErrorAt("[[penetration.beneficial_owner_rule]]\njurisdiction = \"China\"\n", "jurisdiction",
                "penetration.beneficial_owner_rule[0].jurisdiction: must be an "
                "ISO 3166 code");
  const std::string twice =
      "[[penetration.beneficial_owner_rule]]\njurisdiction = \"HK\"\n"
      "[[penetration.beneficial_owner_rule]]\nthreshold = 0.3\njurisdiction = \"HK\"  # again\n";
  ExpectErrorAt(twice, "jurisdiction = \"HK\"  # again",
                "penetration.beneficial_owner_rule[1].jurisdiction: \"HK\" already has a rule in "
                "penetration.beneficial_owner_rule[0]");
}

TEST(ModelConfigTest, BadComparisonOrChainRule) {
  ExpectErrorAt(
      "[[penetration.beneficial_owner_rule]]\njurisdiction = \"HK\"\n"
      "comparison = \"greater_than\"\n",
      "comparison",
      "penetration.beneficial_owner_rule[0].comparison: must be one of \"at_least\", "
      "\"more_than\"; got \"greater_than\"");
  ExpectErrorAt("[penetration.default_beneficial_owner_rule]\nchain_rule = \"majority\"\n",
                "chain_rule",
                "penetration.default_beneficial_owner_rule.chain_rule: must be one of "
                "\"multiplicative\", \"majority_attribution\"; got \"majority\"");
}

TEST(ModelConfigTest, BadPolicy) {
  ExpectErrorAt("[translation]\npolicy = \"fast\"\n", "policy",
                "translation.policy: must be one of \"conservative\", \"midpoint\", "
                "\"optimistic\"; got \"fast\"");
}

// Two good grades either side of a gap: Scale::Create's error, at the scale's table.
TEST(ModelConfigTest, BadScaleNamesTheScale) {
  const std::string text = R"([[scale]]
name = "fine"
grade = [{name = "good", pd_low = 0, pd_high = 0.5}, {name = "bad", pd_low = 0.5, pd_high = 1}]

[[scale]]
name = "gappy"
[[scale.grade]]
name = "good"
pd_low = 0
pd_high = 0.1
[[scale.grade]]
name = "bad"
pd_low = 0.2
pd_high = 1
)";
  const StatusOr<ModelConfig> result = Parse(text);
  ExpectError(result, StatusCode::kInvalidArgument,
              "scale[1]: scale 'gappy': grade 'bad' must start at PD 0.1");
  EXPECT_THAT(result.status().message(), StartsWith("model.toml:5:"));
}

TEST(ModelConfigTest, ScaleErrors) {
  ExpectError(
      Parse("[[scale]]\nname = \"one\"\ngrade = [{name = \"all\", pd_low = 0, pd_high = 1}]\n"),
      StatusCode::kInvalidArgument, "scale[0]: scale 'one' must have 2 to 64 grades, has 1");
  ExpectError(Parse("[[scale]]\nname = \"none\"\n"), StatusCode::kInvalidArgument,
              "scale[0]: scale 'none' must have 2 to 64 grades, has 0");
  ExpectError(Parse("[[scale]]\ngrade = []\n"), StatusCode::kInvalidArgument,
              "scale[0].name: required key is missing");
  ExpectError(Parse("[[scale]]\nname = \"x\"\n[[scale.grade]]\nname = \"a\"\npd_low = 0\n"),
              StatusCode::kInvalidArgument, "scale[0].grade[0].pd_high: required key is missing");
  ExpectErrorAt("[[scale]]\nname = \"x\"\n[[scale.grade]]\nname = \"a\"\npd_low = -0.1\n", "pd_low",
                "scale[0].grade[0].pd_low: must be in [0, 1], got -0.1");
  ExpectErrorAt("[[scale]]\nname = \"sz six\"\n", "name",
                "scale[0].name: must be 1 to 64 printable ASCII characters without spaces");
  ExpectErrorAt("scale = []\n", "scale", "scale: must list at least one scale");
  const std::string twice = R"([[scale]]
name = "same"
grade = [{name = "a", pd_low = 0, pd_high = 0.5}, {name = "b", pd_low = 0.5, pd_high = 1}]
[[scale]]
grade = [{name = "a", pd_low = 0, pd_high = 0.5}, {name = "b", pd_low = 0.5, pd_high = 1}]
name = "same"  # again
)";
  ExpectErrorAt(twice, "name = \"same\"  # again",
                "scale[1].name: \"same\" is already the name of scale[0]");
}

// --- Files ---

class ModelConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/model_config_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = std::filesystem::path(pattern).lexically_normal();
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string Write(const std::string& name, const std::string& text) {
    const std::filesystem::path path = dir_ / name;
    std::ofstream out(path);
    out << text;
    EXPECT_TRUE(out.flush()) << path;
    return path.string();
  }

  std::filesystem::path dir_;
};

TEST_F(ModelConfigFileTest, MissingFileIsNotFound) {
  const std::string path = (dir_ / "absent.toml").string();
  ExpectError(LoadModelConfig(path), StatusCode::kNotFound, path);
}

TEST_F(ModelConfigFileTest, DirectoryIsInvalidArgument) {
  ExpectError(LoadModelConfig(dir_.string()), StatusCode::kInvalidArgument, dir_.string());
}

TEST_F(ModelConfigFileTest, LoadsAFileAndErrorsNameIt) {
  const std::string good = Write("good.toml", "[joint]\nmax_reasons = 5\n");
  const StatusOr<ModelConfig> config = LoadModelConfig(good);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->joint.max_reasons, 5u);

  const std::string bad = Write("bad.toml", "[joint]\nmax_reasons = 0\n");
  const StatusOr<ModelConfig> result = LoadModelConfig(bad);
  ExpectError(result, StatusCode::kInvalidArgument, "max_reasons");
  EXPECT_THAT(result.status().message(),
              StartsWith(bad + ":2:1: joint.max_reasons: must be between 1 and 16, got 0"));
}

}  // namespace
}  // namespace cg::config
