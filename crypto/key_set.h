// A node's signing keys: one active Ed25519 key and the retired ones, kept in a key
// set file (JSON of cg.v1.KeySetFile) whose active secret is sealed with a
// passphrase: Argon2id (crypto_pwhash) derives a key that encrypts the seed with
// XChaCha20-Poly1305, the key id and public key bound as associated data.
// Retired keys keep only their public half and validity period.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "crypto/ed25519.h"
#include "proto/keys.pb.h"
#include "specs/status.h"
#include "specs/timestamps.h"

namespace cg::crypto {

// How hard the passphrase is to guess by brute force; libsodium's presets.
enum class KdfStrength {
  kInteractive,        // 64 MiB, 2 passes: tests and development
  kModerate,           // 256 MiB, 3 passes: the default for nodes
  kSensitive,          // 1 GiB, 4 passes
  kPlaintextForTests,  // not sealed at all; loads only with allow_plaintext
};

// Where a passphrase comes from: the named environment variable, or a file whose
// first line is the passphrase. Exactly one should be set.
struct PassphraseSource {
  std::string env_var;
  std::string file;
};

// Reads the passphrase. Errors: neither or both set, or an unset/empty variable
// (kFailedPrecondition); an unreadable file (kNotFound/kPermissionDenied).
StatusOr<std::string> ReadPassphrase(const PassphraseSource& source);

struct KeySetLoadOptions {
  // Accept a key set whose secret is stored unencrypted. Tests only.
  bool allow_plaintext = false;
};

// How long a retired key stays valid after a rotation: a serving node that was
// running when its key set was rotated signs with the old key until it reloads it
// (SIGHUP); what it signs in that time must verify. A key suspected of compromise
// is a matter for revocation, not rotation.
inline constexpr std::chrono::seconds kRotationOverlap{600};

class KeySet {
 public:
  // A new key set for node `node_id` of `side` with one fresh active key valid from
  // `now`, sealed with `passphrase` (which must not be empty unless `strength` is
  // kPlaintextForTests, when it is ignored).
  static StatusOr<KeySet> Create(std::string_view node_id, std::string_view side,
                                 std::string_view passphrase, KdfStrength strength,
                                 Clock::time_point now);

  // Loads and unseals a key set file. Errors name the file and say what is wrong:
  // kNotFound (no file), kPermissionDenied (readable or writable by others, or not
  // readable), kDataLoss (not a key set, or corrupted), kUnauthenticated (wrong
  // passphrase), kFailedPrecondition (plaintext key without allow_plaintext).
  static StatusOr<KeySet> Load(const std::string& path, std::string_view passphrase,
                               const KeySetLoadOptions& options = {});

  // Whether the active key's secret is sealed with a passphrase (false: a plaintext
  // test key). Errors as LoadPublic.
  static StatusOr<bool> IsSealed(const std::string& path);

  // Reads only the public part (no passphrase needed): for `key export`.
  static StatusOr<cg::v1::KeySetFile> LoadPublic(const std::string& path);

  // Writes the key set to `path` with mode 0600, atomically (temporary file, fsync,
  // rename), so a crash leaves either the old or the new file.
  Status Save(const std::string& path) const;

  // Retires the active key and makes a fresh key active, sealed with the same
  // strength and `passphrase`. With t = `now` floored to whole seconds: the new key
  // is valid from t; the old one until t + kRotationOverlap (exclusive) and its
  // secret is erased. Before erasing it,
  // records a rollover statement (crypto/key_rollover.h) with signed_at = t, signed
  // by the old key and by the new one, appended to rollovers(). Errors:
  // kFailedPrecondition when t is before the active key's not_before (the old key
  // could not sign the statement); kResourceExhausted at kMaxRolloverChainLength
  // statements; sealing errors as Create. On error the key set is unchanged.
  Status Rotate(std::string_view passphrase, Clock::time_point now);

  const SigningKey& active_key() const { return *active_; }
  const std::string& node_id() const { return file_.node_id(); }
  const std::string& side() const { return file_.side(); }

  // The published form: every key's public half and validity.
  cg::v1::IssuerKeys PublicKeys() const;

  // Every rollover statement made by Rotate, oldest first: what the node serves at
  // GET /v1/keys/signed. Empty for a key set never rotated since signed rollover
  // existed.
  cg::v1::KeyRolloverChain RolloverChain() const;

 private:
  KeySet() = default;
  cg::v1::KeySetFile file_;
  std::unique_ptr<SigningKey> active_;
};

// Published keys of a key set file, without unsealing it.
cg::v1::IssuerKeys PublicKeysOf(const cg::v1::KeySetFile& file);

// The rollover statements of a key set file (as KeySet::RolloverChain), without
// unsealing it: for `key rollover`.
cg::v1::KeyRolloverChain RolloverChainOf(const cg::v1::KeySetFile& file);

}  // namespace cg::crypto
