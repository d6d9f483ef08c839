// The public keys a verifier trusts, by issuing node. Built from trust files (JSON of
// cg.v1.TrustList, as `credit-gateway key export` writes them) or from the node's
// configuration. Immutable after loading; safe to share between threads for reads.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proto/keys.pb.h"
#include "specs/status.h"

namespace cg::crypto {

struct TrustedKey {
  std::string node_id;  // the issuer this key may sign for
  std::string side;
  cg::v1::PublicKeyEntry entry;
};

class TrustList {
 public:
  // The largest trust file read, in bytes.
  static constexpr size_t kMaxTrustFileBytes = 1 << 20;

  TrustList() = default;

  // Reads and merges trust files. Errors name the file: kNotFound, kInvalidArgument
  // (not a trust list, a key whose id does not match it, one key id claimed by two
  // issuers).
  static StatusOr<TrustList> LoadFiles(const std::vector<std::string>& paths);

  // Adds an issuer's keys. Adding the same key for the same issuer twice is fine.
  Status Add(const cg::v1::IssuerKeys& issuer);
  Status Add(const cg::v1::TrustList& list);
  // Adds every key of `other`, with the same checks as Add.
  Status Merge(const TrustList& other);

  // The trusted key with this id, or nullptr.
  const TrustedKey* FindKey(std::string_view key_id) const;
  bool HasIssuer(std::string_view node_id) const;
  size_t key_count() const { return keys_.size(); }
  const std::vector<std::string>& issuers() const { return issuers_; }

 private:
  std::unordered_map<std::string, TrustedKey> keys_;
  std::vector<std::string> issuers_;
};

}  // namespace cg::crypto
