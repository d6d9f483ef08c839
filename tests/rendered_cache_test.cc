#include "gateway/rendered_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace cg::gateway {
namespace {

TEST(RenderedCacheTest, AnswersOnlyForTheBytesItWasRenderedFrom) {
  RenderedCache cache(1 << 20);
  EXPECT_FALSE(cache.Find("a", "v1"));
  cache.Put("a", "v1", "json of v1");
  EXPECT_EQ(cache.Find("a", "v1"), "json of v1");
  EXPECT_FALSE(cache.Find("a", "v2"));  // the store holds other bytes now
  EXPECT_FALSE(cache.Find("b", "v1"));
  cache.Put("a", "v2", "json of v2");  // replaces
  EXPECT_FALSE(cache.Find("a", "v1"));
  EXPECT_EQ(cache.Find("a", "v2"), "json of v2");
  EXPECT_EQ(cache.bytes(), std::string("a").size() + 2 + 10);
}

TEST(RenderedCacheTest, StaysWithinItsBudget) {
  RenderedCache cache(100);
  cache.Put("big", std::string(60, 's'), std::string(60, 'r'));  // over the budget alone
  EXPECT_FALSE(cache.Find("big", std::string(60, 's')));
  EXPECT_EQ(cache.bytes(), 0u);
  cache.Put("k1", std::string(20, 's'), std::string(20, 'r'));  // 42 bytes
  cache.Put("k2", std::string(20, 's'), std::string(20, 'r'));  // 84
  EXPECT_TRUE(cache.Find("k1", std::string(20, 's')));
  cache.Put("k3", std::string(20, 's'), std::string(20, 'r'));  // would be 126: starts over
  EXPECT_FALSE(cache.Find("k1", std::string(20, 's')));
  EXPECT_FALSE(cache.Find("k2", std::string(20, 's')));
  EXPECT_TRUE(cache.Find("k3", std::string(20, 's')));
  EXPECT_EQ(cache.bytes(), 42u);
  for (int i = 0; i < 1000; ++i) {
    cache.Put("k" + std::to_string(i), std::string(20, 's'), std::string(20, 'r'));
    ASSERT_LE(cache.bytes(), 100u);
  }
}

}  // namespace
}  // namespace cg::gateway
