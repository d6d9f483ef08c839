#include "crypto/attestation.h"

#include <sodium.h>

#include <chrono>

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

std::string NewRandomId() {
  EnsureSodium();
  std::string raw(16, '\0');
  randombytes_buf(raw.data(), raw.size());
  return HexEncode(raw);
}

std::string NewAttestationId() {
  EnsureSodium();
  // The time first, so that ids issued one after another sort together: the store's
  // unique index on them then grows at one end instead of dirtying a random page per
  // issuance (specs/attestation.md §3). The 80 random bits keep ids
  // unguessable and distinct.
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::string raw(16, '\0');
  for (int i = 0; i < 6; ++i)
    raw[i] = static_cast<char>(static_cast<uint64_t>(ms) >> (8 * (5 - i)));
  randombytes_buf(raw.data() + 6, raw.size() - 6);
  return HexEncode(raw);
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
