// Ed25519 (RFC 8032) signing keys and signature verification, over libsodium.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "specs/status.h"

namespace cg::crypto {

inline constexpr size_t kEd25519PublicKeyBytes = 32;
inline constexpr size_t kEd25519SeedBytes = 32;
inline constexpr size_t kEd25519SignatureBytes = 64;

// The key id of a public key: lower-case hex of the first 16 bytes of
// SHA-256(public_key), 32 characters. Stable, and computable by anyone.
std::string KeyIdOf(std::string_view public_key);

// An Ed25519 private key. Move-only; the secret is wiped when it is destroyed.
class SigningKey {
 public:
  // A fresh key from the system's CSPRNG.
  static SigningKey Generate();
  // The key whose RFC 8032 private key (seed) is these 32 bytes.
  static StatusOr<SigningKey> FromSeed(std::string_view seed);

  SigningKey(SigningKey&& other) noexcept;
  SigningKey& operator=(SigningKey&& other) noexcept;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  ~SigningKey();

  // The 64-byte signature of `message`. Thread-safe.
  std::string Sign(std::string_view message) const;

  const std::string& public_key() const { return public_key_; }
  const std::string& key_id() const { return key_id_; }
  // The 32-byte seed, for sealing into a key file. Handle with care.
  std::string_view seed() const;

 private:
  SigningKey();
  std::array<unsigned char, 64> secret_{};  // libsodium's seed || public key
  std::string public_key_;
  std::string key_id_;
};

// True only when `signature` is a valid Ed25519 signature of `message` by
// `public_key`. Wrong sizes are simply invalid.
[[nodiscard]] bool VerifyEd25519(std::string_view public_key, std::string_view message,
                                 std::string_view signature);

}  // namespace cg::crypto
