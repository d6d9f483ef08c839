#include "gateway/entity_statement.h"

#include <cmath>
#include <cstdio>
#include <set>
#include <string>

#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "crypto/pseudonym.h"
#include "mapping/calendar.h"
#include "mapping/evaluation.h"
#include "mapping/identifier.h"

namespace cg::gateway {
namespace {

constexpr std::string_view kPersonPrefix = "person:";

// Peer-supplied text for a message: quoted, cut at 64 bytes, non-printable bytes as
// \xNN.
std::string Quote(std::string_view text) {
  std::string out = "'";
  for (char c : text.substr(0, 64)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7E) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", u);
      out += hex;
    } else {
      out += c;
    }
  }
  if (text.size() > 64) out += "...";
  return out + "'";
}

bool InRange(double v, double low, double high) {
  return std::isfinite(v) && v >= low && v <= high;
}

cg::v1::IdScheme ProtoScheme(mapping::IdScheme scheme) {
  switch (scheme) {
    case mapping::IdScheme::kUscc:
      return cg::v1::ID_SCHEME_USCC;
    case mapping::IdScheme::kHkBrn:
      return cg::v1::ID_SCHEME_HKBRN;
    case mapping::IdScheme::kHkCrn:
      return cg::v1::ID_SCHEME_HKCRN;
    case mapping::IdScheme::kLei:
      return cg::v1::ID_SCHEME_LEI;
    case mapping::IdScheme::kPerson:
      break;
  }
  return cg::v1::ID_SCHEME_UNSPECIFIED;
}

// An entity of `side` ("sz" or "hk"): what a node of that side may state. An LEI
// says nothing of where the entity is, so either side may state one.
bool OfSide(mapping::IdScheme scheme, std::string_view side) {
  if (scheme == mapping::IdScheme::kLei) return true;
  if (side == "sz") return scheme == mapping::IdScheme::kUscc;
  if (side == "hk")
    return scheme == mapping::IdScheme::kHkBrn || scheme == mapping::IdScheme::kHkCrn;
  return false;
}

Status CheckLength(std::string_view field, std::string_view value) {
  if (value.size() > kMaxStatementStringBytes) {
    return InvalidArgumentError(std::string(field) + " is longer than " +
                                std::to_string(kMaxStatementStringBytes) + " bytes");
  }
  return OkStatus();
}

int64_t UnixSeconds(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

bool KeyValidAt(const cg::v1::PublicKeyEntry& key, Clock::time_point t) {
  if (key.has_not_before() && t < FromProtoTimestamp(key.not_before())) return false;
  if (key.has_not_after() && t >= FromProtoTimestamp(key.not_after())) return false;
  return true;
}

}  // namespace

cg::v1::EntityStatement MakeEntityStatement(const cg::v1::Evaluation& evaluation,
                                            const cg::v1::Issuer& issuer, Clock::time_point now,
                                            std::chrono::seconds validity) {
  cg::v1::EntityStatement s;
  s.set_version(1);
  *s.mutable_issuer() = issuer;
  *s.mutable_subject() = evaluation.subject();
  s.set_period(evaluation.period());
  s.set_model_version(evaluation.model_version());
  s.set_native_pd(evaluation.native_pd() > 0 ? evaluation.native_pd() : evaluation.joint_pd());
  *s.mutable_native_grade() = evaluation.native_grade();
  s.set_joint_pd(evaluation.joint_pd());
  *s.mutable_joint_grade() = evaluation.joint_grade();
  for (const auto& bo : evaluation.equity().beneficial_owners()) {
    auto* owner = s.add_owners();
    owner->set_holder_id(bo.holder_id());
    const bool person = bo.holder_id().starts_with(kPersonPrefix);
    owner->set_natural_person(person);
    owner->set_jurisdiction(person ? "person"
                                   : std::string(mapping::JurisdictionOfEntityId(bo.holder_id())));
    owner->set_integrated_share(bo.integrated_share());
  }
  s.set_unknown_share(evaluation.equity().unknown_share());
  *s.mutable_issued_at() = ToProtoTimestamp(now);
  *s.mutable_valid_until() = ToProtoTimestamp(now + validity);
  return s;
}

Status ValidateEntityStatement(const cg::v1::EntityStatement& s) {
  if (s.version() != 1) {
    return InvalidArgumentError("statement version " + std::to_string(s.version()) +
                                " is not supported (only 1)");
  }
  const auto& issuer = s.issuer();
  CG_RETURN_IF_ERROR(CheckLength("issuer node id", issuer.node_id()));
  CG_RETURN_IF_ERROR(CheckLength("issuer key id", issuer.key_id()));
  if (issuer.node_id().empty()) return InvalidArgumentError("statement has no issuer node id");
  if (issuer.side() != "sz" && issuer.side() != "hk") {
    return InvalidArgumentError("issuer side " + Quote(issuer.side()) + " is not sz or hk");
  }

  // The subject: a well-formed entity id of the issuer's own side.
  const auto& subject = s.subject();
  CG_RETURN_IF_ERROR(CheckLength("subject id", subject.id()));
  CG_RETURN_IF_ERROR(CheckLength("subject name", subject.name()));
  CG_RETURN_IF_ERROR(CheckLength("subject jurisdiction", subject.jurisdiction()));
  auto subject_id = mapping::ParseEntityId(subject.id());
  if (!subject_id.ok()) {
    return InvalidArgumentError("subject id is not well-formed: " +
                                std::string(subject_id.status().message()));
  }
  if (subject_id->is_person()) {
    return InvalidArgumentError("the subject is a natural person: statements are of entities");
  }
  if (!OfSide(subject_id->scheme, issuer.side())) {
    return InvalidArgumentError("subject " + Quote(subject.id()) + " is not an entity of side " +
                                Quote(issuer.side()) + ", the issuer's");
  }
  if (subject.scheme() != cg::v1::ID_SCHEME_UNSPECIFIED &&
      subject.scheme() != ProtoScheme(subject_id->scheme)) {
    return InvalidArgumentError("subject scheme disagrees with the prefix of " +
                                Quote(subject.id()));
  }
  if (!mapping::IsPeriod(s.period())) {
    return InvalidArgumentError("period " + Quote(s.period()) + " is not YYYY-MM");
  }
  CG_RETURN_IF_ERROR(CheckLength("model version", s.model_version()));
  for (const auto* grade : {&s.native_grade(), &s.joint_grade()}) {
    CG_RETURN_IF_ERROR(CheckLength("grade scale", grade->scale()));
    CG_RETURN_IF_ERROR(CheckLength("grade", grade->grade()));
  }

  // Risk and shares.
  if (!(std::isfinite(s.native_pd()) && s.native_pd() > 0 && s.native_pd() < 1)) {
    return InvalidArgumentError("native PD " + std::to_string(s.native_pd()) + " is not in (0, 1)");
  }
  if (!InRange(s.joint_pd(), 0, 1)) {
    return InvalidArgumentError("joint PD " + std::to_string(s.joint_pd()) + " is not in [0, 1]");
  }
  if (!InRange(s.unknown_share(), 0, 1)) {
    return InvalidArgumentError("unknown share " + std::to_string(s.unknown_share()) +
                                " is not in [0, 1]");
  }
  if (static_cast<size_t>(s.owners_size()) > kMaxStatementOwners) {
    return InvalidArgumentError("statement has " + std::to_string(s.owners_size()) +
                                " owners, more than the " + std::to_string(kMaxStatementOwners) +
                                " allowed");
  }
  std::set<std::string_view> seen;
  double total = 0;
  for (int i = 0; i < s.owners_size(); ++i) {
    const auto& owner = s.owners(i);
    const std::string which = "owner " + std::to_string(i + 1);
    CG_RETURN_IF_ERROR(CheckLength(which + " holder id", owner.holder_id()));
    CG_RETURN_IF_ERROR(CheckLength(which + " jurisdiction", owner.jurisdiction()));
    const bool person_id = owner.holder_id().starts_with(kPersonPrefix);
    if (person_id || owner.natural_person()) {
      // Never echo the id: it may be a raw person id, the thing that must not cross.
      if (!crypto::Pseudonymizer::IsPseudonym(owner.holder_id())) {
        return InvalidArgumentError(which +
                                    " is a natural person whose id is not a pseudonym "
                                    "(person:ps1-<32 hex>): raw person ids never cross");
      }
      if (!owner.natural_person()) {
        return InvalidArgumentError(which + " has a person pseudonym but natural_person false");
      }
    } else {
      auto id = mapping::ParseEntityId(owner.holder_id());
      if (!id.ok()) {
        return InvalidArgumentError(
            which + " id is not well-formed: " + std::string(id.status().message()));
      }
    }
    if (owner.holder_id() == subject.id()) {
      return InvalidArgumentError(which + " is the subject itself");
    }
    if (!seen.insert(owner.holder_id()).second) {
      return InvalidArgumentError(which + " is listed twice");
    }
    if (!InRange(owner.integrated_share(), 0, 1)) {
      return InvalidArgumentError(which + " share " + std::to_string(owner.integrated_share()) +
                                  " is not in [0, 1]");
    }
    total += owner.integrated_share();
  }
  if (total > 1 + kStatementShareTolerance) {
    return InvalidArgumentError("owners' integrated shares sum to " + std::to_string(total) +
                                ", more than 1");
  }
  if (!s.has_issued_at() || !s.has_valid_until()) {
    return InvalidArgumentError("statement needs issued_at and valid_until");
  }
  if (FromProtoTimestamp(s.valid_until()) <= FromProtoTimestamp(s.issued_at())) {
    return InvalidArgumentError("statement valid_until must be after issued_at");
  }
  return OkStatus();
}

StatusOr<cg::v1::Envelope> SignEntityStatement(cg::v1::EntityStatement statement,
                                               const crypto::SigningKey& key) {
  statement.set_version(1);
  statement.mutable_issuer()->set_key_id(key.key_id());
  CG_RETURN_IF_ERROR(ValidateEntityStatement(statement).WithContext("refusing to sign"));
  return crypto::SignEnvelope(kEntityStatementPayloadType, statement.SerializeAsString(), key);
}

StatusOr<cg::v1::EntityStatement> VerifyEntityStatement(const cg::v1::Envelope& envelope,
                                                        const crypto::TrustList& trust,
                                                        Clock::time_point now) {
  // 1. What it claims to be.
  if (envelope.payloadtype() != kEntityStatementPayloadType) {
    return InvalidArgumentError("payload type " + Quote(envelope.payloadtype()) +
                                " is not an entity statement");
  }
  if (envelope.payload().size() > kMaxStatementPayloadBytes) {
    return InvalidArgumentError("statement payload is larger than " +
                                std::to_string(kMaxStatementPayloadBytes) + " bytes");
  }

  // 2. A signature by a trusted key, before anything in the payload is believed.
  cg::v1::EntityStatement s;
  const bool parsed = s.ParseFromString(envelope.payload());
  const crypto::TrustedKey* signer = nullptr;
  bool saw_trusted_key = false;
  for (const auto& signature : envelope.signatures()) {
    const crypto::TrustedKey* key = trust.FindKey(signature.keyid());
    if (key == nullptr) continue;
    saw_trusted_key = true;
    if (crypto::VerifyEnvelopeSignature(envelope, signature, key->entry.public_key())) {
      signer = key;
      break;
    }
  }
  if (signer == nullptr) {
    if (saw_trusted_key) {
      return PermissionDeniedError(
          "the statement's signature does not verify: it was altered or forged");
    }
    // Unauthenticated here; it only makes the message precise.
    if (parsed && !trust.HasIssuer(s.issuer().node_id())) {
      return PermissionDeniedError("statement issuer " + Quote(s.issuer().node_id()) +
                                   " is not in the trust list");
    }
    std::string ids;
    for (const auto& signature : envelope.signatures()) {
      if (ids.size() > 200) break;
      ids += (ids.empty() ? "" : ", ") + Quote(signature.keyid());
    }
    return PermissionDeniedError("statement signed by key " + (ids.empty() ? "(none)" : ids) +
                                 ", which is not a trusted key of the issuer");
  }

  // 3. The content.
  if (!parsed) return InvalidArgumentError("the payload is not an entity statement message");
  CG_RETURN_IF_ERROR(ValidateEntityStatement(s));

  // 4. The payload names its signer, who speaks for its side.
  if (s.issuer().node_id() != signer->node_id || s.issuer().key_id() != signer->entry.key_id()) {
    return PermissionDeniedError("signed by key " + signer->entry.key_id() + " of " +
                                 signer->node_id + ", but the statement names issuer " +
                                 Quote(s.issuer().node_id()) + " key " +
                                 Quote(s.issuer().key_id()));
  }
  if (!signer->side.empty() && s.issuer().side() != signer->side) {
    return PermissionDeniedError("issuer " + signer->node_id + " is trusted for side " +
                                 Quote(signer->side) + ", but the statement says " +
                                 Quote(s.issuer().side()));
  }
  const Clock::time_point issued_at = FromProtoTimestamp(s.issued_at());
  if (!KeyValidAt(signer->entry, issued_at)) {
    return PermissionDeniedError("statement issued at " + FormatRfc3339(issued_at) + " with key " +
                                 signer->entry.key_id() + ", which was not valid then");
  }

  // 5. Times.
  if (issued_at > now + kStatementClockSkew) {
    return InvalidArgumentError("statement issued at " + FormatRfc3339(issued_at) +
                                ", which is in the future");
  }
  if (now >= FromProtoTimestamp(s.valid_until())) {
    return InvalidArgumentError("statement of " + s.subject().id() + " expired at " +
                                FormatRfc3339(FromProtoTimestamp(s.valid_until())));
  }
  return s;
}

StoredEntityStatement ToStoredEntityStatement(const cg::v1::EntityStatement& statement,
                                              const cg::v1::Envelope& envelope,
                                              Clock::time_point fetched_at) {
  StoredEntityStatement out;
  out.entity_id = statement.subject().id();
  out.issuer_node_id = statement.issuer().node_id();
  out.period = statement.period();
  out.native_pd = statement.native_pd();
  out.joint_pd = statement.joint_pd();
  out.grade = statement.joint_grade().grade();
  out.valid_until = UnixSeconds(FromProtoTimestamp(statement.valid_until()));
  out.fetched_at = UnixSeconds(fetched_at);
  // The signed bytes themselves when there are any, so that digests of the stored
  // statement are digests of what the issuer signed.
  out.statement = envelope.payload().empty() ? statement.SerializeAsString() : envelope.payload();
  out.envelope = envelope.SerializeAsString();
  return out;
}

bool StatementAppliesTo(const StoredEntityStatement& statement, std::string_view period) {
  if (!mapping::IsPeriod(period) || !mapping::IsPeriod(statement.period)) return false;
  if (statement.period > period) return false;  // "YYYY-MM" compares as text
  const int64_t first_day = mapping::DaysFromDate(std::string(period) + "-01");
  return statement.valid_until > first_day * 86400;
}

}  // namespace cg::gateway
