// The public keys a verifier trusts, by issuing node. Built from trust files (JSON of
// cg.v1.TrustList, as `credit-gateway key export` writes them) or from the node's
// configuration, and extended by signed key rollovers (crypto/key_rollover.h).
// Const methods are safe to call from several threads at once; Add, Merge and
// AcceptRollover* must not run concurrently with anything else (a server applies
// rollovers to a copy and swaps it in).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proto/envelope.pb.h"
#include "proto/keys.pb.h"
#include "specs/status.h"
#include "specs/timestamps.h"

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

  // Checks a rollover statement (crypto/key_rollover.h) against this list and, if
  // it holds, trusts its successor key for the issuer with the validity the
  // statement gives it, and closes the retired key: its trusted not_after becomes
  // the statement's (or stays earlier, if it already was). Returns true when the
  // successor was added, false when it was already trusted for that issuer (the
  // retired key is still closed). Checks, in order, each refusal naming what
  // failed: the form (PeekKeyRollover: kInvalidArgument for a wrong payload type or
  // a malformed payload; kResourceExhausted when oversized); then, each
  // kPermissionDenied: the node is a trusted issuer ("unknown issuer") of the same
  // side ("side mismatch"); the retired key is trusted for it ("untrusted outgoing
  // key"); a signature by the retired key verifies with the trusted public key
  // ("bad signature by the outgoing key"); signed_at lies in that key's trusted
  // validity ("signed outside the outgoing key's validity") and not after
  // `now` + kRolloverClockSkew ("signed in the future"); a signature by the
  // successor verifies ("successor signature missing or bad"); the successor is no
  // other issuer's key; and a key the list already holds as RETIRED introduces no
  // successor the list does not know ("already retired"): after its retirement a
  // leaked old key must not be able to fork the chain. Never modifies the list on
  // error.
  StatusOr<bool> AcceptRollover(const cg::v1::Envelope& statement, Clock::time_point now);

  // Applies the statements of `chain` in order, so a list that missed several
  // rotations catches up (key1 -> key2 -> key3); statements already applied are
  // no-ops. All or nothing: on the first refusal the list is unchanged and the
  // error says which statement ("rollover statement 2 of 3: ..."). Returns the
  // number of keys added. kResourceExhausted over kMaxRolloverChainLength.
  StatusOr<size_t> AcceptRolloverChain(const cg::v1::KeyRolloverChain& chain,
                                       Clock::time_point now);

  // The trusted key with this id, or nullptr.
  const TrustedKey* FindKey(std::string_view key_id) const;
  bool HasIssuer(std::string_view node_id) const;
  size_t key_count() const { return keys_.size(); }
  const std::vector<std::string>& issuers() const { return issuers_; }

  // The keys trusted for one issuer, ordered by not_before then key id; no keys
  // for an unknown issuer.
  cg::v1::IssuerKeys IssuerKeysOf(std::string_view node_id) const;
  // Everything trusted, as a trust file holds it (issuers in the order they were
  // first added): what a node saves after accepting rollovers. LoadFiles of its
  // JSON gives back an equal list.
  cg::v1::TrustList ToProto() const;

 private:
  std::unordered_map<std::string, TrustedKey> keys_;
  std::vector<std::string> issuers_;
};

// Whether `key` may sign at `t`: not_before <= t < not_after, unset bounds open.
bool KeyValidAt(const cg::v1::PublicKeyEntry& key, Clock::time_point t);
// "from 2026-01-01T00:00:00Z until open-ended": the key's period, for messages.
std::string KeyPeriod(const cg::v1::PublicKeyEntry& key);

}  // namespace cg::crypto
