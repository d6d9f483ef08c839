#include "crypto/trust_list.h"

#include <algorithm>

#include "crypto/ed25519.h"
#include "specs/file_io.h"
#include "specs/json.h"

namespace cg::crypto {

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

}  // namespace cg::crypto
