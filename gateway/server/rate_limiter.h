// Per-client request rate limiting: one token bucket per client key (a certificate
// fingerprint or an IP address). Time is passed in, so tests drive it with a fake
// clock.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cg::gateway::server {

class ClientRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // `rate_per_second` tokens are added per second up to `burst`; a new client
  // starts with a full bucket. A rate <= 0 disables limiting (every request is
  // admitted).
  ClientRateLimiter(double rate_per_second, double burst);

  struct Decision {
    bool admitted = true;
    // When not admitted: whole seconds until a token is available (>= 1), for
    // the Retry-After header.
    long retry_after_seconds = 0;
  };

  // Takes one token from `client`'s bucket at time `now`. Thread-safe. Buckets that
  // have refilled completely are forgotten from time to time, so memory follows the
  // number of recently active clients.
  Decision Admit(std::string_view client, Clock::time_point now);

  // Clients currently tracked (for tests).
  size_t tracked_clients() const;

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };
  void ForgetFullBuckets(Clock::time_point now);

  const double rate_;
  const double burst_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  size_t sweep_at_ = 1024;  // sweep when buckets_ grows past this
};

}  // namespace cg::gateway::server
