#include "crypto/key_set.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "crypto/key_rollover.h"
#include "crypto/sodium.h"
#include "specs/file_io.h"
#include "specs/json.h"

namespace cg::crypto {
namespace {

// Room for the keys and kMaxRolloverChainLength rollover statements (~1 KiB each).
constexpr size_t kMaxKeySetFileBytes = 4 << 20;
constexpr size_t kMaxPassphraseFileBytes = 4096;
constexpr char kKdfName[] = "argon2id13";
constexpr char kCipherName[] = "xchacha20poly1305-ietf";

struct KdfLimits {
  unsigned long long opslimit;
  size_t memlimit;
};

KdfLimits LimitsFor(KdfStrength strength) {
  switch (strength) {
    case KdfStrength::kInteractive:
      return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
    case KdfStrength::kSensitive:
      return {crypto_pwhash_OPSLIMIT_SENSITIVE, crypto_pwhash_MEMLIMIT_SENSITIVE};
    case KdfStrength::kModerate:
    case KdfStrength::kPlaintextForTests:
      break;
  }
  return {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
}

// The associated data that binds a sealed seed to its key id and public key.
std::string SealAad(const cg::v1::PublicKeyEntry& pub) {
  return "cg-keyset-v1\n" + pub.key_id() + "\n" + pub.public_key();
}

StatusOr<std::string> DeriveKey(std::string_view passphrase, const cg::v1::SealedSecret& sealed) {
  if (sealed.salt().size() != crypto_pwhash_SALTBYTES) {
    return DataLossError("sealed key has a salt of the wrong size");
  }
  if (sealed.opslimit() < crypto_pwhash_OPSLIMIT_MIN ||
      sealed.opslimit() > crypto_pwhash_OPSLIMIT_SENSITIVE ||
      sealed.memlimit() < crypto_pwhash_MEMLIMIT_MIN ||
      sealed.memlimit() > crypto_pwhash_MEMLIMIT_SENSITIVE) {
    return DataLossError("sealed key has KDF limits out of range");
  }
  std::string key(crypto_aead_xchacha20poly1305_ietf_KEYBYTES, '\0');
  if (crypto_pwhash(reinterpret_cast<unsigned char*>(key.data()), key.size(), passphrase.data(),
                    passphrase.size(), reinterpret_cast<const unsigned char*>(sealed.salt().data()),
                    sealed.opslimit(), sealed.memlimit(), crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return ResourceExhaustedError("not enough memory to derive the key-file key (Argon2id)");
  }
  return key;
}

StatusOr<cg::v1::SealedSecret> Seal(const SigningKey& key, const cg::v1::PublicKeyEntry& pub,
                                    std::string_view passphrase, KdfStrength strength) {
  cg::v1::SealedSecret sealed;
  if (strength == KdfStrength::kPlaintextForTests) {
    sealed.set_plaintext_seed(std::string(key.seed()));
    return sealed;
  }
  if (passphrase.empty()) return InvalidArgumentError("the key passphrase is empty");
  const KdfLimits limits = LimitsFor(strength);
  std::string salt(crypto_pwhash_SALTBYTES, '\0');
  randombytes_buf(salt.data(), salt.size());
  std::string nonce(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, '\0');
  randombytes_buf(nonce.data(), nonce.size());
  sealed.set_kdf(kKdfName);
  sealed.set_opslimit(limits.opslimit);
  sealed.set_memlimit(limits.memlimit);
  sealed.set_salt(salt);
  sealed.set_cipher(kCipherName);
  sealed.set_nonce(nonce);
  CG_ASSIGN_OR_RETURN(std::string kek, DeriveKey(passphrase, sealed));
  const std::string aad = SealAad(pub);
  std::string ciphertext(key.seed().size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      reinterpret_cast<unsigned char*>(ciphertext.data()), &written,
      reinterpret_cast<const unsigned char*>(key.seed().data()), key.seed().size(),
      reinterpret_cast<const unsigned char*>(aad.data()), aad.size(), nullptr,
      reinterpret_cast<const unsigned char*>(nonce.data()),
      reinterpret_cast<const unsigned char*>(kek.data()));
  sodium_memzero(kek.data(), kek.size());
  ciphertext.resize(written);
  sealed.set_ciphertext(std::move(ciphertext));
  return sealed;
}

KdfStrength StrengthOf(const cg::v1::SealedSecret& sealed) {
  if (!sealed.plaintext_seed().empty()) return KdfStrength::kPlaintextForTests;
  if (sealed.memlimit() >= crypto_pwhash_MEMLIMIT_SENSITIVE) return KdfStrength::kSensitive;
  if (sealed.memlimit() >= crypto_pwhash_MEMLIMIT_MODERATE) return KdfStrength::kModerate;
  return KdfStrength::kInteractive;
}

StatusOr<std::string> Unseal(const cg::v1::SealedSecret& sealed, const cg::v1::PublicKeyEntry& pub,
                             std::string_view passphrase, const KeySetLoadOptions& options) {
  if (!sealed.plaintext_seed().empty()) {
    if (!options.allow_plaintext) {
      return FailedPreconditionError(
          "the signing key is stored unencrypted; plaintext keys are for tests only "
          "(re-create it with a passphrase)");
    }
    return sealed.plaintext_seed();
  }
  if (sealed.kdf() != kKdfName || sealed.cipher() != kCipherName) {
    return DataLossError("sealed key uses an unknown KDF or cipher ('" + sealed.kdf() + "', '" +
                         sealed.cipher() + "')");
  }
  if (sealed.nonce().size() != crypto_aead_xchacha20poly1305_ietf_NPUBBYTES ||
      sealed.ciphertext().size() != kEd25519SeedBytes + crypto_aead_xchacha20poly1305_ietf_ABYTES) {
    return DataLossError("sealed key has a nonce or ciphertext of the wrong size");
  }
  if (passphrase.empty()) return FailedPreconditionError("no passphrase given for the key file");
  CG_ASSIGN_OR_RETURN(std::string kek, DeriveKey(passphrase, sealed));
  const std::string aad = SealAad(pub);
  std::string seed(kEd25519SeedBytes, '\0');
  unsigned long long written = 0;
  const int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
      reinterpret_cast<unsigned char*>(seed.data()), &written, nullptr,
      reinterpret_cast<const unsigned char*>(sealed.ciphertext().data()),
      sealed.ciphertext().size(), reinterpret_cast<const unsigned char*>(aad.data()), aad.size(),
      reinterpret_cast<const unsigned char*>(sealed.nonce().data()),
      reinterpret_cast<const unsigned char*>(kek.data()));
  sodium_memzero(kek.data(), kek.size());
  if (rc != 0) {
    // Poly1305 cannot tell a wrong passphrase from a changed file; say both.
    return UnauthenticatedError(
        "cannot decrypt the signing key: wrong passphrase, or the key file was altered");
  }
  return seed;
}

cg::v1::PublicKeyEntry NewPublicEntry(const SigningKey& key, Clock::time_point now) {
  cg::v1::PublicKeyEntry pub;
  pub.set_key_id(key.key_id());
  pub.set_public_key(key.public_key());
  // Whole seconds, like attestations' issued_at, so a key is valid for what it
  // signs in the second it was made.
  *pub.mutable_not_before() = ToProtoTimestamp(std::chrono::floor<std::chrono::seconds>(now));
  pub.set_state(cg::v1::KEY_STATE_ACTIVE);
  return pub;
}

Status CheckPermissions(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFoundError("key file " + path + " does not exist");
    return PermissionDeniedError("cannot stat key file " + path);
  }
  if ((st.st_mode & (S_IRWXO | S_IWGRP)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return PermissionDeniedError("key file " + path + " is accessible by other users (mode " +
                                 mode + "); run: chmod 600 " + path);
  }
  return OkStatus();
}

StatusOr<cg::v1::KeySetFile> ParseKeySetFile(const std::string& path) {
  CG_RETURN_IF_ERROR(CheckPermissions(path));
  auto text = ReadFileLimited(path, kMaxKeySetFileBytes);
  if (!text.ok()) return text.status().WithContext("key file");
  cg::v1::KeySetFile file;
  Status parsed = JsonToMessage(*text, &file);
  if (!parsed.ok()) {
    return DataLossError("key file " + path + " is not a key set (" + parsed.message() + ")");
  }
  if (file.version() != 1) {
    return DataLossError("key file " + path + " has unsupported version " +
                         std::to_string(file.version()));
  }
  int active = 0;
  for (const auto& entry : file.keys()) {
    const auto& pub = entry.published();
    if (pub.public_key().size() != kEd25519PublicKeyBytes ||
        pub.key_id() != KeyIdOf(pub.public_key())) {
      return DataLossError("key file " + path +
                           " has a key whose id does not match its public key");
    }
    if (pub.state() == cg::v1::KEY_STATE_ACTIVE) ++active;
  }
  if (active != 1) {
    return DataLossError("key file " + path + " must have exactly one active key, has " +
                         std::to_string(active));
  }
  return file;
}

}  // namespace

StatusOr<std::string> ReadPassphrase(const PassphraseSource& source) {
  if (source.env_var.empty() == source.file.empty()) {
    return FailedPreconditionError(
        "give the key passphrase through exactly one of an environment variable or a file");
  }
  std::string passphrase;
  if (!source.env_var.empty()) {
    const char* value = std::getenv(source.env_var.c_str());
    if (value == nullptr || *value == '\0') {
      return FailedPreconditionError("environment variable " + source.env_var +
                                     " (the key passphrase) is not set");
    }
    passphrase = value;
  } else {
    auto text = ReadFileLimited(source.file, kMaxPassphraseFileBytes);
    if (!text.ok()) return text.status().WithContext("passphrase file");
    passphrase = text->substr(0, text->find_first_of("\r\n"));
    sodium_memzero(text->data(), text->size());
    if (passphrase.empty()) {
      return FailedPreconditionError("passphrase file " + source.file + " is empty");
    }
  }
  return passphrase;
}

StatusOr<KeySet> KeySet::Create(std::string_view node_id, std::string_view side,
                                std::string_view passphrase, KdfStrength strength,
                                Clock::time_point now) {
  EnsureSodium();
  KeySet set;
  set.file_.set_version(1);
  set.file_.set_node_id(std::string(node_id));
  set.file_.set_side(std::string(side));
  auto key = std::make_unique<SigningKey>(SigningKey::Generate());
  auto* entry = set.file_.add_keys();
  *entry->mutable_published() = NewPublicEntry(*key, now);
  CG_ASSIGN_OR_RETURN(*entry->mutable_secret(),
                      Seal(*key, entry->published(), passphrase, strength));
  set.active_ = std::move(key);
  return set;
}

StatusOr<bool> KeySet::IsSealed(const std::string& path) {
  CG_ASSIGN_OR_RETURN(cg::v1::KeySetFile file, ParseKeySetFile(path));
  for (const auto& entry : file.keys()) {
    if (entry.published().state() == cg::v1::KEY_STATE_ACTIVE) {
      return entry.secret().plaintext_seed().empty();
    }
  }
  return true;
}

StatusOr<cg::v1::KeySetFile> KeySet::LoadPublic(const std::string& path) {
  CG_ASSIGN_OR_RETURN(cg::v1::KeySetFile file, ParseKeySetFile(path));
  for (auto& entry : *file.mutable_keys()) entry.clear_secret();
  return file;
}

StatusOr<KeySet> KeySet::Load(const std::string& path, std::string_view passphrase,
                              const KeySetLoadOptions& options) {
  EnsureSodium();
  CG_ASSIGN_OR_RETURN(cg::v1::KeySetFile file, ParseKeySetFile(path));
  KeySet set;
  for (const auto& entry : file.keys()) {
    if (entry.published().state() != cg::v1::KEY_STATE_ACTIVE) continue;
    auto seed = Unseal(entry.secret(), entry.published(), passphrase, options);
    if (!seed.ok()) return seed.status().WithContext("key file " + path);
    auto key = SigningKey::FromSeed(*seed);
    sodium_memzero(seed->data(), seed->size());
    if (!key.ok() || key->public_key() != entry.published().public_key()) {
      return DataLossError("key file " + path + ": the secret does not match the public key");
    }
    set.active_ = std::make_unique<SigningKey>(std::move(key).value());
  }
  set.file_ = std::move(file);
  return set;
}

Status KeySet::Save(const std::string& path) const {
  return WriteFileAtomically(path, MessageToJson(file_), 0600);
}

Status KeySet::Rotate(std::string_view passphrase, Clock::time_point now) {
  if (static_cast<size_t>(file_.rollovers_size()) >= kMaxRolloverChainLength) {
    return ResourceExhaustedError("the key set already holds " +
                                  std::to_string(file_.rollovers_size()) +
                                  " rollover statements, the most a peer accepts");
  }
  // Whole seconds, like attestations' issued_at and the keys' validity.
  const Clock::time_point at = std::chrono::floor<std::chrono::seconds>(now);
  int active_index = -1;
  for (int i = 0; i < file_.keys_size(); ++i) {
    if (file_.keys(i).published().state() == cg::v1::KEY_STATE_ACTIVE) active_index = i;
  }
  if (active_index < 0) return FailedPreconditionError("the key set has no active key");
  const cg::v1::KeySetEntry& active = file_.keys(active_index);
  if (active.published().has_not_before() &&
      at < FromProtoTimestamp(active.published().not_before())) {
    return FailedPreconditionError("cannot rotate at " + FormatRfc3339(at) +
                                   ": the active key is valid only from " +
                                   FormatRfc3339(active.published().not_before()));
  }

  auto next = std::make_unique<SigningKey>(SigningKey::Generate());
  cg::v1::KeySetEntry fresh;
  *fresh.mutable_published() = NewPublicEntry(*next, at);
  CG_ASSIGN_OR_RETURN(*fresh.mutable_secret(),
                      Seal(*next, fresh.published(), passphrase, StrengthOf(active.secret())));

  // Valid kRotationOverlap beyond the rotation: a serving node goes on signing with
  // the key it holds in memory until it reloads the key set (SIGHUP), and what it
  // signs meanwhile stays valid; so does the rollover statement signed at `at`. Its
  // secret is erased from the file below.
  cg::v1::PublicKeyEntry retired = active.published();
  retired.set_state(cg::v1::KEY_STATE_RETIRED);
  *retired.mutable_not_after() = ToProtoTimestamp(at + kRotationOverlap);

  cg::v1::KeyRollover rollover;
  rollover.set_node_id(file_.node_id());
  rollover.set_side(file_.side());
  *rollover.mutable_retired() = retired;
  *rollover.mutable_successor() = fresh.published();
  *rollover.mutable_signed_at() = ToProtoTimestamp(at);
  CG_ASSIGN_OR_RETURN(cg::v1::Envelope statement,
                      SignKeyRollover(std::move(rollover), *active_, *next));

  // Nothing fails from here on: the key set changes all at once.
  cg::v1::KeySetEntry* old_entry = file_.mutable_keys(active_index);
  *old_entry->mutable_published() = std::move(retired);
  old_entry->clear_secret();
  *file_.add_keys() = std::move(fresh);
  *file_.add_rollovers() = std::move(statement);
  active_ = std::move(next);
  return OkStatus();
}

cg::v1::IssuerKeys KeySet::PublicKeys() const { return PublicKeysOf(file_); }

cg::v1::KeyRolloverChain KeySet::RolloverChain() const { return RolloverChainOf(file_); }

cg::v1::IssuerKeys PublicKeysOf(const cg::v1::KeySetFile& file) {
  cg::v1::IssuerKeys keys;
  keys.set_node_id(file.node_id());
  keys.set_side(file.side());
  for (const auto& entry : file.keys()) *keys.add_keys() = entry.published();
  return keys;
}

cg::v1::KeyRolloverChain RolloverChainOf(const cg::v1::KeySetFile& file) {
  cg::v1::KeyRolloverChain chain;
  *chain.mutable_rollovers() = file.rollovers();
  return chain;
}

}  // namespace cg::crypto
