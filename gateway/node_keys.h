// A node's keys as its configuration names them: its own signing key set, the
// pseudonymisation key, and the trust list of peer keys (published trust files and
// inline [[trust.key]] entries).
#pragma once

#include "config/node_config.h"
#include "crypto/key_set.h"
#include "crypto/pseudonym.h"
#include "crypto/trust_list.h"
#include "specs/status.h"

namespace cg::gateway {

// The peers' keys from [[trust]]: each entry's keys_file (its issuers must be that
// entry's node) and inline keys. When `include_own` is set, the node's own public
// keys (read from its key set file without unsealing it) are added too, so the
// node verifies what it signed itself. Errors carry the config position.
StatusOr<crypto::TrustList> LoadTrustList(const config::NodeConfig& config, bool include_own);

// Unseals the node's signing keys with the configured passphrase source, and checks
// that the key set was made for this node and side.
StatusOr<crypto::KeySet> LoadSigningKeys(const config::NodeConfig& config,
                                         bool allow_plaintext = false);

StatusOr<crypto::Pseudonymizer> LoadPseudonymizer(const config::NodeConfig& config);

}  // namespace cg::gateway
