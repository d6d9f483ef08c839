#include "gateway/replay_guard.h"

#include "crypto/digest.h"

namespace cg::gateway {

ReplayGuard::ReplayGuard(std::chrono::seconds window, std::function<Clock::time_point()> now)
    : window_(window), now_(std::move(now)) {}

Status ReplayGuard::Check(std::string_view client, std::string_view nonce,
                          Clock::time_point requested_at) {
  if (nonce.empty()) return InvalidArgumentError("nonce: a peer's request must carry a nonce");
  if (nonce.size() > kMaxGuardedNonceLength) {
    return InvalidArgumentError("nonce: longer than " + std::to_string(kMaxGuardedNonceLength) +
                                " characters");
  }
  if (requested_at == Clock::time_point{}) {
    return InvalidArgumentError("requested_at: a peer's request must say when it was made");
  }
  const Clock::time_point now = now_();
  if (requested_at < now - window_ || requested_at > now + window_) {
    return OutOfRangeError("requested_at: " + FormatRfc3339(requested_at) +
                           " is outside this node's timestamp window of " +
                           std::to_string(window_.count()) + " s around " + FormatRfc3339(now));
  }
  // A digest of who and which nonce: small and of one size, whatever the input.
  std::string key = crypto::Sha256(std::string(client) + '\n' + std::string(nonce));
  std::lock_guard lock(mu_);
  while (!expiry_.empty() && expiry_.front().first <= now) {
    seen_.erase(expiry_.front().second);
    expiry_.pop_front();
  }
  if (seen_.contains(key)) {
    return AlreadyExistsError(
        "nonce: already used by this peer within the timestamp window "
        "(a replayed request)");
  }
  if (seen_.size() >= kMaxRememberedNonces) {
    return ResourceExhaustedError("too many peer requests within the timestamp window");
  }
  seen_.insert(key);
  expiry_.emplace_back(now + 2 * window_, std::move(key));
  return OkStatus();
}

}  // namespace cg::gateway
