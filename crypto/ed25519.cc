#include "crypto/ed25519.h"

#include <sodium.h>

#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "crypto/sodium.h"

namespace cg::crypto {

static_assert(crypto_sign_PUBLICKEYBYTES == kEd25519PublicKeyBytes);
static_assert(crypto_sign_SEEDBYTES == kEd25519SeedBytes);
static_assert(crypto_sign_BYTES == kEd25519SignatureBytes);
static_assert(crypto_sign_SECRETKEYBYTES == 64);

std::string KeyIdOf(std::string_view public_key) {
  return HexEncode(Sha256(public_key).substr(0, 16));
}

SigningKey::SigningKey() { EnsureSodium(); }

SigningKey SigningKey::Generate() {
  SigningKey key;
  std::string pk(kEd25519PublicKeyBytes, '\0');
  crypto_sign_keypair(reinterpret_cast<unsigned char*>(pk.data()), key.secret_.data());
  key.public_key_ = std::move(pk);
  key.key_id_ = KeyIdOf(key.public_key_);
  return key;
}

StatusOr<SigningKey> SigningKey::FromSeed(std::string_view seed) {
  if (seed.size() != kEd25519SeedBytes) {
    return InvalidArgumentError("an Ed25519 seed is 32 bytes, got " + std::to_string(seed.size()));
  }
  SigningKey key;
  std::string pk(kEd25519PublicKeyBytes, '\0');
  crypto_sign_seed_keypair(reinterpret_cast<unsigned char*>(pk.data()), key.secret_.data(),
                           reinterpret_cast<const unsigned char*>(seed.data()));
  key.public_key_ = std::move(pk);
  key.key_id_ = KeyIdOf(key.public_key_);
  return key;
}

SigningKey::SigningKey(SigningKey&& other) noexcept
    : secret_(other.secret_),
      public_key_(std::move(other.public_key_)),
      key_id_(std::move(other.key_id_)) {
  sodium_memzero(other.secret_.data(), other.secret_.size());
}

SigningKey& SigningKey::operator=(SigningKey&& other) noexcept {
  if (this != &other) {
    secret_ = other.secret_;
    public_key_ = std::move(other.public_key_);
    key_id_ = std::move(other.key_id_);
    sodium_memzero(other.secret_.data(), other.secret_.size());
  }
  return *this;
}

SigningKey::~SigningKey() { sodium_memzero(secret_.data(), secret_.size()); }

std::string SigningKey::Sign(std::string_view message) const {
  std::string sig(kEd25519SignatureBytes, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       secret_.data());
  return sig;
}

std::string_view SigningKey::seed() const {
  return {reinterpret_cast<const char*>(secret_.data()), kEd25519SeedBytes};
}

bool VerifyEd25519(std::string_view public_key, std::string_view message,
                   std::string_view signature) {
  EnsureSodium();
  if (public_key.size() != kEd25519PublicKeyBytes || signature.size() != kEd25519SignatureBytes) {
    return false;
  }
  return crypto_sign_verify_detached(
             reinterpret_cast<const unsigned char*>(signature.data()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(),
             reinterpret_cast<const unsigned char*>(public_key.data())) == 0;
}

}  // namespace cg::crypto
