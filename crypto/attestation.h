// Signing attestations, recognitions and status lists into DSSE envelopes, and
// reading their payloads back. specs/attestation.md is the normative description.
#pragma once

#include <string>
#include <string_view>

#include "proto/attestation.pb.h"
#include "proto/envelope.pb.h"
#include "specs/status.h"
#include "specs/timestamps.h"

namespace cg::crypto {

class SigningKey;

// DSSE payloadType of each kind of payload; the payload is binary protobuf.
inline constexpr std::string_view kAttestationPayloadType =
    "application/vnd.gba-credit.attestation+protobuf;version=1";
inline constexpr std::string_view kRecognitionPayloadType =
    "application/vnd.gba-credit.recognition+protobuf;version=1";
inline constexpr std::string_view kStatusListPayloadType =
    "application/vnd.gba-credit.status-list+protobuf;version=1";

// The payload type for an attestation of this kind; empty for UNSPECIFIED.
std::string_view PayloadTypeFor(cg::v1::AttestationKind kind);

// 128 fresh random bits as 32 lower-case hex characters: for nonces and other ids
// that must not say when they were made.
std::string NewRandomId();

// A fresh attestation id: 32 lower-case hex characters, of 48 bits of the time
// (milliseconds since the Unix epoch, big-endian) and 80 random bits.
std::string NewAttestationId();

// Signs `attestation` with `key`. Sets issuer.key_id to the key's id and version to
// 1; the caller fills the rest. kInvalidArgument when the kind is unspecified, the
// issuer node id is empty or issued_at/valid_until are missing or out of order.
StatusOr<cg::v1::Envelope> SignAttestation(cg::v1::Attestation attestation, const SigningKey& key);

// Signs a status list with `key` (issuer.key_id is set from the key).
cg::v1::Envelope SignStatusList(cg::v1::StatusList list, const SigningKey& key);

// The attestation inside an envelope, NOT verified: for display and for choosing
// keys. kInvalidArgument for a foreign payload type or an unparsable payload.
StatusOr<cg::v1::Attestation> PeekAttestation(const cg::v1::Envelope& envelope);

}  // namespace cg::crypto
