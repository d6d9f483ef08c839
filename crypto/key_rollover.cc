#include "crypto/key_rollover.h"

#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "crypto/internal/untrusted_text.h"
#include "specs/file_io.h"
#include "specs/json.h"
#include "specs/timestamps.h"

namespace cg::crypto {
namespace {

Status CheckKeyForm(const cg::v1::PublicKeyEntry& key, std::string_view which) {
  if (key.public_key().size() != kEd25519PublicKeyBytes) {
    return InvalidArgumentError("malformed rollover payload: the " + std::string(which) +
                                " key has " + std::to_string(key.public_key().size()) +
                                " bytes; Ed25519 keys are 32");
  }
  if (key.key_id() != KeyIdOf(key.public_key())) {
    return InvalidArgumentError("malformed rollover payload: the " + std::string(which) +
                                " key's id " + internal::QuoteUntrusted(key.key_id()) +
                                " does not match its public key");
  }
  return OkStatus();
}

}  // namespace

StatusOr<cg::v1::Envelope> SignKeyRollover(cg::v1::KeyRollover rollover, const SigningKey& retired,
                                           const SigningKey& successor) {
  rollover.set_version(1);
  if (rollover.retired().public_key() != retired.public_key() ||
      rollover.successor().public_key() != successor.public_key()) {
    return InvalidArgumentError("rollover statement names other keys than the signing keys");
  }
  cg::v1::Envelope envelope =
      SignEnvelope(kKeyRolloverPayloadType, rollover.SerializeAsString(), retired);
  auto* second = envelope.add_signatures();
  second->set_sig(successor.Sign(PreAuthEncoding(envelope.payloadtype(), envelope.payload())));
  second->set_keyid(successor.key_id());
  // What is signed must be something a verifier accepts the form of.
  CG_RETURN_IF_ERROR(PeekKeyRollover(envelope).status());
  return envelope;
}

StatusOr<cg::v1::KeyRollover> PeekKeyRollover(const cg::v1::Envelope& envelope) {
  if (envelope.payloadtype() != kKeyRolloverPayloadType) {
    return InvalidArgumentError("wrong payload type " +
                                internal::QuoteUntrusted(envelope.payloadtype()) +
                                " for a rollover statement");
  }
  if (envelope.payload().size() > kMaxEnvelopeBytes) {
    return ResourceExhaustedError("rollover payload is " +
                                  std::to_string(envelope.payload().size()) + " bytes");
  }
  if (envelope.signatures_size() > kMaxRolloverSignatures) {
    return InvalidArgumentError(
        "rollover statement has " + std::to_string(envelope.signatures_size()) +
        " signatures; it needs 2 and may have at most " + std::to_string(kMaxRolloverSignatures));
  }
  cg::v1::KeyRollover rollover;
  if (!rollover.ParseFromString(envelope.payload())) {
    return InvalidArgumentError("malformed rollover payload: not a KeyRollover message");
  }
  if (rollover.version() != 1) {
    return InvalidArgumentError("malformed rollover payload: unsupported version " +
                                std::to_string(rollover.version()));
  }
  if (rollover.node_id().empty()) {
    return InvalidArgumentError("malformed rollover payload: no node_id");
  }
  if (!rollover.has_retired() || !rollover.has_successor() || !rollover.has_signed_at()) {
    return InvalidArgumentError(
        "malformed rollover payload: retired, successor and signed_at are required");
  }
  CG_RETURN_IF_ERROR(CheckKeyForm(rollover.retired(), "retired"));
  CG_RETURN_IF_ERROR(CheckKeyForm(rollover.successor(), "successor"));
  if (rollover.retired().key_id() == rollover.successor().key_id()) {
    return InvalidArgumentError("malformed rollover payload: the successor is the retired key");
  }
  if (!rollover.retired().has_not_after()) {
    return InvalidArgumentError("malformed rollover payload: the retired key has no not_after");
  }
  if (!rollover.successor().has_not_before()) {
    return InvalidArgumentError("malformed rollover payload: the successor has no not_before");
  }
  const Clock::time_point signed_at = FromProtoTimestamp(rollover.signed_at());
  if (FromProtoTimestamp(rollover.retired().not_after()) <= signed_at) {
    return InvalidArgumentError("malformed rollover payload: the retired key's not_after (" +
                                FormatRfc3339(rollover.retired().not_after()) +
                                ") is not after signed_at (" + FormatRfc3339(rollover.signed_at()) +
                                ")");
  }
  const Clock::time_point successor_from = FromProtoTimestamp(rollover.successor().not_before());
  if (successor_from > signed_at + kRolloverClockSkew ||
      successor_from < signed_at - kRolloverClockSkew) {
    return InvalidArgumentError("malformed rollover payload: the successor's not_before (" +
                                FormatRfc3339(rollover.successor().not_before()) +
                                ") is not within " + std::to_string(kRolloverClockSkew.count()) +
                                " s of signed_at (" + FormatRfc3339(rollover.signed_at()) + ")");
  }
  if (rollover.successor().has_not_after() &&
      FromProtoTimestamp(rollover.successor().not_after()) <=
          FromProtoTimestamp(rollover.successor().not_before())) {
    return InvalidArgumentError(
        "malformed rollover payload: the successor's not_after is not after its not_before");
  }
  return rollover;
}

StatusOr<cg::v1::KeyRolloverChain> ParseRolloverChain(std::string_view bytes) {
  if (bytes.size() > kMaxRolloverChainBytes) {
    return ResourceExhaustedError("rollover chain is " + std::to_string(bytes.size()) +
                                  " bytes; the limit is " + std::to_string(kMaxRolloverChainBytes));
  }
  if (bytes.empty()) return InvalidArgumentError("rollover chain is empty (not even '{}')");
  cg::v1::KeyRolloverChain chain;
  const size_t first = bytes.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && bytes[first] == '{') {
    Status parsed = JsonToMessage(bytes, &chain);
    if (!parsed.ok()) return parsed.WithContext("not a rollover chain");
  } else if (!chain.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return InvalidArgumentError("not a rollover chain (neither JSON nor binary protobuf)");
  }
  if (static_cast<size_t>(chain.rollovers_size()) > kMaxRolloverChainLength) {
    return ResourceExhaustedError("rollover chain has " + std::to_string(chain.rollovers_size()) +
                                  " statements; the limit is " +
                                  std::to_string(kMaxRolloverChainLength));
  }
  return chain;
}

StatusOr<cg::v1::KeyRolloverChain> LoadRolloverChain(const std::string& path) {
  auto bytes = ReadFileLimited(path, kMaxRolloverChainBytes);
  if (!bytes.ok()) return bytes.status().WithContext("rollover chain file");
  auto chain = ParseRolloverChain(*bytes);
  if (!chain.ok()) return chain.status().WithContext("rollover chain file " + path);
  return chain;
}

}  // namespace cg::crypto
