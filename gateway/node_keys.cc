#include "gateway/node_keys.h"

#include "crypto/ed25519.h"
#include "crypto/encoding.h"
#include "specs/file_io.h"
#include "specs/json.h"

namespace cg::gateway {

StatusOr<crypto::TrustList> LoadTrustList(const config::NodeConfig& config, bool include_own) {
  crypto::TrustList trust;
  for (const auto& peer : config.trust) {
    if (!peer.keys_file.empty()) {
      auto text = ReadFileLimited(peer.keys_file, crypto::TrustList::kMaxTrustFileBytes);
      if (!text.ok()) return text.status().WithContext(peer.origin + ": keys_file");
      cg::v1::TrustList list;
      if (Status parsed = JsonToMessage(*text, &list); !parsed.ok()) {
        return parsed.WithContext(peer.origin + ": keys_file " + peer.keys_file +
                                  " is not a trust list");
      }
      for (const auto& issuer : list.issuers()) {
        if (issuer.node_id() != peer.node_id) {
          return InvalidArgumentError(peer.origin + ": keys_file " + peer.keys_file +
                                      " holds keys of '" + issuer.node_id() + "', not of '" +
                                      peer.node_id + "'");
        }
        CG_RETURN_IF_ERROR(trust.Add(issuer).WithContext(peer.origin));
      }
    }
    cg::v1::IssuerKeys inline_keys;
    inline_keys.set_node_id(peer.node_id);
    inline_keys.set_side(std::string(config::SideName(peer.side)));
    for (const auto& key : peer.keys) {
      auto raw = crypto::Base64Decode(key.public_key_base64);
      if (!raw.ok() || raw->size() != crypto::kEd25519PublicKeyBytes) {
        return InvalidArgumentError(key.origin +
                                    ": public_key must be 32 bytes of Ed25519 key in base64");
      }
      auto* entry = inline_keys.add_keys();
      entry->set_public_key(*raw);
      entry->set_key_id(key.key_id);
      if (key.not_before) *entry->mutable_not_before() = ToProtoTimestamp(*key.not_before);
      if (key.not_after) *entry->mutable_not_after() = ToProtoTimestamp(*key.not_after);
    }
    if (inline_keys.keys_size() > 0) {
      CG_RETURN_IF_ERROR(trust.Add(inline_keys).WithContext(peer.origin));
    }
  }
  if (include_own) {
    auto own = crypto::KeySet::LoadPublic(config.signing.key_file);
    if (!own.ok()) return own.status().WithContext("signing.key_file");
    CG_RETURN_IF_ERROR(trust.Add(crypto::PublicKeysOf(*own)));
  }
  return trust;
}

StatusOr<crypto::KeySet> LoadSigningKeys(const config::NodeConfig& config, bool allow_plaintext) {
  crypto::PassphraseSource source;
  if (!config.signing.passphrase_file.empty()) {
    source.file = config.signing.passphrase_file;
  } else {
    source.env_var = config.signing.passphrase_env;
  }
  std::string passphrase;
  auto read = crypto::ReadPassphrase(source);
  if (read.ok()) {
    passphrase = std::move(read).value();
  } else if (!allow_plaintext) {
    return read.status();
  }
  crypto::KeySetLoadOptions options;
  options.allow_plaintext = allow_plaintext;
  CG_ASSIGN_OR_RETURN(crypto::KeySet keys,
                      crypto::KeySet::Load(config.signing.key_file, passphrase, options));
  const std::string side(config::SideName(config.node.side));
  if (keys.node_id() != config.node.node_id || keys.side() != side) {
    return FailedPreconditionError("key set " + config.signing.key_file + " was made for node '" +
                                   keys.node_id() + "' (" + keys.side() + "), but this node is '" +
                                   config.node.node_id + "' (" + side + ")");
  }
  return keys;
}

StatusOr<crypto::Pseudonymizer> LoadPseudonymizer(const config::NodeConfig& config) {
  return crypto::Pseudonymizer::FromKeyFile(config.pseudonym.key_file);
}

}  // namespace cg::gateway
