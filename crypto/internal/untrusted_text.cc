#include "crypto/internal/untrusted_text.h"

namespace cg::crypto::internal {

std::string QuoteUntrusted(std::string_view text) {
  constexpr size_t kMax = 80;
  std::string out = "'";
  for (char c : text.substr(0, kMax)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > kMax) out += "...";
  out += "'";
  return out;
}

}  // namespace cg::crypto::internal
