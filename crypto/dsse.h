// DSSE v1 envelopes (github.com/secure-systems-lab/dsse): the signature is Ed25519
// over the pre-authentication encoding of payloadType and payload, so any DSSE
// verifier with our public key can check one. specs/attestation.md states it.
#pragma once

#include <string>
#include <string_view>

#include "proto/envelope.pb.h"
#include "specs/status.h"

namespace cg::crypto {

class SigningKey;

// The largest envelope file or message we parse, in bytes. An attestation is a few
// KiB; anything near this is an attack or a mistake.
inline constexpr size_t kMaxEnvelopeBytes = 1 << 20;

enum class EnvelopeEncoding {
  kJson,    // DSSE's JSON form (protobuf JSON mapping of cg.v1.Envelope)
  kBinary,  // binary protobuf cg.v1.Envelope
};

// PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, with LEN the
// decimal byte length without leading zeros.
std::string PreAuthEncoding(std::string_view payload_type, std::string_view payload);

// An envelope carrying `payload`, with one signature by `key` (keyid = key's id).
cg::v1::Envelope SignEnvelope(std::string_view payload_type, std::string payload,
                              const SigningKey& key);

// True only when `signature` is a valid Ed25519 signature by `public_key` over the
// envelope's PAE. Does not look at signature.keyid.
[[nodiscard]] bool VerifyEnvelopeSignature(const cg::v1::Envelope& envelope,
                                           const cg::v1::Signature& signature,
                                           std::string_view public_key);

// Serialises an envelope. JSON output ends with a newline.
std::string EncodeEnvelope(const cg::v1::Envelope& envelope, EnvelopeEncoding encoding);

// Parses an envelope in either encoding: JSON when the first non-blank byte is '{',
// binary protobuf otherwise. Over kMaxEnvelopeBytes is kResourceExhausted; anything
// that is not a well-formed envelope (bad JSON, unknown JSON fields, bad base64,
// truncated protobuf, no payloadType, no signature) is kInvalidArgument.
StatusOr<cg::v1::Envelope> DecodeEnvelope(std::string_view bytes);

}  // namespace cg::crypto
