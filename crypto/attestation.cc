#include "crypto/attestation.h"

#include <sodium.h>

#include "crypto/digest.h"
#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "crypto/encoding.h"
#include "crypto/sodium.h"

namespace cg::crypto {

std::string_view PayloadTypeFor(cg::v1::AttestationKind kind) {
  switch (kind) {
    case cg::v1::ATTESTATION_KIND_ATTESTATION:
      return kAttestationPayloadType;
    case cg::v1::ATTESTATION_KIND_RECOGNITION:
      return kRecognitionPayloadType;
    default:
      return {};
  }
}

std::string NewAttestationId() {
  EnsureSodium();
  std::string raw(16, '\0');
  randombytes_buf(raw.data(), raw.size());
  return HexEncode(raw);
}

Status ValidateEvaluation(const cg::v1::Evaluation& e) {
  struct Scheme {
    std::string_view prefix;
    cg::v1::IdScheme scheme;
  };
  static constexpr Scheme kSchemes[] = {{"uscc:", cg::v1::ID_SCHEME_USCC},
                                        {"hkbrn:", cg::v1::ID_SCHEME_HKBRN},
                                        {"hkcrn:", cg::v1::ID_SCHEME_HKCRN},
                                        {"lei:", cg::v1::ID_SCHEME_LEI}};
  const std::string& id = e.subject().id();
  const Scheme* scheme = nullptr;
  for (const auto& s : kSchemes) {
    if (id.starts_with(s.prefix) && id.size() > s.prefix.size()) scheme = &s;
  }
  if (scheme == nullptr) {
    return InvalidArgumentError(
        "subject.id must be a scheme-prefixed id (uscc:, hkbrn:, hkcrn:, lei:), got '" +
        id.substr(0, 64) + "'");
  }
  if (e.subject().scheme() != cg::v1::ID_SCHEME_UNSPECIFIED &&
      e.subject().scheme() != scheme->scheme) {
    return InvalidArgumentError("subject.scheme disagrees with the prefix of subject.id");
  }
  const std::string& p = e.period();
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (p.size() != 7 || p[4] != '-' || !digit(p[0]) || !digit(p[1]) || !digit(p[2]) ||
      !digit(p[3]) || !digit(p[5]) || !digit(p[6]) || p.substr(5) < "01" || p.substr(5) > "12") {
    return InvalidArgumentError("period must be YYYY-MM, got '" + p.substr(0, 16) + "'");
  }
  if (e.joint_grade().grade().empty() || e.joint_grade().scale().empty()) {
    return InvalidArgumentError("joint_grade needs a scale and a grade");
  }
  if (!(e.joint_pd() >= 0.0 && e.joint_pd() <= 1.0)) {
    return InvalidArgumentError("joint_pd must be between 0 and 1");
  }
  if (e.joint_score() > 1000) return InvalidArgumentError("joint_score must be at most 1000");
  for (const std::string* digest : {&e.parameter_digest(), &e.evidence_digest()}) {
    if (!digest->empty() && digest->size() != kSha256Bytes) {
      return InvalidArgumentError("parameter_digest and evidence_digest are SHA-256 (32 bytes)");
    }
  }
  return OkStatus();
}

StatusOr<cg::v1::Envelope> SignAttestation(cg::v1::Attestation attestation, const SigningKey& key) {
  const std::string_view type = PayloadTypeFor(attestation.kind());
  if (type.empty()) return InvalidArgumentError("attestation kind is not set");
  if (attestation.issuer().node_id().empty()) {
    return InvalidArgumentError("attestation issuer node id is not set");
  }
  if (!attestation.has_issued_at() || !attestation.has_valid_until()) {
    return InvalidArgumentError("attestation needs issued_at and valid_until");
  }
  if (FromProtoTimestamp(attestation.valid_until()) <=
      FromProtoTimestamp(attestation.issued_at())) {
    return InvalidArgumentError("attestation valid_until must be after issued_at");
  }
  if (attestation.kind() == cg::v1::ATTESTATION_KIND_RECOGNITION &&
      attestation.recognizes().payload_digest().empty()) {
    return InvalidArgumentError("a recognition must name the digest of what it recognises");
  }
  attestation.set_version(1);
  attestation.mutable_issuer()->set_key_id(key.key_id());
  return SignEnvelope(type, attestation.SerializeAsString(), key);
}

cg::v1::Envelope SignStatusList(cg::v1::StatusList list, const SigningKey& key) {
  list.set_version(1);
  list.mutable_issuer()->set_key_id(key.key_id());
  return SignEnvelope(kStatusListPayloadType, list.SerializeAsString(), key);
}

StatusOr<cg::v1::Attestation> PeekAttestation(const cg::v1::Envelope& envelope) {
  if (envelope.payloadtype() != kAttestationPayloadType &&
      envelope.payloadtype() != kRecognitionPayloadType) {
    return InvalidArgumentError("payload type '" + envelope.payloadtype().substr(0, 100) +
                                "' is not an attestation or recognition");
  }
  cg::v1::Attestation attestation;
  if (!attestation.ParseFromString(envelope.payload())) {
    return InvalidArgumentError("payload is not a valid attestation message");
  }
  return attestation;
}

}  // namespace cg::crypto
