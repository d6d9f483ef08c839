// Replay protection for peer requests (specs/peer-protocol.md §3): a peer's request
// carries a nonce and the time it was made; the home node refuses one dated outside
// its timestamp window, and one whose nonce the same peer already used within it.
// A nonce is remembered for twice the window (a request older than that is refused
// for its date anyway). Thread-safe.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include "specs/status.h"
#include "specs/timestamps.h"

namespace cg::gateway {

// The most nonces remembered at once; beyond it requests are refused (kResourceExhausted)
// until old ones expire, rather than forgetting nonces still inside the window.
inline constexpr size_t kMaxRememberedNonces = 1'000'000;
// The longest nonce accepted (the service's own limit, NodeService kMaxNonceLength).
inline constexpr size_t kMaxGuardedNonceLength = 128;

class ReplayGuard {
 public:
  explicit ReplayGuard(
      std::chrono::seconds window,
      std::function<Clock::time_point()> now = [] { return Clock::now(); });

  // kInvalidArgument when the nonce is empty or longer than kMaxGuardedNonceLength,
  // or `requested_at` is unset (the epoch); kOutOfRange when `requested_at` is
  // outside now ± window; kAlreadyExists when `client` used `nonce` before within
  // the window (a replay); kResourceExhausted when too many nonces are remembered.
  Status Check(std::string_view client, std::string_view nonce, Clock::time_point requested_at);

  std::chrono::seconds window() const { return window_; }

 private:
  const std::chrono::seconds window_;
  const std::function<Clock::time_point()> now_;
  std::mutex mu_;
  std::unordered_set<std::string> seen_;  // SHA-256 of client + '\n' + nonce
  std::deque<std::pair<Clock::time_point, std::string>> expiry_;  // oldest first
};

}  // namespace cg::gateway
