#include "mapping/scale.h"

#include <gtest/gtest.h>

#include <random>

namespace cg::mapping {
namespace {

TEST(ScaleTest, ShippedScalesAreValid) {
  Scale sz = ShenzhenSixLevelScale();
  EXPECT_EQ(sz.name(), "sz-six-level");
  ASSERT_EQ(sz.size(), 6u);
  EXPECT_EQ(sz.bands().front().grade, "A+");
  EXPECT_EQ(sz.bands().back().grade, "E");
  EXPECT_EQ(HongKongBureauScale().size(), 10u);
}

TEST(ScaleTest, GradeForPd) {
  Scale sz = ShenzhenSixLevelScale();
  EXPECT_EQ(sz.GradeForPd(0.0), "A+");
  EXPECT_EQ(sz.GradeForPd(0.0004999), "A+");
  EXPECT_EQ(sz.GradeForPd(0.0005), "A");  // bands are [low, high)
  EXPECT_EQ(sz.GradeForPd(0.05), "D");
  EXPECT_EQ(sz.GradeForPd(0.10), "E");
  EXPECT_EQ(sz.GradeForPd(1.0), "E");
  EXPECT_EQ(sz.GradeForPd(-1.0), "A+");
  EXPECT_EQ(sz.GradeForPd(std::nan("")), "E");
  EXPECT_EQ(*sz.IndexOf("C"), 3u);
  EXPECT_EQ(sz.IndexOf("Z").status().code(), StatusCode::kNotFound);
}

TEST(ScaleTest, RejectsMalformedScales) {
  auto expect_bad = [](std::vector<GradeBand> bands, const std::string& says) {
    auto s = Scale::Create("test", std::move(bands));
    ASSERT_FALSE(s.ok()) << says;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.status().message().find(says), std::string::npos) << s.status().message();
  };
  expect_bad({{"A", 0, 1}}, "2 to 64 grades");
  expect_bad({{"A", 0.01, 0.5}, {"B", 0.5, 1}}, "must start at PD 0");
  expect_bad({{"A", 0, 0.4}, {"B", 0.5, 1}}, "'B' must start at PD 0.4");
  expect_bad({{"A", 0, 0.5}, {"B", 0.5, 0.9}}, "end at PD 1");
  expect_bad({{"A", 0, 0.5}, {"A", 0.5, 1}}, "appears twice");
  expect_bad({{"A", 0, 0.5}, {"B", 0.5, 0.5}, {"C", 0.5, 1}}, "empty or reversed");
  expect_bad({{"", 0, 0.5}, {"B", 0.5, 1}}, "has no name");
  EXPECT_EQ(Scale::Create("", {{"A", 0, 0.5}, {"B", 0.5, 1}}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ScaleTranslatorTest, ConservativeMapsStraddlingBandToTheWorse) {
  // sz "B" is [0.2%, 0.8%): it straddles hk D [0.25%, 0.5%) and E [0.5%, 1%) and C.
  ScaleTranslator sz_to_hk(ShenzhenSixLevelScale(), HongKongBureauScale());
  EXPECT_EQ(*sz_to_hk.Translate("B"), "E");
  EXPECT_EQ(*sz_to_hk.Translate("A+"), "B");  // [0, 0.05%) reaches into hk B
  EXPECT_EQ(*sz_to_hk.Translate("E"), "J");
  ScaleTranslator optimistic(ShenzhenSixLevelScale(), HongKongBureauScale(),
                             TranslationPolicy::kOptimistic);
  EXPECT_EQ(*optimistic.Translate("B"), "C");
  EXPECT_EQ(sz_to_hk.Translate("Q").status().code(), StatusCode::kNotFound);
}

TEST(ScaleTranslatorTest, IdentityOnTheSameScale) {
  for (auto policy : {TranslationPolicy::kConservative, TranslationPolicy::kMidpoint,
                      TranslationPolicy::kOptimistic}) {
    ScaleTranslator same(ShenzhenSixLevelScale(), ShenzhenSixLevelScale(), policy);
    for (size_t i = 0; i < same.table().size(); ++i) EXPECT_EQ(same.table()[i], i);
  }
}

// A random valid scale: n grades with random increasing cut points in (0, 1).
Scale RandomScale(std::mt19937_64& rng, const std::string& name) {
  std::uniform_int_distribution<int> count(2, 12);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const int n = count(rng);
  std::vector<double> cuts;
  for (int i = 0; i < n - 1; ++i) cuts.push_back(std::pow(unit(rng), 3));  // dense near 0
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::vector<GradeBand> bands;
  double low = 0;
  for (double c : cuts) {
    if (c <= low) continue;
    bands.push_back({"g" + std::to_string(bands.size()), low, c});
    low = c;
  }
  bands.push_back({"g" + std::to_string(bands.size()), low, 1.0});
  if (bands.size() < 2) bands = {{"g0", 0, 0.5}, {"g1", 0.5, 1}};
  return *Scale::Create(name, std::move(bands));
}

// Property: translation is monotonic, and the conservative policy never maps to a
// better grade than any PD of the source band would get on the target scale.
TEST(ScaleTranslatorTest, PropertyMonotonicAndConservative) {
  std::mt19937_64 rng(20261126);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int round = 0; round < 500; ++round) {
    Scale from = RandomScale(rng, "from");
    Scale to = RandomScale(rng, "to");
    for (auto policy : {TranslationPolicy::kConservative, TranslationPolicy::kMidpoint,
                        TranslationPolicy::kOptimistic}) {
      ScaleTranslator t(from, to, policy);
      for (size_t i = 1; i < t.table().size(); ++i) {
        ASSERT_LE(t.table()[i - 1], t.table()[i]) << "not monotonic, round " << round;
      }
    }
    ScaleTranslator conservative(from, to);
    for (size_t i = 0; i < from.size(); ++i) {
      const GradeBand& band = from.bands()[i];
      for (int k = 0; k < 20; ++k) {
        const double pd = band.pd_low + unit(rng) * (band.pd_high - band.pd_low);
        if (pd >= band.pd_high) continue;
        ASSERT_GE(conservative.table()[i], to.IndexForPd(pd))
            << "grade " << band.grade << " at PD " << pd << " maps better than it should";
      }
      // And it is the tightest such grade: the band's worst PD lands in it.
      ASSERT_EQ(conservative.table()[i],
                to.IndexForPd(band.pd_high >= 1 ? 1 : std::nextafter(band.pd_high, 0.0)));
    }
  }
}

TEST(ScaleTranslatorTest, CanonicalTextNamesPolicyScalesAndTable) {
  ScaleTranslator t(ShenzhenSixLevelScale(), HongKongBureauScale());
  const std::string text = t.CanonicalText();
  EXPECT_EQ(text.rfind("translation conservative\nscale sz-six-level\n", 0), 0u);
  EXPECT_NE(text.find("B -> E\n"), std::string::npos);
  EXPECT_NE(text.find("scale hk-bureau\n"), std::string::npos);
}

}  // namespace
}  // namespace cg::mapping
