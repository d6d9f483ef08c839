// Responses rendered from stored data, kept for the next request of the same key:
// the API keeps the JSON of recent evaluation lookups here, because rendering an
// evaluation as JSON (protobuf's JSON printer) was a quarter of a lookup's CPU, and
// reading it from the store to check it had not changed was most of the rest.
//
// Each entry carries the generation of the data it was rendered from
// (Store::EvaluationsGeneration) and is used only while that is still the
// generation a caller knows: a commit that changes the data moves the generation on
// and every entry of the old one is stale. RecheckedGeneration keeps the generation
// known without a read of the store per request. Memory is bounded: when an entry
// would take the total over the budget, everything is dropped and the cache fills
// again with what is asked for next. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cg::gateway {

class RenderedCache {
 public:
  explicit RenderedCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  // What was rendered for `key` at `generation`, if it is kept.
  std::optional<std::string> Find(std::string_view key, uint64_t generation) const {
    std::lock_guard lock(mu_);
    const auto it = entries_.find(key);
    if (it == entries_.end() || it->second.generation != generation) return std::nullopt;
    return it->second.rendered;
  }

  // Keeps `rendered` as what `key` renders to at `generation`, in place of any earlier.
  void Put(std::string key, uint64_t generation, std::string rendered) {
    const size_t size = SizeOf(key, rendered);
    if (size > max_bytes_) return;
    Map dropped;  // freed after the lock is let go
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(key); it != entries_.end()) {
      bytes_ -= SizeOf(it->first, it->second.rendered);
      entries_.erase(it);
    }
    if (bytes_ + size > max_bytes_) {
      dropped.swap(entries_);
      bytes_ = 0;
    }
    bytes_ += size;
    entries_.emplace(std::move(key), Entry{generation, std::move(rendered)});
  }

  size_t bytes() const {
    std::lock_guard lock(mu_);
    return bytes_;
  }

 private:
  struct Entry {
    uint64_t generation;
    std::string rendered;
  };
  // Finds by string_view without making a string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, Entry, Hash, std::equal_to<>>;
  // The strings and, roughly, the map's own node and bucket for the entry.
  static constexpr size_t kEntryOverhead = 128;
  static size_t SizeOf(std::string_view key, std::string_view rendered) {
    return key.size() + rendered.size() + kEntryOverhead;
  }

  const size_t max_bytes_;
  mutable std::mutex mu_;
  Map entries_;
  size_t bytes_ = 0;
};

// A generation read again at most every `recheck`: Get answers from memory in
// between, so it may lag a commit by up to `recheck` (plus one read). Thread-safe;
// one caller at a time reads, the others go on with the generation already known.
class RecheckedGeneration {
 public:
  using SteadyClock = std::chrono::steady_clock;

  explicit RecheckedGeneration(std::chrono::nanoseconds recheck) : recheck_(recheck.count()) {}

  // The generation; `read()` (returning a StatusOr<uint64_t>) when it is due. Nothing
  // when no generation is known (the last read failed).
  template <typename Read>
  std::optional<uint64_t> Get(Read read, SteadyClock::time_point now = SteadyClock::now()) {
    const int64_t at = now.time_since_epoch().count();
    int64_t checked = checked_at_.load(std::memory_order_acquire);
    if (at - checked >= recheck_ &&
        checked_at_.compare_exchange_strong(checked, at, std::memory_order_acq_rel)) {
      auto fresh = read();
      if (fresh.ok()) {
        // Generations only grow: a read that started before another but ends after it
        // must not put the older number back (reads can overlap when one waits for a
        // store connection longer than `recheck`).
        uint64_t known = known_.load(std::memory_order_relaxed);
        while (*fresh > known &&
               !known_.compare_exchange_weak(known, *fresh, std::memory_order_relaxed)) {
        }
        valid_.store(true, std::memory_order_release);
      } else {
        valid_.store(false, std::memory_order_release);
        checked_at_.store(kNever, std::memory_order_release);  // read again next time
      }
    }
    if (!valid_.load(std::memory_order_acquire)) return std::nullopt;
    return known_.load(std::memory_order_relaxed);
  }

 private:
  static constexpr int64_t kNever = INT64_MIN / 2;
  const int64_t recheck_;
  std::atomic<int64_t> checked_at_{kNever};
  std::atomic<uint64_t> known_{0};
  std::atomic<bool> valid_{false};
};

}  // namespace cg::gateway
