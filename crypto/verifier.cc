#include "crypto/verifier.h"

#include "crypto/attestation.h"
#include "crypto/digest.h"
#include "crypto/dsse.h"
#include "crypto/encoding.h"
#include "crypto/internal/untrusted_text.h"

namespace cg::crypto {

std::string_view VerifyFailureCode(VerifyFailure failure) {
  switch (failure) {
    case VerifyFailure::kNone:
      return "VALID";
    case VerifyFailure::kMalformed:
      return "MALFORMED";
    case VerifyFailure::kUnsupportedPayloadType:
      return "UNSUPPORTED_PAYLOAD_TYPE";
    case VerifyFailure::kUnknownIssuer:
      return "UNKNOWN_ISSUER";
    case VerifyFailure::kUnknownKey:
      return "UNKNOWN_KEY";
    case VerifyFailure::kBadSignature:
      return "BAD_SIGNATURE";
    case VerifyFailure::kIssuerMismatch:
      return "ISSUER_MISMATCH";
    case VerifyFailure::kKeyNotValidAtIssue:
      return "KEY_NOT_VALID_AT_ISSUE";
    case VerifyFailure::kNotYetValid:
      return "NOT_YET_VALID";
    case VerifyFailure::kExpired:
      return "EXPIRED";
    case VerifyFailure::kRevoked:
      return "REVOKED";
    case VerifyFailure::kSuperseded:
      return "SUPERSEDED";
    case VerifyFailure::kAudienceMismatch:
      return "AUDIENCE_MISMATCH";
    case VerifyFailure::kNonceMismatch:
      return "NONCE_MISMATCH";
    case VerifyFailure::kRecognitionMismatch:
      return "RECOGNITION_MISMATCH";
    case VerifyFailure::kRecognitionOutlives:
      return "RECOGNITION_OUTLIVES_ATTESTATION";
  }
  return "UNKNOWN";
}

cg::v1::VerificationReport ToReport(const Verification& verification) {
  cg::v1::VerificationReport report;
  report.set_valid(verification.valid());
  report.set_code(std::string(VerifyFailureCode(verification.failure)));
  report.set_reason(verification.reason);
  *report.mutable_attestation() = verification.attestation;
  report.set_payload_digest(HexEncode(verification.payload_digest));
  report.set_signer_key_id(verification.signer_key_id);
  if (verification.state) report.set_state(*verification.state);
  return report;
}

cg::v1::VerificationReport ToReport(const PairVerification& pair) {
  cg::v1::VerificationReport report = ToReport(pair.recognition);
  report.set_valid(pair.valid());
  report.set_code(std::string(VerifyFailureCode(pair.failure)));
  report.set_reason(pair.reason);
  *report.mutable_recognised() = ToReport(pair.attestation);
  return report;
}

namespace {

std::string Quote(std::string_view text) { return internal::QuoteUntrusted(text); }

// The trusted key that made a valid signature over the envelope, if any.
// `saw_trusted_key` tells whether some signature named a trusted key at all.
const TrustedKey* FindSigner(const TrustList& trust, const cg::v1::Envelope& envelope,
                             bool* saw_trusted_key) {
  *saw_trusted_key = false;
  for (const auto& signature : envelope.signatures()) {
    const TrustedKey* key = trust.FindKey(signature.keyid());
    if (key == nullptr) continue;
    *saw_trusted_key = true;
    if (VerifyEnvelopeSignature(envelope, signature, key->entry.public_key())) return key;
  }
  return nullptr;
}

}  // namespace

Status AttestationVerifier::AddStatusList(const cg::v1::Envelope& envelope) {
  if (envelope.payloadtype() != kStatusListPayloadType) {
    return InvalidArgumentError("not a status list: payload type " + Quote(envelope.payloadtype()));
  }
  bool saw_trusted_key = false;
  const TrustedKey* signer = FindSigner(trust_, envelope, &saw_trusted_key);
  if (signer == nullptr) {
    return UnauthenticatedError(saw_trusted_key ? "status list signature does not verify"
                                                : "status list is not signed by a trusted key");
  }
  KnownStatus known;
  if (!known.list.ParseFromString(envelope.payload())) {
    return InvalidArgumentError("status list payload cannot be parsed");
  }
  if (known.list.issuer().node_id() != signer->node_id) {
    return UnauthenticatedError("status list names issuer " + Quote(known.list.issuer().node_id()) +
                                " but is signed by " + signer->node_id);
  }
  for (int i = 0; i < known.list.entries_size(); ++i) {
    known.entry_by_index[known.list.entries(i).index()] = i;
  }
  auto it = status_lists_.find(signer->node_id);
  if (it != status_lists_.end() && FromProtoTimestamp(it->second.list.issued_at()) >=
                                       FromProtoTimestamp(known.list.issued_at())) {
    return OkStatus();  // the one we hold is as new or newer
  }
  status_lists_[signer->node_id] = std::move(known);
  return OkStatus();
}

const cg::v1::StatusList* AttestationVerifier::StatusListFor(std::string_view node_id) const {
  auto it = status_lists_.find(node_id);
  return it == status_lists_.end() ? nullptr : &it->second.list;
}

Verification AttestationVerifier::Verify(const cg::v1::Envelope& envelope,
                                         const VerifyOptions& options) const {
  Verification v;
  auto fail = [&v](VerifyFailure failure, std::string reason) {
    v.failure = failure;
    v.reason = std::move(reason);
    return v;
  };

  // 1. Payload type.
  cg::v1::AttestationKind kind;
  if (envelope.payloadtype() == kAttestationPayloadType) {
    kind = cg::v1::ATTESTATION_KIND_ATTESTATION;
  } else if (envelope.payloadtype() == kRecognitionPayloadType) {
    kind = cg::v1::ATTESTATION_KIND_RECOGNITION;
  } else {
    return fail(VerifyFailure::kUnsupportedPayloadType,
                "payload type " + Quote(envelope.payloadtype()) +
                    " is not an attestation or a recognition");
  }
  v.payload_digest = Sha256(envelope.payload());

  // 2. Signature by a trusted key, before anything in the payload is believed.
  bool saw_trusted_key = false;
  const TrustedKey* signer = FindSigner(trust_, envelope, &saw_trusted_key);
  const bool parsed = v.attestation.ParseFromString(envelope.payload());
  if (signer == nullptr) {
    if (saw_trusted_key) {
      return fail(VerifyFailure::kBadSignature,
                  "the signature does not verify: the envelope was altered or forged");
    }
    // The payload is unauthenticated here; it only makes the message precise.
    const std::string& claimed = v.attestation.issuer().node_id();
    if (parsed && !trust_.HasIssuer(claimed)) {
      return fail(VerifyFailure::kUnknownIssuer,
                  "issuer " + Quote(claimed) + " is not in the trust list");
    }
    std::string ids;
    for (const auto& signature : envelope.signatures()) {
      ids += (ids.empty() ? "" : ", ") + Quote(signature.keyid());
    }
    return fail(VerifyFailure::kUnknownKey,
                "signed by key " + ids + ", which is not a trusted key of " +
                    (parsed ? Quote(claimed) : std::string("the issuer")));
  }
  v.signer_key_id = signer->entry.key_id();

  // 3. The payload agrees with its type and its signer.
  if (!parsed) return fail(VerifyFailure::kMalformed, "the payload is not an attestation message");
  const cg::v1::Attestation& a = v.attestation;
  if (a.kind() != kind) {
    return fail(VerifyFailure::kMalformed, "the payload's kind disagrees with its payload type");
  }
  if (a.issuer().node_id() != signer->node_id || a.issuer().key_id() != v.signer_key_id) {
    return fail(VerifyFailure::kIssuerMismatch,
                "signed by key " + v.signer_key_id + " of " + signer->node_id +
                    ", but the payload names issuer " + Quote(a.issuer().node_id()) + " key " +
                    Quote(a.issuer().key_id()));
  }
  if (!a.has_issued_at() || !a.has_valid_until()) {
    return fail(VerifyFailure::kMalformed, "the attestation has no issued_at or valid_until");
  }

  // 4. Times: the key's period at issuance, then the attestation's own window.
  const Clock::time_point issued_at = FromProtoTimestamp(a.issued_at());
  const Clock::time_point valid_until = FromProtoTimestamp(a.valid_until());
  if (!KeyValidAt(signer->entry, issued_at)) {
    return fail(VerifyFailure::kKeyNotValidAtIssue,
                "issued at " + FormatRfc3339(a.issued_at()) + " with key " + v.signer_key_id +
                    ", which may sign only " + KeyPeriod(signer->entry));
  }
  if (issued_at > options.now + options.clock_skew) {
    return fail(VerifyFailure::kNotYetValid,
                "issued at " + FormatRfc3339(a.issued_at()) + ", which is in the future");
  }
  if (options.now >= valid_until) {
    return fail(VerifyFailure::kExpired, "expired at " + FormatRfc3339(a.valid_until()));
  }

  // 5. Status, when the issuer's status list covers this attestation.
  auto known = status_lists_.find(signer->node_id);
  if (known != status_lists_.end() && a.status_index() < known->second.list.next_index()) {
    v.state = cg::v1::ATTESTATION_STATE_ACTIVE;
    auto entry = known->second.entry_by_index.find(a.status_index());
    if (entry != known->second.entry_by_index.end()) {
      const cg::v1::StatusEntry& e = known->second.list.entries(entry->second);
      if (e.attestation_id().empty() || e.attestation_id() == a.attestation_id()) {
        v.state = e.state();
        const std::string when = e.has_changed_at() ? " at " + FormatRfc3339(e.changed_at()) : "";
        const std::string why = e.reason().empty() ? "" : ": " + e.reason();
        if (e.state() == cg::v1::ATTESTATION_STATE_REVOKED) {
          return fail(VerifyFailure::kRevoked, "revoked by its issuer" + when + why);
        }
        if (e.state() == cg::v1::ATTESTATION_STATE_SUPERSEDED) {
          std::string by = e.superseded_by().empty() ? "" : " by " + e.superseded_by();
          return fail(VerifyFailure::kSuperseded, "superseded" + by + when + why);
        }
      }
    }
  }

  // 6. What the verifier asked for.
  if (options.expected_audience && a.audience() != *options.expected_audience) {
    return fail(VerifyFailure::kAudienceMismatch, "issued for audience " + Quote(a.audience()) +
                                                      ", not " + Quote(*options.expected_audience));
  }
  if (options.expected_nonce && a.nonce() != *options.expected_nonce) {
    return fail(VerifyFailure::kNonceMismatch, "the nonce " + Quote(a.nonce()) +
                                                   " is not the one expected, " +
                                                   Quote(*options.expected_nonce));
  }
  return v;
}

PairVerification AttestationVerifier::VerifyRecognition(const cg::v1::Envelope& recognition,
                                                        const cg::v1::Envelope& attestation,
                                                        const VerifyOptions& options) const {
  PairVerification p;
  auto fail = [&p](VerifyFailure failure, std::string reason) {
    p.failure = failure;
    p.reason = std::move(reason);
    return p;
  };
  p.recognition = Verify(recognition, options);
  VerifyOptions attestation_options = options;
  attestation_options.expected_audience.reset();
  attestation_options.expected_nonce.reset();
  p.attestation = Verify(attestation, attestation_options);

  if (!p.recognition.valid())
    return fail(p.recognition.failure, "recognition: " + p.recognition.reason);
  const cg::v1::Attestation& r = p.recognition.attestation;
  if (r.kind() != cg::v1::ATTESTATION_KIND_RECOGNITION) {
    return fail(VerifyFailure::kMalformed, "the first envelope is not a recognition");
  }
  if (!p.attestation.valid()) {
    return fail(p.attestation.failure, "recognised attestation: " + p.attestation.reason);
  }
  const cg::v1::Attestation& a = p.attestation.attestation;
  if (a.kind() != cg::v1::ATTESTATION_KIND_ATTESTATION) {
    return fail(VerifyFailure::kMalformed, "the second envelope is not an attestation");
  }
  if (r.recognizes().payload_digest() != p.attestation.payload_digest ||
      r.recognizes().attestation_id() != a.attestation_id() ||
      r.recognizes().issuer().node_id() != a.issuer().node_id()) {
    return fail(
        VerifyFailure::kRecognitionMismatch,
        "the recognition does not recognise this attestation (digest, id or issuer differ)");
  }
  if (FromProtoTimestamp(r.valid_until()) > FromProtoTimestamp(a.valid_until())) {
    return fail(VerifyFailure::kRecognitionOutlives,
                "the recognition is valid until " + FormatRfc3339(r.valid_until()) +
                    ", after the attestation it recognises expires (" +
                    FormatRfc3339(a.valid_until()) + ")");
  }
  return p;
}

}  // namespace cg::crypto
