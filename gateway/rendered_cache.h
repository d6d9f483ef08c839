// Responses rendered from stored bytes, kept for the next request of the same key:
// the API keeps the JSON of recent evaluation lookups here, because rendering an
// evaluation as JSON (protobuf's JSON printer) was a quarter of a lookup's CPU.
//
// An entry is used only when the store still holds the very bytes it was rendered
// from (the caller reads them first, as it must anyway), so the cache can never
// answer with an evaluation that has since been replaced. Memory is bounded: when an
// entry would take the total over the budget, everything is dropped and the cache
// fills again with what is asked for next. Thread-safe.
#pragma once

#include <cstddef>
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

  // What was rendered for `key` from exactly `source`, if it is kept.
  std::optional<std::string> Find(std::string_view key, std::string_view source) const {
    std::lock_guard lock(mu_);
    const auto it = entries_.find(key);
    if (it == entries_.end() || it->second.source != source) return std::nullopt;
    return it->second.rendered;
  }

  // Keeps `rendered` as what `source` renders to for `key`, in place of any earlier.
  void Put(std::string key, std::string source, std::string rendered) {
    const size_t size = SizeOf(key, source, rendered);
    if (size > max_bytes_) return;
    Map dropped;  // freed after the lock is let go
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(key); it != entries_.end()) {
      bytes_ -= SizeOf(it->first, it->second.source, it->second.rendered);
      entries_.erase(it);
    }
    if (bytes_ + size > max_bytes_) {
      dropped.swap(entries_);
      bytes_ = 0;
    }
    bytes_ += size;
    entries_.emplace(std::move(key), Entry{std::move(source), std::move(rendered)});
  }

  size_t bytes() const {
    std::lock_guard lock(mu_);
    return bytes_;
  }

 private:
  struct Entry {
    std::string source;
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
  static size_t SizeOf(std::string_view key, std::string_view source, std::string_view rendered) {
    return key.size() + source.size() + rendered.size() + kEntryOverhead;
  }

  const size_t max_bytes_;
  mutable std::mutex mu_;
  Map entries_;
  size_t bytes_ = 0;
};

}  // namespace cg::gateway
