#include "gateway/rendered_cache.h"

#include <gtest/gtest.h>

#include <string>

#include "specs/status.h"

namespace cg::gateway {
namespace {

TEST(RenderedCacheTest, AnswersOnlyAtTheGenerationItWasRenderedAt) {
  RenderedCache cache(1 << 20);
  EXPECT_FALSE(cache.Find("a", 1));
  cache.Put("a", 1, "json at 1");
  EXPECT_EQ(cache.Find("a", 1), "json at 1");
  EXPECT_FALSE(cache.Find("a", 2));  // the store has changed since
  EXPECT_FALSE(cache.Find("b", 1));
  cache.Put("a", 2, "json at 2");  // replaces
  EXPECT_FALSE(cache.Find("a", 1));
  EXPECT_EQ(cache.Find("a", 2), "json at 2");
  const size_t one = cache.bytes();
  EXPECT_GE(one, std::string("a").size() + 9);  // the strings and some overhead
  cache.Put("a", 3, "json at 3");
  EXPECT_EQ(cache.bytes(), one);  // replaced, not added
}

TEST(RenderedCacheTest, StaysWithinItsBudget) {
  const std::string rendered(1000, 'r');
  RenderedCache probe(1 << 20);
  probe.Put("k1", 1, rendered);
  const size_t entry = probe.bytes();  // what one entry counts for
  RenderedCache cache(2 * entry + entry / 2);
  cache.Put("big", 1, std::string(3 * entry, 'r'));  // over the budget alone
  EXPECT_FALSE(cache.Find("big", 1));
  EXPECT_EQ(cache.bytes(), 0u);
  cache.Put("k1", 1, rendered);
  cache.Put("k2", 1, rendered);
  EXPECT_TRUE(cache.Find("k1", 1));
  cache.Put("k3", 1, rendered);  // over: starts over
  EXPECT_FALSE(cache.Find("k1", 1));
  EXPECT_FALSE(cache.Find("k2", 1));
  EXPECT_TRUE(cache.Find("k3", 1));
  EXPECT_EQ(cache.bytes(), entry);
  for (int i = 0; i < 1000; ++i) {
    cache.Put("k" + std::to_string(i % 10), 1, rendered);
    ASSERT_LE(cache.bytes(), 2 * entry + entry / 2);
  }
}

TEST(RecheckedGenerationTest, ReadsAgainOnlyWhenDue) {
  using std::chrono::milliseconds;
  RecheckedGeneration generation(milliseconds(10));
  const RecheckedGeneration::SteadyClock::time_point t0{std::chrono::hours(1)};
  int reads = 0;
  StatusOr<uint64_t> stored = uint64_t{7};
  auto read = [&] {
    ++reads;
    return stored;
  };
  EXPECT_EQ(generation.Get(read, t0), 7u);                    // the first call reads
  stored = uint64_t{8};                                       // a commit
  EXPECT_EQ(generation.Get(read, t0 + milliseconds(9)), 7u);  // not due: may lag
  EXPECT_EQ(reads, 1);
  EXPECT_EQ(generation.Get(read, t0 + milliseconds(10)), 8u);  // due
  EXPECT_EQ(reads, 2);
  EXPECT_EQ(generation.Get(read, t0 + milliseconds(15)), 8u);
  EXPECT_EQ(reads, 2);
  // A failed read leaves no generation known, and the next call reads again.
  stored = UnavailableError("store down");
  EXPECT_FALSE(generation.Get(read, t0 + milliseconds(20)));
  EXPECT_FALSE(generation.Get(read, t0 + milliseconds(21)));
  EXPECT_EQ(reads, 4);
  stored = uint64_t{9};
  EXPECT_EQ(generation.Get(read, t0 + milliseconds(22)), 9u);
  EXPECT_EQ(reads, 5);
}

// Two reads can overlap (one waits for a store connection longer than the recheck):
// the one that ends last must not put an older generation back.
TEST(RecheckedGenerationTest, NeverGoesBack) {
  using std::chrono::milliseconds;
  RecheckedGeneration generation(milliseconds(10));
  const RecheckedGeneration::SteadyClock::time_point t0{std::chrono::hours(1)};
  auto read_newer = [] { return StatusOr<uint64_t>(uint64_t{9}); };
  auto slow_read = [&] {
    // Another caller, due 20 ms later, reads and publishes a newer generation while
    // this read is still on its way.
    EXPECT_EQ(generation.Get(read_newer, t0 + milliseconds(20)), 9u);
    return StatusOr<uint64_t>(uint64_t{8});
  };
  EXPECT_EQ(generation.Get(slow_read, t0), 9u);
  EXPECT_EQ(generation.Get(read_newer, t0 + milliseconds(21)), 9u);
}

}  // namespace
}  // namespace cg::gateway
