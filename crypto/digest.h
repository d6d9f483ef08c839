// SHA-256 digests (libsodium). Used for key ids, payload digests in recognitions,
// evidence digests and parameter digests.
#pragma once

#include <string>
#include <string_view>

namespace cg::crypto {

inline constexpr size_t kSha256Bytes = 32;

// The 32-byte SHA-256 of `bytes`.
std::string Sha256(std::string_view bytes);

// Incremental SHA-256 for digests over many records. Not thread-safe.
class Sha256Hasher {
 public:
  Sha256Hasher();
  void Update(std::string_view bytes);
  // The digest of everything updated so far; the hasher must not be used after.
  std::string Finish();

 private:
  alignas(64) unsigned char state_[128];
};

}  // namespace cg::crypto
