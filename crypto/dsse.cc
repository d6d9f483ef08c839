#include "crypto/dsse.h"

#include "crypto/ed25519.h"
#include "specs/json.h"

namespace cg::crypto {

std::string PreAuthEncoding(std::string_view payload_type, std::string_view payload) {
  std::string out = "DSSEv1 ";
  out.reserve(out.size() + payload_type.size() + payload.size() + 48);
  out += std::to_string(payload_type.size());
  out += ' ';
  out += payload_type;
  out += ' ';
  out += std::to_string(payload.size());
  out += ' ';
  out += payload;
  return out;
}

cg::v1::Envelope SignEnvelope(std::string_view payload_type, std::string payload,
                              const SigningKey& key) {
  cg::v1::Envelope envelope;
  envelope.set_payloadtype(std::string(payload_type));
  auto* signature = envelope.add_signatures();
  signature->set_sig(key.Sign(PreAuthEncoding(payload_type, payload)));
  signature->set_keyid(key.key_id());
  envelope.set_payload(std::move(payload));
  return envelope;
}

bool VerifyEnvelopeSignature(const cg::v1::Envelope& envelope, const cg::v1::Signature& signature,
                             std::string_view public_key) {
  return VerifyEd25519(public_key, PreAuthEncoding(envelope.payloadtype(), envelope.payload()),
                       signature.sig());
}

std::string EncodeEnvelope(const cg::v1::Envelope& envelope, EnvelopeEncoding encoding) {
  if (encoding == EnvelopeEncoding::kBinary) return envelope.SerializeAsString();
  return MessageToJson(envelope);  // DSSE's JSON names are the proto field names
}

StatusOr<cg::v1::Envelope> DecodeEnvelope(std::string_view bytes) {
  if (bytes.size() > kMaxEnvelopeBytes) {
    return ResourceExhaustedError("envelope is " + std::to_string(bytes.size()) +
                                  " bytes; the limit is " + std::to_string(kMaxEnvelopeBytes));
  }
  if (bytes.empty()) return InvalidArgumentError("envelope is empty");
  cg::v1::Envelope envelope;
  const size_t first = bytes.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && bytes[first] == '{') {
    Status status = JsonToMessage(bytes, &envelope);
    if (!status.ok()) return status.WithContext("envelope is not valid DSSE JSON");
  } else if (!envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return InvalidArgumentError("envelope is neither DSSE JSON nor a binary protobuf envelope");
  }
  if (envelope.payloadtype().empty()) return InvalidArgumentError("envelope has no payloadType");
  if (envelope.signatures_size() == 0) return InvalidArgumentError("envelope has no signatures");
  return envelope;
}

}  // namespace cg::crypto
