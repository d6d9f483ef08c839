// Hex and base64 for byte strings, over libsodium's constant-time codecs.
// Byte strings are std::string throughout, as protobuf's `bytes` fields are.
#pragma once

#include <string>
#include <string_view>

#include "specs/status.h"

namespace cg::crypto {

// Lower-case hex.
std::string HexEncode(std::string_view bytes);
// Accepts upper or lower case; anything else (odd length, other characters) is
// kInvalidArgument.
StatusOr<std::string> HexDecode(std::string_view hex);

// Standard base64 with padding (RFC 4648 §4).
std::string Base64Encode(std::string_view bytes);
// Accepts standard or URL-safe base64, padded or not, as DSSE asks of verifiers.
StatusOr<std::string> Base64Decode(std::string_view text);

}  // namespace cg::crypto
