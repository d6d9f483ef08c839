#include "mapping/identifier.h"

#include <array>
#include <cstdint>
#include <string>
#include <utility>

namespace cg::mapping {
namespace {

// GB 32100-2015 character set: digits and upper-case letters without I, O, S, V, Z.
constexpr std::string_view kUsccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
constexpr int kUsccModulus = 31;
constexpr int kOrganizationCodeModulus = 11;
constexpr std::array<int, 8> kOrganizationCodeWeights = {3, 7, 9, 10, 5, 8, 4, 2};
constexpr int kLeiModulus = 97;
constexpr size_t kMaxEchoedLength = 64;
constexpr std::string_view kPseudonymPrefix = "ps1-";
constexpr size_t kPseudonymHexDigits = 32;
constexpr std::string_view kExpectedSchemes = "uscc:, hkbrn:, hkcrn:, lei:, person:";

struct SchemeName {
  IdScheme scheme;
  std::string_view prefix;  // without the colon
};
constexpr std::array<SchemeName, 5> kSchemes = {{
    {IdScheme::kUscc, "uscc"},
    {IdScheme::kHkBrn, "hkbrn"},
    {IdScheme::kHkCrn, "hkcrn"},
    {IdScheme::kLei, "lei"},
    {IdScheme::kPerson, "person"},
}};

// Byte -> value tables, -1 for bytes outside the set, so the hot loops are one load per
// character and never branch on the alphabet.
using ValueTable = std::array<int8_t, 256>;

constexpr ValueTable MakeUsccValues() {
  ValueTable table{};
  for (auto& v : table) v = -1;
  for (size_t i = 0; i < kUsccAlphabet.size(); ++i)
    table[static_cast<unsigned char>(kUsccAlphabet[i])] = static_cast<int8_t>(i);
  return table;
}

// [0-9A-Z] valued 0..35: how both GB 11714 and ISO 7064 MOD 97-10 value characters.
constexpr ValueTable MakeAlphanumericValues() {
  ValueTable table{};
  for (auto& v : table) v = -1;
  for (int d = 0; d < 10; ++d) table['0' + d] = static_cast<int8_t>(d);
  for (int l = 0; l < 26; ++l) table['A' + l] = static_cast<int8_t>(10 + l);
  return table;
}

// W_i = 3^(i-1) mod 31 (GB 32100-2015): 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, ...
constexpr std::array<int, kUsccLength - 1> MakeUsccWeights() {
  std::array<int, kUsccLength - 1> weights{};
  int w = 1;
  for (auto& weight : weights) {
    weight = w;
    w = w * 3 % kUsccModulus;
  }
  return weights;
}

constexpr ValueTable kUsccValues = MakeUsccValues();
constexpr ValueTable kAlphanumericValues = MakeAlphanumericValues();
constexpr std::array<int, kUsccLength - 1> kUsccWeights = MakeUsccWeights();

int UsccValue(char c) { return kUsccValues[static_cast<unsigned char>(c)]; }
int AlphanumericValue(char c) { return kAlphanumericValues[static_cast<unsigned char>(c)]; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsPrintable(char c) { return c >= 0x20 && c <= 0x7e; }
bool IsLowerHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }

// A byte for a message: printable ASCII as itself, anything else as \xNN, so a message
// never carries control characters or broken UTF-8 into a log or a reject report.
void AppendEscaped(std::string& out, char c) {
  if (IsPrintable(c)) {
    out += c;
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  const auto byte = static_cast<unsigned char>(c);
  out += "\\x";
  out += kHex[byte >> 4];
  out += kHex[byte & 0xf];
}

std::string Quoted(char c) {
  std::string out = "'";
  AppendEscaped(out, c);
  out += '\'';
  return out;
}

std::string Escaped(std::string_view text) {
  std::string out;
  const std::string_view shown = text.substr(0, kMaxEchoedLength);
  for (char c : shown) AppendEscaped(out, c);
  if (shown.size() < text.size()) out += "...";
  return out;
}

std::string Position(size_t index) { return "position " + std::to_string(index + 1); }

Status Invalid(std::string message) { return InvalidArgumentError(std::move(message)); }

// The mistakes that a lenient reader would "fix" silently, reported before anything else
// so the reason names them rather than a consequence (a wrong length, a foreign character).
Status CheckNoLowercaseOrSpace(std::string_view value) {
  for (size_t i = 0; i < value.size(); ++i) {
    if (IsLower(value[i])) {
      return Invalid("lowercase letters are not allowed (" + Quoted(value[i]) + " at " +
                     Position(i) + ")");
    }
    if (value[i] == ' ') {
      return Invalid("spaces are not allowed (" + Position(i) + "); identifiers are never trimmed");
    }
  }
  return OkStatus();
}

Status CheckLength(std::string_view value, size_t expected) {
  if (value.size() == expected) return OkStatus();
  return Invalid(std::to_string(expected) + " characters expected, got " +
                 std::to_string(value.size()));
}

Status CheckDigits(std::string_view value) {
  for (size_t i = 0; i < value.size(); ++i) {
    if (!IsDigit(value[i]))
      return Invalid("character " + Quoted(value[i]) + " at " + Position(i) + " is not a digit");
  }
  return OkStatus();
}

}  // namespace

std::string_view SchemePrefix(IdScheme scheme) {
  switch (scheme) {
    case IdScheme::kUscc:
      return "uscc:";
    case IdScheme::kHkBrn:
      return "hkbrn:";
    case IdScheme::kHkCrn:
      return "hkcrn:";
    case IdScheme::kLei:
      return "lei:";
    case IdScheme::kPerson:
      return "person:";
  }
  return "";
}

std::string EntityId::ToString() const {
  std::string out(SchemePrefix(scheme));
  out += value;
  return out;
}

char UsccCheckCharacter(std::string_view first17) {
  if (first17.size() != kUsccLength - 1) return '\0';
  int sum = 0;
  for (size_t i = 0; i < first17.size(); ++i) {
    const int v = UsccValue(first17[i]);
    if (v < 0) return '\0';
    sum += v * kUsccWeights[i];
  }
  // C18 = 31 - (sum mod 31), where 31 is written as 0.
  return kUsccAlphabet[(kUsccModulus - sum % kUsccModulus) % kUsccModulus];
}

char OrganizationCodeCheckCharacter(std::string_view first8) {
  if (first8.size() != kOrganizationCodeWeights.size()) return '\0';
  int sum = 0;
  for (size_t i = 0; i < first8.size(); ++i) {
    const int v = AlphanumericValue(first8[i]);
    if (v < 0) return '\0';
    sum += v * kOrganizationCodeWeights[i];
  }
  // C9 = 11 - (sum mod 11): 10 is written 'X', 11 is written '0'.
  const int check = kOrganizationCodeModulus - sum % kOrganizationCodeModulus;
  if (check == 10) return 'X';
  if (check == 11) return '0';
  return static_cast<char>('0' + check);
}

std::string LeiCheckDigits(std::string_view first18) {
  if (first18.size() != kLeiLength - 2) return {};
  // The number formed by writing each character's value in decimal, reduced mod 97 as it
  // is read, so no big integers are needed.
  int remainder = 0;
  for (char c : first18) {
    const int v = AlphanumericValue(c);
    if (v < 0) return {};
    remainder = (v < 10 ? remainder * 10 + v : remainder * 100 + v) % kLeiModulus;
  }
  // Append "00" and pick the digits that make the whole number 1 mod 97.
  const int check = kLeiModulus + 1 - remainder * 100 % kLeiModulus;
  return {static_cast<char>('0' + check / 10), static_cast<char>('0' + check % 10)};
}

Status ValidateUscc(std::string_view value) {
  CG_RETURN_IF_ERROR(CheckNoLowercaseOrSpace(value));
  CG_RETURN_IF_ERROR(CheckLength(value, kUsccLength));
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (i >= 2 && i < 8) {
      if (!IsDigit(c)) {
        return Invalid("character " + Quoted(c) + " at " + Position(i) +
                       " is not a digit (positions 3-8 are the administrative division code)");
      }
    } else if (UsccValue(c) < 0) {
      return Invalid("character " + Quoted(c) + " at " + Position(i) +
                     " is not in the USCC character set (0-9 and A-Z without I, O, S, V, Z)");
    }
  }
  // Position 17 closes the GB 11714 organisation code (positions 9-17). A typo there also
  // breaks the final check character; this reason names the position that is wrong.
  const char organization_check = OrganizationCodeCheckCharacter(value.substr(8, 8));
  if (value[16] != organization_check) {
    return Invalid("organisation code check character (position 17) is " + Quoted(value[16]) +
                   ", expected " + Quoted(organization_check));
  }
  const char check = UsccCheckCharacter(value.substr(0, kUsccLength - 1));
  if (value[17] != check) {
    return Invalid("check character is " + Quoted(value[17]) + ", expected " + Quoted(check));
  }
  return OkStatus();
}

Status ValidateLei(std::string_view value) {
  CG_RETURN_IF_ERROR(CheckNoLowercaseOrSpace(value));
  CG_RETURN_IF_ERROR(CheckLength(value, kLeiLength));
  for (size_t i = 0; i < kLeiLength - 2; ++i) {
    if (AlphanumericValue(value[i]) < 0) {
      return Invalid("character " + Quoted(value[i]) + " at " + Position(i) +
                     " is not a digit or an upper-case letter A-Z");
    }
  }
  for (size_t i = kLeiLength - 2; i < kLeiLength; ++i) {
    if (!IsDigit(value[i])) {
      return Invalid("character " + Quoted(value[i]) + " at " + Position(i) +
                     " is not a digit (positions 19-20 are the check digits)");
    }
  }
  const std::string check = LeiCheckDigits(value.substr(0, kLeiLength - 2));
  if (value.substr(kLeiLength - 2) != check) {
    return Invalid("check digits are '" + std::string(value.substr(kLeiLength - 2)) +
                   "', expected '" + check + "'");
  }
  return OkStatus();
}

Status ValidateHkBrn(std::string_view value) {
  CG_RETURN_IF_ERROR(CheckNoLowercaseOrSpace(value));
  if (value.size() > kHkBrnLength && value[kHkBrnLength] == '-') {
    return Invalid(std::to_string(kHkBrnLength) + " characters expected, got " +
                   std::to_string(value.size()) +
                   ": the BR number is the 8 digits before the certificate number's suffix");
  }
  CG_RETURN_IF_ERROR(CheckLength(value, kHkBrnLength));
  return CheckDigits(value);
}

Status ValidateHkCrn(std::string_view value) {
  CG_RETURN_IF_ERROR(CheckNoLowercaseOrSpace(value));
  if (value.size() < kHkCrnMinLength || value.size() > kHkCrnMaxLength) {
    std::string message = "7 or 8 characters expected, got " + std::to_string(value.size());
    if (value.size() < kHkCrnMinLength)
      message += " (older company numbers are written with leading zeros, e.g. 0012345)";
    return Invalid(std::move(message));
  }
  return CheckDigits(value);
}

Status ValidatePersonId(std::string_view value) {
  // Reasons name positions and bytes, never the id itself: it may be a raw personal id.
  if (value.empty()) return Invalid("person id is empty");
  if (value.size() > kMaxPersonIdLength) {
    return Invalid("person id is too long: at most " + std::to_string(kMaxPersonIdLength) +
                   " characters allowed, got " + std::to_string(value.size()));
  }
  for (size_t i = 0; i < value.size(); ++i) {
    if (!IsPrintable(value[i])) {
      return Invalid("person id has a byte outside printable ASCII (" + Quoted(value[i]) + " at " +
                     Position(i) + ")");
    }
  }
  if (value.front() == ' ' || value.back() == ' ')
    return Invalid("person id has a leading or trailing space; identifiers are never trimmed");
  if (value.starts_with(kPseudonymPrefix)) {
    const std::string_view hex = value.substr(kPseudonymPrefix.size());
    bool well_formed = hex.size() == kPseudonymHexDigits;
    for (char c : hex) well_formed = well_formed && IsLowerHex(c);
    if (!well_formed) {
      return Invalid(
          "malformed pseudonym: \"ps1-\" must be followed by exactly 32 lower-case "
          "hex digits");
    }
  }
  return OkStatus();
}

StatusOr<EntityId> ParseEntityId(std::string_view text) {
  if (text.empty()) return Invalid("empty identifier");
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Invalid("missing scheme prefix (expected one of " + std::string(kExpectedSchemes) + ")");
  }
  const std::string_view scheme_text = text.substr(0, colon);
  const std::string_view value = text.substr(colon + 1);

  const SchemeName* found = nullptr;
  for (const SchemeName& s : kSchemes) {
    if (s.prefix == scheme_text) found = &s;
  }
  if (found == nullptr) {
    // Only the part before the colon is echoed, and only a short one: it is a scheme name
    // or a mistake, not the identifier.
    const std::string shown =
        scheme_text.size() <= 16 ? Escaped(scheme_text) + ":" : std::string("(long text):");
    if (scheme_text.find(' ') != std::string_view::npos) {
      return Invalid("spaces are not allowed in the scheme prefix '" + shown +
                     "'; identifiers are never trimmed");
    }
    for (const SchemeName& s : kSchemes) {
      bool same_ignoring_case = s.prefix.size() == scheme_text.size();
      for (size_t i = 0; same_ignoring_case && i < s.prefix.size(); ++i) {
        const char c = scheme_text[i];
        same_ignoring_case =
            (c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) == s.prefix[i];
      }
      if (same_ignoring_case) {
        return Invalid("scheme prefix must be lower case: got '" + shown + "', expected '" +
                       std::string(SchemePrefix(s.scheme)) + "'");
      }
    }
    return Invalid("unknown scheme prefix '" + shown + "' (expected one of " +
                   std::string(kExpectedSchemes) + ")");
  }

  Status status;
  switch (found->scheme) {
    case IdScheme::kUscc:
      status = ValidateUscc(value);
      break;
    case IdScheme::kHkBrn:
      status = ValidateHkBrn(value);
      break;
    case IdScheme::kHkCrn:
      status = ValidateHkCrn(value);
      break;
    case IdScheme::kLei:
      status = ValidateLei(value);
      break;
    case IdScheme::kPerson:
      CG_RETURN_IF_ERROR(ValidatePersonId(value));
      break;
  }
  if (!status.ok()) return status.WithContext(Escaped(text));
  return EntityId{found->scheme, std::string(value)};
}

std::string_view JurisdictionOfEntityId(std::string_view id) {
  if (id.starts_with("uscc:")) return "CN";
  if (id.starts_with("hkbrn:") || id.starts_with("hkcrn:")) return "HK";
  return "";
}

}  // namespace cg::mapping
