#include "crypto/digest.h"

#include <sodium.h>

#include "crypto/sodium.h"

namespace cg::crypto {

static_assert(sizeof(crypto_hash_sha256_state) <= 128, "state_ buffer too small");

std::string Sha256(std::string_view bytes) {
  EnsureSodium();
  std::string out(kSha256Bytes, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()),
                     reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return out;
}

Sha256Hasher::Sha256Hasher() {
  EnsureSodium();
  crypto_hash_sha256_init(reinterpret_cast<crypto_hash_sha256_state*>(state_));
}

void Sha256Hasher::Update(std::string_view bytes) {
  crypto_hash_sha256_update(reinterpret_cast<crypto_hash_sha256_state*>(state_),
                            reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

std::string Sha256Hasher::Finish() {
  std::string out(kSha256Bytes, '\0');
  crypto_hash_sha256_final(reinterpret_cast<crypto_hash_sha256_state*>(state_),
                           reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

}  // namespace cg::crypto
