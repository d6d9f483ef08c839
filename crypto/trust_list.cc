#include "crypto/trust_list.h"

#include <algorithm>

#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "crypto/internal/untrusted_text.h"
#include "crypto/key_rollover.h"
#include "specs/file_io.h"
#include "specs/json.h"

namespace cg::crypto {
namespace {

using internal::QuoteUntrusted;

// Whether one of the statement's signatures is by `public_key`. Every signature is
// tried, not only the one whose keyid matches: keyid is an unauthenticated hint.
bool SignedBy(const cg::v1::Envelope& statement, std::string_view public_key) {
  for (const auto& signature : statement.signatures()) {
    if (VerifyEnvelopeSignature(statement, signature, public_key)) return true;
  }
  return false;
}

}  // namespace

bool KeyValidAt(const cg::v1::PublicKeyEntry& key, Clock::time_point t) {
  if (key.has_not_before() && t < FromProtoTimestamp(key.not_before())) return false;
  if (key.has_not_after() && t >= FromProtoTimestamp(key.not_after())) return false;
  return true;
}

std::string KeyPeriod(const cg::v1::PublicKeyEntry& key) {
  std::string from = key.has_not_before() ? FormatRfc3339(key.not_before()) : "the beginning";
  std::string until = key.has_not_after() ? FormatRfc3339(key.not_after()) : "open-ended";
  return "from " + from + " until " + until;
}

StatusOr<TrustList> TrustList::LoadFiles(const std::vector<std::string>& paths) {
  TrustList trust;
  for (const auto& path : paths) {
    auto text = ReadFileLimited(path, kMaxTrustFileBytes);
    if (!text.ok()) return text.status().WithContext("trust file");
    cg::v1::TrustList list;
    Status parsed = JsonToMessage(*text, &list);
    if (!parsed.ok()) {
      return InvalidArgumentError("trust file " + path +
                                  " is not a trust list: " + parsed.message());
    }
    Status added = trust.Add(list);
    if (!added.ok()) return added.WithContext("trust file " + path);
  }
  return trust;
}

Status TrustList::Add(const cg::v1::TrustList& list) {
  for (const auto& issuer : list.issuers()) CG_RETURN_IF_ERROR(Add(issuer));
  return OkStatus();
}

Status TrustList::Add(const cg::v1::IssuerKeys& issuer) {
  if (issuer.node_id().empty()) return InvalidArgumentError("an issuer has no node_id");
  for (const auto& entry : issuer.keys()) {
    if (entry.public_key().size() != kEd25519PublicKeyBytes) {
      return InvalidArgumentError("issuer " + issuer.node_id() + " has a key of " +
                                  std::to_string(entry.public_key().size()) +
                                  " bytes; Ed25519 keys are 32");
    }
    const std::string id = KeyIdOf(entry.public_key());
    if (!entry.key_id().empty() && entry.key_id() != id) {
      return InvalidArgumentError("issuer " + issuer.node_id() + " lists key id " + entry.key_id() +
                                  " for a public key whose id is " + id);
    }
    auto [it, inserted] = keys_.try_emplace(id);
    if (!inserted && it->second.node_id != issuer.node_id()) {
      return InvalidArgumentError("key " + id + " is claimed by both " + it->second.node_id +
                                  " and " + issuer.node_id());
    }
    it->second.node_id = issuer.node_id();
    it->second.side = issuer.side();
    it->second.entry = entry;
    it->second.entry.set_key_id(id);
  }
  if (!HasIssuer(issuer.node_id())) issuers_.push_back(issuer.node_id());
  return OkStatus();
}

Status TrustList::Merge(const TrustList& other) {
  for (const auto& [id, key] : other.keys_) {
    cg::v1::IssuerKeys issuer;
    issuer.set_node_id(key.node_id);
    issuer.set_side(key.side);
    *issuer.add_keys() = key.entry;
    CG_RETURN_IF_ERROR(Add(issuer));
  }
  return OkStatus();
}

const TrustedKey* TrustList::FindKey(std::string_view key_id) const {
  auto it = keys_.find(std::string(key_id));
  return it == keys_.end() ? nullptr : &it->second;
}

bool TrustList::HasIssuer(std::string_view node_id) const {
  return std::find(issuers_.begin(), issuers_.end(), node_id) != issuers_.end();
}

cg::v1::IssuerKeys TrustList::IssuerKeysOf(std::string_view node_id) const {
  cg::v1::IssuerKeys issuer;
  issuer.set_node_id(std::string(node_id));
  std::vector<const TrustedKey*> keys;
  for (const auto& [id, key] : keys_) {
    if (key.node_id == node_id) keys.push_back(&key);
  }
  auto from = [](const TrustedKey* k) {
    return k->entry.has_not_before() ? FromProtoTimestamp(k->entry.not_before())
                                     : Clock::time_point::min();
  };
  std::sort(keys.begin(), keys.end(), [&](const TrustedKey* a, const TrustedKey* b) {
    if (from(a) != from(b)) return from(a) < from(b);
    return a->entry.key_id() < b->entry.key_id();
  });
  if (!keys.empty()) issuer.set_side(keys.front()->side);
  for (const TrustedKey* key : keys) *issuer.add_keys() = key->entry;
  return issuer;
}

cg::v1::TrustList TrustList::ToProto() const {
  cg::v1::TrustList list;
  for (const auto& node_id : issuers_) *list.add_issuers() = IssuerKeysOf(node_id);
  return list;
}

StatusOr<bool> TrustList::AcceptRollover(const cg::v1::Envelope& statement, Clock::time_point now) {
  CG_ASSIGN_OR_RETURN(const cg::v1::KeyRollover rollover, PeekKeyRollover(statement));
  const std::string& node_id = rollover.node_id();
  const std::string& retired_id = rollover.retired().key_id();
  const std::string& successor_id = rollover.successor().key_id();

  // Who may speak for the issuer: only a key this list already trusts for it.
  if (!HasIssuer(node_id)) {
    return PermissionDeniedError("unknown issuer " + QuoteUntrusted(node_id) +
                                 ": not in the trust list");
  }
  const cg::v1::IssuerKeys issuer = IssuerKeysOf(node_id);
  if (rollover.side() != issuer.side()) {
    return PermissionDeniedError("side mismatch: the statement puts " + node_id + " on side " +
                                 QuoteUntrusted(rollover.side()) + ", the trust list on '" +
                                 issuer.side() + "'");
  }
  const TrustedKey* outgoing = FindKey(retired_id);
  if (outgoing == nullptr || outgoing->node_id != node_id) {
    return PermissionDeniedError("untrusted outgoing key " + retired_id +
                                 ": not a trusted key of " + node_id +
                                 " (a missed rotation? apply the chain from the start)");
  }
  if (!SignedBy(statement, outgoing->entry.public_key())) {
    return PermissionDeniedError("bad signature by the outgoing key " + retired_id +
                                 ": missing, or the statement was altered");
  }
  const Clock::time_point signed_at = FromProtoTimestamp(rollover.signed_at());
  if (!KeyValidAt(outgoing->entry, signed_at)) {
    return PermissionDeniedError("signed outside the outgoing key's validity: signed at " +
                                 FormatRfc3339(rollover.signed_at()) + " by key " + retired_id +
                                 ", which may sign only " + KeyPeriod(outgoing->entry));
  }
  if (signed_at > now + kRolloverClockSkew) {
    return PermissionDeniedError("signed in the future: signed_at " +
                                 FormatRfc3339(rollover.signed_at()) + " is after " +
                                 FormatRfc3339(now));
  }
  if (!SignedBy(statement, rollover.successor().public_key())) {
    return PermissionDeniedError("successor signature missing or bad: key " + successor_id +
                                 " did not sign the statement (no proof of possession)");
  }
  const TrustedKey* known = FindKey(successor_id);
  if (known != nullptr && known->node_id != node_id) {
    return PermissionDeniedError("successor key " + successor_id +
                                 " is already trusted for another issuer, " + known->node_id);
  }
  if (known == nullptr && outgoing->entry.state() == cg::v1::KEY_STATE_RETIRED) {
    return PermissionDeniedError("key " + retired_id + " is already retired in the trust list (" +
                                 KeyPeriod(outgoing->entry) +
                                 "); it cannot introduce a new successor " + successor_id);
  }

  // Accepted. Close the retired key: the statement's end, unless the list already
  // ends it earlier (a shorter period only refuses more).
  TrustedKey& retired = keys_.at(retired_id);
  if (!retired.entry.has_not_after() || FromProtoTimestamp(rollover.retired().not_after()) <
                                            FromProtoTimestamp(retired.entry.not_after())) {
    *retired.entry.mutable_not_after() = rollover.retired().not_after();
  }
  retired.entry.set_state(cg::v1::KEY_STATE_RETIRED);
  if (known != nullptr) return false;
  TrustedKey& added = keys_[successor_id];
  added.node_id = node_id;
  added.side = issuer.side();
  added.entry = rollover.successor();
  return true;
}

StatusOr<size_t> TrustList::AcceptRolloverChain(const cg::v1::KeyRolloverChain& chain,
                                                Clock::time_point now) {
  const size_t count = static_cast<size_t>(chain.rollovers_size());
  if (count > kMaxRolloverChainLength) {
    return ResourceExhaustedError("rollover chain has " + std::to_string(count) +
                                  " statements; the limit is " +
                                  std::to_string(kMaxRolloverChainLength));
  }
  // On a copy, so a refused statement leaves this list as it was.
  TrustList updated = *this;
  size_t added = 0;
  for (size_t i = 0; i < count; ++i) {
    auto accepted = updated.AcceptRollover(chain.rollovers(static_cast<int>(i)), now);
    if (!accepted.ok()) {
      return accepted.status().WithContext("rollover statement " + std::to_string(i + 1) + " of " +
                                           std::to_string(count));
    }
    if (*accepted) ++added;
  }
  *this = std::move(updated);
  return added;
}

}  // namespace cg::crypto
