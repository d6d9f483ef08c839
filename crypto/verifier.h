// Verification of attestations and recognitions against a trust list, with the
// checks of specs/attestation.md ("What valid means") in the order stated there.
// Every failure has its own code, so a relying party can tell a forged signature
// from an expired attestation from a revoked one.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "crypto/trust_list.h"
#include "proto/attestation.pb.h"
#include "proto/envelope.pb.h"
#include "specs/status.h"
#include "specs/timestamps.h"

namespace cg::crypto {

enum class VerifyFailure {
  kNone = 0,
  kMalformed,               // payload cannot be parsed, or kind and payload type disagree
  kUnsupportedPayloadType,  // not an attestation or recognition
  kUnknownIssuer,           // the issuer node is not in the trust list
  kUnknownKey,              // no signature by a key trusted for the issuer
  kBadSignature,            // a trusted key's signature does not verify
  kIssuerMismatch,          // payload issuer/key id disagree with the signing key
  kKeyNotValidAtIssue,      // signed outside the key's validity period
  kNotYetValid,             // issued_at is in the future (beyond the clock skew)
  kExpired,                 // valid_until has passed
  kRevoked,
  kSuperseded,
  kAudienceMismatch,
  kNonceMismatch,
  kRecognitionMismatch,  // the recognition does not name this attestation
  kRecognitionOutlives,  // the recognition is valid longer than what it recognises
};

// "BAD_SIGNATURE", "EXPIRED", ...: stable codes for output and the API.
std::string_view VerifyFailureCode(VerifyFailure failure);

struct VerifyOptions {
  Clock::time_point now = Clock::now();
  // Tolerated clock difference between issuer and verifier for issued_at.
  std::chrono::seconds clock_skew{300};
  // When set, the attestation's audience/nonce must be exactly this.
  std::optional<std::string> expected_audience;
  std::optional<std::string> expected_nonce;
};

struct Verification {
  VerifyFailure failure = VerifyFailure::kNone;
  std::string reason;               // for people; empty when valid
  cg::v1::Attestation attestation;  // parsed payload when it could be parsed
  std::string payload_digest;       // SHA-256 of the payload bytes
  std::string signer_key_id;        // the trusted key whose signature verified
  // The issuer's state for it when a status list covering it is known.
  std::optional<cg::v1::AttestationState> state;
  [[nodiscard]] bool valid() const { return failure == VerifyFailure::kNone; }
};

struct PairVerification {
  VerifyFailure failure = VerifyFailure::kNone;
  std::string reason;
  Verification recognition;
  Verification attestation;
  [[nodiscard]] bool valid() const { return failure == VerifyFailure::kNone; }
};

// The report form of a verification, for `verify --json` and the API.
cg::v1::VerificationReport ToReport(const Verification& verification);
cg::v1::VerificationReport ToReport(const PairVerification& pair);

class AttestationVerifier {
 public:
  // `trust` must outlive the verifier.
  explicit AttestationVerifier(const TrustList& trust) : trust_(trust) {}

  // Verifies a signed status list against the trust list and keeps it (the newest
  // per issuer wins) for the checks that follow. kInvalidArgument/kUnauthenticated
  // with the reason when it is malformed or not signed by a trusted key.
  Status AddStatusList(const cg::v1::Envelope& envelope);

  // Verifies one attestation or recognition envelope.
  Verification Verify(const cg::v1::Envelope& envelope, const VerifyOptions& options) const;

  // Verifies a recognition together with the attestation it recognises. The
  // audience and nonce options apply to the recognition. When the attestation
  // fails, the pair fails with the attestation's own failure code.
  PairVerification VerifyRecognition(const cg::v1::Envelope& recognition,
                                     const cg::v1::Envelope& attestation,
                                     const VerifyOptions& options) const;

  // The status list kept for an issuer, if any.
  const cg::v1::StatusList* StatusListFor(std::string_view node_id) const;

 private:
  struct KnownStatus {
    cg::v1::StatusList list;
    std::unordered_map<uint64_t, int> entry_by_index;  // index -> position in list
  };
  const TrustList& trust_;
  std::map<std::string, KnownStatus, std::less<>> status_lists_;
};

}  // namespace cg::crypto
