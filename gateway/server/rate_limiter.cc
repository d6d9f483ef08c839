#include "gateway/server/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace cg::gateway::server {

ClientRateLimiter::ClientRateLimiter(double rate_per_second, double burst)
    : rate_(rate_per_second), burst_(std::max(burst, 1.0)) {}

ClientRateLimiter::Decision ClientRateLimiter::Admit(std::string_view client,
                                                     Clock::time_point now) {
  if (rate_ <= 0) return {};
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(std::string(client));
  if (it == buckets_.end()) {
    if (buckets_.size() >= sweep_at_) ForgetFullBuckets(now);
    it = buckets_.emplace(std::string(client), Bucket{burst_, now}).first;
  }
  Bucket& bucket = it->second;
  if (now > bucket.updated) {
    const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
    bucket.tokens = std::min(burst_, bucket.tokens + elapsed * rate_);
    bucket.updated = now;
  }
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return {};
  }
  const double wait = (1 - bucket.tokens) / rate_;
  return {.admitted = false, .retry_after_seconds = std::max(1L, std::lround(std::ceil(wait)))};
}

void ClientRateLimiter::ForgetFullBuckets(Clock::time_point now) {
  const auto refill = std::chrono::duration<double>(burst_ / rate_);
  std::erase_if(buckets_, [&](const auto& entry) { return now - entry.second.updated >= refill; });
  // Sweeping again only after the map doubles keeps the cost amortised O(1).
  sweep_at_ = std::max<size_t>(1024, 2 * buckets_.size());
}

size_t ClientRateLimiter::tracked_clients() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace cg::gateway::server
