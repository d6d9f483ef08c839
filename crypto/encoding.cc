#include "crypto/encoding.h"

#include <sodium.h>

#include "crypto/sodium.h"

namespace cg::crypto {

std::string HexEncode(std::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                 bytes.size());
  out.pop_back();
  return out;
}

StatusOr<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return InvalidArgumentError("hex string has an odd length");
  std::string out(hex.size() / 2, '\0');
  size_t written = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), hex.data(),
                     hex.size(), nullptr, &written, &end) != 0 ||
      end != hex.data() + hex.size()) {
    return InvalidArgumentError("not a hex string");
  }
  out.resize(written);
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  const int variant = sodium_base64_VARIANT_ORIGINAL;
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), variant);
  out.pop_back();  // the terminating NUL
  return out;
}

StatusOr<std::string> Base64Decode(std::string_view text) {
  const bool url_safe = text.find_first_of("-_") != std::string_view::npos;
  const bool padded = !text.empty() && text.back() == '=';
  int variant = url_safe ? sodium_base64_VARIANT_URLSAFE : sodium_base64_VARIANT_ORIGINAL;
  if (!padded) {
    variant = url_safe ? sodium_base64_VARIANT_URLSAFE_NO_PADDING
                       : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
  }
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t written = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &written, &end, variant) != 0 ||
      end != text.data() + text.size()) {
    return InvalidArgumentError("not valid base64");
  }
  out.resize(written);
  return out;
}

}  // namespace cg::crypto
