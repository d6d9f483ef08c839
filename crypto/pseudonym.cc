#include "crypto/pseudonym.h"

#include <sodium.h>
#include <sys/stat.h>

#include "crypto/encoding.h"
#include "crypto/sodium.h"
#include "specs/file_io.h"

namespace cg::crypto {
namespace {

constexpr std::string_view kPrefix = "person:ps1-";
constexpr std::string_view kDomain = "cg-person-pseudonym-v1";
constexpr size_t kDigestBytes = 16;

}  // namespace

Pseudonymizer::Pseudonymizer(std::string_view key) : key_(key) {}

Pseudonymizer::~Pseudonymizer() { sodium_memzero(key_.data(), key_.size()); }

StatusOr<Pseudonymizer> Pseudonymizer::FromKey(std::string_view key) {
  EnsureSodium();
  if (key.size() != kPseudonymKeyBytes) {
    return InvalidArgumentError("a pseudonymisation key is 32 bytes, got " +
                                std::to_string(key.size()));
  }
  return Pseudonymizer(key);
}

StatusOr<Pseudonymizer> Pseudonymizer::FromKeyFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRWXO | S_IWGRP)) != 0) {
    return PermissionDeniedError("pseudonymisation key file " + path +
                                 " is accessible by other users; run: chmod 600 " + path);
  }
  auto text = ReadFileLimited(path, 256);
  if (!text.ok()) return text.status().WithContext("pseudonymisation key file");
  std::string_view hex = *text;
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.remove_suffix(1);
  auto key = HexDecode(hex);
  if (!key.ok() || key->size() != kPseudonymKeyBytes) {
    return InvalidArgumentError("pseudonymisation key file " + path +
                                " must hold 64 hex characters");
  }
  return FromKey(*key);
}

std::string Pseudonymizer::NewKeyFileContents() {
  EnsureSodium();
  std::string key(kPseudonymKeyBytes, '\0');
  randombytes_buf(key.data(), key.size());
  std::string out = HexEncode(key) + "\n";
  sodium_memzero(key.data(), key.size());
  return out;
}

StatusOr<std::string> Pseudonymizer::Pseudonymize(std::string_view raw_id) const {
  if (raw_id.starts_with("person:")) raw_id.remove_prefix(7);
  std::string normal;
  normal.reserve(raw_id.size());
  for (char c : raw_id) {
    if (c == ' ' || c == '\t' || c == '-' || c == '(' || c == ')' || c == '\r' || c == '\n')
      continue;
    normal += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  if (normal.empty()) return InvalidArgumentError("natural-person id is empty");
  crypto_generichash_state state;
  crypto_generichash_init(&state, reinterpret_cast<const unsigned char*>(key_.data()), key_.size(),
                          kDigestBytes);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(kDomain.data()),
                            kDomain.size());
  const unsigned char separator = 0;
  crypto_generichash_update(&state, &separator, 1);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(normal.data()),
                            normal.size());
  std::string digest(kDigestBytes, '\0');
  crypto_generichash_final(&state, reinterpret_cast<unsigned char*>(digest.data()), digest.size());
  sodium_memzero(normal.data(), normal.size());
  return std::string(kPrefix) + HexEncode(digest);
}

bool Pseudonymizer::IsPseudonym(std::string_view id) {
  if (!id.starts_with(kPrefix) || id.size() != kPrefix.size() + 2 * kDigestBytes) return false;
  for (char c : id.substr(kPrefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace cg::crypto
