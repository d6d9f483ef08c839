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
  const size_t one = cache.bytes();
  EXPECT_GE(one, std::string("a").size() + 2 + 10);  // the strings and some overhead
  cache.Put("a", "v3", "json of v3");
  EXPECT_EQ(cache.bytes(), one);  // replaced, not added
}

TEST(RenderedCacheTest, StaysWithinItsBudget) {
  const std::string source(1000, 's'), rendered(1000, 'r');
  RenderedCache probe(1 << 20);
  probe.Put("k1", source, rendered);
  const size_t entry = probe.bytes();  // what one entry counts for
  RenderedCache cache(2 * entry + entry / 2);
  cache.Put("big", std::string(3 * entry, 's'), rendered);  // over the budget alone
  EXPECT_FALSE(cache.Find("big", std::string(3 * entry, 's')));
  EXPECT_EQ(cache.bytes(), 0u);
  cache.Put("k1", source, rendered);
  cache.Put("k2", source, rendered);
  EXPECT_TRUE(cache.Find("k1", source));
  cache.Put("k3", source, rendered);  // over: starts over
  EXPECT_FALSE(cache.Find("k1", source));
  EXPECT_FALSE(cache.Find("k2", source));
  EXPECT_TRUE(cache.Find("k3", source));
  EXPECT_EQ(cache.bytes(), entry);
  for (int i = 0; i < 1000; ++i) {
    cache.Put("k" + std::to_string(i % 10), source, rendered);
    ASSERT_LE(cache.bytes(), 2 * entry + entry / 2);
  }
}

}  // namespace
}  // namespace cg::gateway
