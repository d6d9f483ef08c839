#include "crypto/digest.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace cg::crypto {
namespace {

// SHA-256 through OpenSSL: it uses the CPU's SHA instructions where there are any,
// three to four times libsodium's portable code for the batch's many short records
// (libsodium has no accelerated SHA-256). Fetched once.
const EVP_MD* Sha256Md() {
  static EVP_MD* md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) std::abort();  // OpenSSL without its default provider
    return fetched;
  }();
  return md;
}

void Check(int ok) {
  if (ok != 1) std::abort();  // only on memory exhaustion: no digest is better than a wrong one
}

}  // namespace

std::string Sha256(std::string_view bytes) {
  std::string out(kSha256Bytes, '\0');
  Check(EVP_Digest(bytes.data(), bytes.size(), reinterpret_cast<unsigned char*>(out.data()),
                   nullptr, Sha256Md(), nullptr));
  return out;
}

Sha256Hasher::Sha256Hasher() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) std::abort();
  Check(EVP_DigestInit_ex2(ctx_, Sha256Md(), nullptr));
}

Sha256Hasher::~Sha256Hasher() { EVP_MD_CTX_free(ctx_); }

void Sha256Hasher::Update(std::string_view bytes) {
  Check(EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()));
}

std::string Sha256Hasher::Finish() {
  std::string out(kSha256Bytes, '\0');
  unsigned int size = 0;
  Check(EVP_DigestFinal_ex(ctx_, reinterpret_cast<unsigned char*>(out.data()), &size));
  return out;
}

}  // namespace cg::crypto
