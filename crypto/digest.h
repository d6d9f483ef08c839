// SHA-256 digests (OpenSSL). Used for key ids, payload digests in recognitions,
// evidence digests and parameter digests.
#pragma once

#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace cg::crypto {

inline constexpr size_t kSha256Bytes = 32;

// The 32-byte SHA-256 of `bytes`.
std::string Sha256(std::string_view bytes);

// Incremental SHA-256 for digests over many records. Not thread-safe.
class Sha256Hasher {
 public:
  Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  ~Sha256Hasher();
  void Update(std::string_view bytes);
  // The digest of everything updated so far; the hasher must not be used after.
  std::string Finish();

 private:
  evp_md_ctx_st* ctx_;  // OpenSSL's EVP_MD_CTX
};

}  // namespace cg::crypto
