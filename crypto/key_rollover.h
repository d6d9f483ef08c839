// Signed key rollover: the statement a node makes when it rotates its signing key
// (cg.v1.KeyRollover in a DSSE envelope, signed by the outgoing key and by its
// successor), so that a peer trusting the outgoing key learns the successor without
// a person copying keys. KeySet::Rotate makes them; TrustList::AcceptRollover
// checks and applies them. specs/peer-protocol.md section 2 is the normative
// description.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "proto/envelope.pb.h"
#include "proto/keys.pb.h"
#include "specs/status.h"

namespace cg::crypto {

class SigningKey;

// DSSE payloadType of a rollover statement; the payload is binary protobuf.
inline constexpr std::string_view kKeyRolloverPayloadType =
    "application/vnd.gba-credit.keys+protobuf;version=1";

// Limits on rollover input, which comes from a peer. A node rotating once a day
// for three years stays under the chain length; one statement is a few hundred
// bytes (JSON: about 1 KiB).
inline constexpr size_t kMaxRolloverChainLength = 1000;
inline constexpr size_t kMaxRolloverChainBytes = 4 << 20;
// Signatures looked at per statement (it needs two): bounds the verification work.
inline constexpr int kMaxRolloverSignatures = 4;
// Tolerated difference between signed_at and the successor's not_before, and how
// far in the future (by the verifier's clock) signed_at may lie.
inline constexpr std::chrono::seconds kRolloverClockSkew{300};

// Signs `rollover` (its version is set to 1) with `retired` and then `successor`:
// two DSSE signatures over the same payload. kInvalidArgument when the keys are not
// the ones the statement names or PeekKeyRollover would refuse it.
StatusOr<cg::v1::Envelope> SignKeyRollover(cg::v1::KeyRollover rollover, const SigningKey& retired,
                                           const SigningKey& successor);

// The statement inside an envelope, NOT verified (signatures are the trust list's
// job), but checked for form: the payload type; at most kMaxRolloverSignatures
// signatures; version 1; a node id; two distinct 32-byte keys whose key ids match
// them; signed_at; the retired key's not_after, after signed_at; the successor's
// not_before, within kRolloverClockSkew of signed_at (and before its not_after,
// if it has one). kInvalidArgument naming what is wrong ("wrong payload type",
// "malformed rollover payload: ..."); kResourceExhausted when the payload is over
// kMaxEnvelopeBytes.
StatusOr<cg::v1::KeyRollover> PeekKeyRollover(const cg::v1::Envelope& envelope);

// Parses a chain as served at GET /v1/keys/signed or written by `key rollover`:
// protobuf JSON when the first non-blank byte is '{', binary protobuf otherwise.
// kResourceExhausted over kMaxRolloverChainBytes or kMaxRolloverChainLength
// statements; kInvalidArgument when it is not a chain. Statements are not checked.
StatusOr<cg::v1::KeyRolloverChain> ParseRolloverChain(std::string_view bytes);

// Reads a chain file (as ParseRolloverChain). Errors name the file; reading errors
// as ReadFileLimited (kNotFound, kPermissionDenied, ...).
StatusOr<cg::v1::KeyRolloverChain> LoadRolloverChain(const std::string& path);

}  // namespace cg::crypto
