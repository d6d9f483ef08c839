// Scheme-prefixed entity identifiers ("uscc:91440300MA5G2U7B88", "lei:5493001KJTIIGC8Y1R12",
// "hkbrn:12345678", "hkcrn:0012345", "person:ps1-<32 hex>"), validated to their published
// rules (DESIGN.md §4). An identifier that breaks a rule is rejected with kInvalidArgument
// and a message that says exactly what is wrong; nothing is ever repaired: no upper-casing,
// no trimming, no dropping of separators.
//
// The rules, scheme by scheme (positions are 1-based and count from the first character
// after the prefix; error messages use the same numbering):
//
//   uscc:   Unified Social Credit Code, GB 32100-2015. 18 characters from the 31-character
//           set "0123456789ABCDEFGHJKLMNPQRTUWXY" (no I, O, S, V, Z). 1: registration
//           authority; 2: entity category; 3-8: administrative division code (GB/T 2260,
//           digits only); 9-17: organisation code, coded to GB 11714-1997, whose check
//           character (17) is verified: weights 3,7,9,10,5,8,4,2 on 9-16 valued 0-9 and
//           A=10..Z=35 (the full Latin alphabet, as GB 11714 counts), check = 11 - sum mod 11,
//           written 'X' for 10 and '0' for 11; 18: check character as GB 32100 defines it
//           (after GB/T 17710): weights 3^(i-1) mod 31, C18 = 31 - (sum mod 31), 31 written
//           '0', the value of a character being its index in the 31-character set.
//           Authority and category codes are not checked against a list (new ones appear).
//   lei:    Legal Entity Identifier, ISO 17442. 20 characters [0-9A-Z]; 19-20 are decimal
//           check digits, ISO/IEC 7064 MOD 97-10: with A=10..Z=35 the whole identifier read
//           as a number is 1 mod 97. The check digits must be the ones ISO 7064 computes
//           (98 - (first 18 * 100 mod 97), so 02..98): "00" and "01", which also satisfy
//           the equation for some bases but are never issued, are rejected.
//   hkbrn:  Hong Kong Business Registration Number: the 8 digits that open a Business
//           Registration certificate number ("12345678-000-01-24-A"); the certificate suffix
//           is not accepted. Since 27 December 2023 it is also the Unique Business Identifier
//           (UBI). No check digit is published, so only the format is validated. Dummy UBIs
//           with a letter prefix ("C0012345", "F0001234") are not BR numbers and are rejected.
//   hkcrn:  Hong Kong Companies Registry company number: 7 digits with leading zeros (the
//           number before 27 December 2023, e.g. "0012345"), or 8 digits (companies
//           incorporated since then, whose company number is their BRN). Registered non-Hong
//           Kong company numbers ("F0012345") are not accepted. No check digit: format only.
//   person: a natural person: 1-64 printable ASCII characters (0x20-0x7E), lower case and
//           inner spaces allowed, but no leading or trailing space. A value starting with
//           "ps1-" must be a well-formed pseudonym: "ps1-" and 32 lower-case hex digits
//           (specs/attestation.md §8). Error messages never repeat a person id's value.
//
// All functions are thread-safe and allocate only to build an error message or a returned
// string. The check-character functions are meant for synthetic data generators as well.
#pragma once

#include <compare>
#include <cstddef>
#include <string>
#include <string_view>

#include "specs/status.h"

namespace cg::mapping {

enum class IdScheme { kUscc, kHkBrn, kHkCrn, kLei, kPerson };

inline constexpr size_t kUsccLength = 18;
inline constexpr size_t kLeiLength = 20;
inline constexpr size_t kHkBrnLength = 8;
inline constexpr size_t kHkCrnMinLength = 7;
inline constexpr size_t kHkCrnMaxLength = 8;
inline constexpr size_t kMaxPersonIdLength = 64;

// "uscc:", "hkbrn:", "hkcrn:", "lei:", "person:" (with the colon).
std::string_view SchemePrefix(IdScheme scheme);

// A validated identifier. Built by ParseEntityId; a hand-built one is only as valid as its
// builder made it.
struct EntityId {
  IdScheme scheme = IdScheme::kUscc;
  std::string value;  // without the prefix

  // The prefixed form, "uscc:91440300MA5G2U7B88"; ParseEntityId(ToString()) gives it back.
  std::string ToString() const;
  bool is_person() const { return scheme == IdScheme::kPerson; }

  friend auto operator<=>(const EntityId&, const EntityId&) = default;
};

// Parses "<scheme>:<value>" and validates the value to its scheme's rules. The prefix is
// case-sensitive (lower case). kInvalidArgument with the reason, prefixed by the input for
// entity schemes ("uscc:91440300MA5G2U7B8X: check character is 'X', expected '8'"). A person
// id or an input without a prefix is never repeated (it may be personal data); of an unknown
// prefix only the part before the colon is, when short. Echoed input is cut at 64
// characters, non-printable bytes shown as \xNN.
StatusOr<EntityId> ParseEntityId(std::string_view text);

// The value-level checks (no prefix). kInvalidArgument with the reason, as above but
// without the input in front.
Status ValidateUscc(std::string_view value);
Status ValidateLei(std::string_view value);
Status ValidateHkBrn(std::string_view value);
Status ValidateHkCrn(std::string_view value);
Status ValidatePersonId(std::string_view value);

// The USCC check character (position 18) for the first 17 characters, or '\0' if `first17`
// is not 17 characters of the USCC character set.
char UsccCheckCharacter(std::string_view first17);

// The GB 11714 organisation code check character ('0'-'9' or 'X', USCC position 17) for the
// 8 body characters (USCC positions 9-16), or '\0' if `first8` is not 8 characters of
// [0-9A-Z].
char OrganizationCodeCheckCharacter(std::string_view first8);

// The two LEI check digits for the first 18 characters, or "" if `first18` is not 18
// characters of [0-9A-Z]. Never allocates (the result fits the small-string buffer).
std::string LeiCheckDigits(std::string_view first18);

// The jurisdiction an entity id alone tells: "CN" for uscc:, "HK" for hkbrn: and
// hkcrn:, "" otherwise (an LEI says nothing of where the entity is).
std::string_view JurisdictionOfEntityId(std::string_view id);

}  // namespace cg::mapping
