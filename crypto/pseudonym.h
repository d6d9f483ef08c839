// Pseudonymisation of natural-person identifiers with keyed BLAKE2b. Both nodes hold
// the same pseudonymisation key, so the same person gets the same pseudonym on both
// sides, while nobody without the key can link a pseudonym to a person or test a
// guess. Raw ids are never stored or logged; only pseudonyms leave this class.
#pragma once

#include <string>
#include <string_view>

#include "specs/status.h"

namespace cg::crypto {

inline constexpr size_t kPseudonymKeyBytes = 32;

class Pseudonymizer {
 public:
  // `key` is 32 bytes. kInvalidArgument otherwise.
  static StatusOr<Pseudonymizer> FromKey(std::string_view key);
  // Reads a key file: 64 hex characters (and an optional newline). The file must
  // not be accessible by other users (kPermissionDenied otherwise).
  static StatusOr<Pseudonymizer> FromKeyFile(const std::string& path);
  // A new random key as 64 hex characters plus a newline, to write to a key file.
  static std::string NewKeyFileContents();

  Pseudonymizer(const Pseudonymizer&) = default;
  Pseudonymizer& operator=(const Pseudonymizer&) = default;
  ~Pseudonymizer();

  // "person:ps1-<32 hex>" for a raw natural-person id ("person:" prefix optional).
  // The raw id is normalised first (specs/attestation.md, "Pseudonyms"): surrounding
  // blanks dropped, ASCII letters upper-cased, spaces, '-', '(' and ')' removed.
  // kInvalidArgument for an empty id. Thread-safe.
  StatusOr<std::string> Pseudonymize(std::string_view raw_id) const;

  // True for strings of the pseudonym form.
  static bool IsPseudonym(std::string_view id);

 private:
  explicit Pseudonymizer(std::string_view key);
  std::string key_;
};

}  // namespace cg::crypto
