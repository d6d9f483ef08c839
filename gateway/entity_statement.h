// Entity statements (specs/peer-protocol.md §4, DESIGN §2 flow 3): a node's signed
// statement about one entity of its own side (native PD and grade, joint PD and
// grade, beneficial owners with integrated shares, natural persons only as
// pseudonyms), which the other side's node verifies, stores and uses in its equity
// penetration across the border.
//
// The home node answers a peer with MakeEntityStatement + SignEntityStatement over
// the entity's latest stored evaluation; the asking node calls
// VerifyEntityStatement, then ToStoredEntityStatement and Store::PutEntityStatements.
// All functions are thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

#include "crypto/trust_list.h"
#include "gateway/store.h"
#include "proto/attestation.pb.h"
#include "proto/envelope.pb.h"
#include "proto/statement.pb.h"
#include "specs/status.h"
#include "specs/timestamps.h"

namespace cg::crypto {
class SigningKey;
}

namespace cg::gateway {

// DSSE payloadType of an entity statement; the payload is a binary
// cg.v1.EntityStatement.
inline constexpr std::string_view kEntityStatementPayloadType =
    "application/vnd.gba-credit.entity-statement+protobuf;version=1";

// Limits on what a statement may carry (it is peer-controlled input).
inline constexpr size_t kMaxStatementOwners = 1000;
inline constexpr size_t kMaxStatementStringBytes = 256;  // any one string field
inline constexpr size_t kMaxStatementPayloadBytes = 256 * 1024;
// Owners' integrated shares may sum to 1 plus this (floating-point rounding).
inline constexpr double kStatementShareTolerance = 1e-9;
// How far in the future issued_at may be (the two nodes' clocks differ).
inline constexpr std::chrono::seconds kStatementClockSkew{300};
// A statement's validity when the caller has no policy of its own: the month it
// states and a few days' grace for the next month's batch.
inline constexpr std::chrono::seconds kDefaultStatementValidity{35 * 24 * 3600};

// The statement of `evaluation`'s subject, as `issuer` states it at `now`, valid for
// `validity`. Owners are the evaluation's beneficial owners (natural_person for
// "person:" ids; jurisdiction "person", or what the id tells of an entity). An
// evaluation stored before Evaluation.native_pd existed (0 there) states its joint
// PD as its native PD, the best it has. Not signed and not checked: SignEntityStatement
// checks it.
cg::v1::EntityStatement MakeEntityStatement(const cg::v1::Evaluation& evaluation,
                                            const cg::v1::Issuer& issuer, Clock::time_point now,
                                            std::chrono::seconds validity);

// Checks a statement's content against the rules of peer-protocol.md §4 (everything
// but the signature, the issuer's keys and expiry): version 1, a well-formed entity
// subject of the issuer's side, a period, PDs and shares in range, at most
// kMaxStatementOwners well-formed distinct owners (persons as pseudonyms only) whose
// shares sum to at most 1, strings at most kMaxStatementStringBytes, issued_at
// before valid_until. kInvalidArgument naming the first thing wrong; a person id's
// value is never repeated.
Status ValidateEntityStatement(const cg::v1::EntityStatement& statement);

// Signs `statement` with `key`: sets version 1 and issuer.key_id from the key, then
// refuses (kInvalidArgument, as ValidateEntityStatement) what a peer would refuse,
// so that a raw person id is never signed.
[[nodiscard]] StatusOr<cg::v1::Envelope> SignEntityStatement(cg::v1::EntityStatement statement,
                                                             const crypto::SigningKey& key);

// Verifies an entity statement envelope from a peer, checking in order:
//   payload type and size                                  kInvalidArgument
//   a signature by a key of `trust` (unknown issuer or key,
//   a signature that does not verify)                      kPermissionDenied
//   the payload parses, ValidateEntityStatement            kInvalidArgument
//   issuer and key id in the payload are the signer's, the
//   issuer's side is the key's, the key was valid at
//   issued_at                                              kPermissionDenied
//   issued_at not after now + kStatementClockSkew, and
//   now before valid_until (not expired)                   kInvalidArgument
// Each message names what was wrong. Never crashes on any input.
[[nodiscard]] StatusOr<cg::v1::EntityStatement> VerifyEntityStatement(
    const cg::v1::Envelope& envelope, const crypto::TrustList& trust, Clock::time_point now);

// The store's row for a statement VerifyEntityStatement returned and the envelope
// it came in, fetched at `fetched_at`. The row's statement is the envelope's payload
// (the signed bytes).
StoredEntityStatement ToStoredEntityStatement(const cg::v1::EntityStatement& statement,
                                              const cg::v1::Envelope& envelope,
                                              Clock::time_point fetched_at);

// Whether a stored statement may be used when evaluating `period` (YYYY-MM): it
// states a period no later than `period`, and it was still valid on the period's
// first day (00:00 UTC). Depends on nothing but its arguments, so a batch's results
// do not depend on when it runs.
bool StatementAppliesTo(const StoredEntityStatement& statement, std::string_view period);

}  // namespace cg::gateway
