// keygen, key rotate, key export, key rollover, trust accept.
#include <fmt/core.h>
#include <sys/stat.h>

#include <map>

#include "config/node_config.h"
#include "crypto/encoding.h"
#include "crypto/key_rollover.h"
#include "crypto/pseudonym.h"
#include "crypto/trust_list.h"
#include "gateway/cli.h"
#include "specs/file_io.h"
#include "specs/json.h"

namespace cg::gateway {
namespace {

struct KeygenOptions {
  KeyOptions key;
  std::string node_id;
  std::string side;
  crypto::KdfStrength strength = crypto::KdfStrength::kModerate;
  bool force = false;
};

void PrintKey(const crypto::SigningKey& key) {
  fmt::print("key id      {}\npublic key  {}\n", key.key_id(),
             crypto::Base64Encode(key.public_key()));
}

int Keygen(const KeygenOptions& o) {
  struct stat st {};
  if (!o.force && ::stat(o.key.key_file.c_str(), &st) == 0) {
    return ReportError(AlreadyExistsError(
        o.key.key_file + " exists; use --force to replace it (its keys are lost)"));
  }
  auto passphrase = ReadKeyPassphrase(o.key);
  if (!passphrase.ok()) return ReportError(passphrase.status());
  const crypto::KdfStrength strength =
      o.key.plaintext_for_tests ? crypto::KdfStrength::kPlaintextForTests : o.strength;
  auto set = crypto::KeySet::Create(o.node_id, o.side, *passphrase, strength, Clock::now());
  if (!set.ok()) return ReportError(set.status());
  if (Status saved = set->Save(o.key.key_file); !saved.ok()) return ReportError(saved);
  fmt::print("wrote key set {} for node {} ({}){}\n", o.key.key_file, o.node_id, o.side,
             o.key.plaintext_for_tests ? ", UNENCRYPTED (tests only)" : ", encrypted");
  PrintKey(set->active_key());
  return kExitOk;
}

int Rotate(const KeyOptions& o) {
  auto passphrase = ReadKeyPassphrase(o);
  if (!passphrase.ok()) return ReportError(passphrase.status());
  auto set = LoadKeySet(o, *passphrase);
  if (!set.ok()) return ReportError(set.status());
  const std::string retired = set->active_key().key_id();
  Status rotated = set->Rotate(*passphrase, Clock::now());
  if (!rotated.ok()) return ReportError(rotated);
  if (Status saved = set->Save(o.key_file); !saved.ok()) return ReportError(saved);
  fmt::print("retired key {} (kept for verification of what it signed)\nnew active key:\n",
             retired);
  PrintKey(set->active_key());
  fmt::print(
      "recorded a rollover statement signed by {} and the new key ({} in the key set); peers "
      "that trust the retired key learn the new one from them: GET /v1/keys/signed, or "
      "credit-gateway key rollover --key {}\n",
      retired, set->RolloverChain().rollovers_size(), o.key_file);
  fmt::print("publish the new keys to relying parties: credit-gateway key export --key {}\n",
             o.key_file);
  return kExitOk;
}

// Writes `json` to `out`, or standard output for "" or "-".
int WriteJsonOutput(const std::string& json, const std::string& out, const std::string& what) {
  if (out.empty() || out == "-") {
    fmt::print("{}", json);
    return kExitOk;
  }
  if (Status written = WriteFileAtomically(out, json, 0644); !written.ok()) {
    return ReportError(written);
  }
  fmt::print(stderr, "wrote {} to {}\n", what, out);
  return kExitOk;
}

int Rollover(const std::string& key_file, const std::string& out) {
  auto file = crypto::KeySet::LoadPublic(key_file);
  if (!file.ok()) return ReportError(file.status());
  const cg::v1::KeyRolloverChain chain = crypto::RolloverChainOf(*file);
  return WriteJsonOutput(
      MessageToJson(chain), out,
      std::to_string(chain.rollovers_size()) + " rollover statement(s) of " + file->node_id());
}

struct TrustAcceptOptions {
  std::string trust_file;
  std::string rollover_file;
  std::string at;
};

// Verifies a rollover chain against a trust file and, when it adds or closes keys,
// rewrites the trust file with them: the offline path for a relying party.
int TrustAccept(const TrustAcceptOptions& o) {
  auto trust = crypto::TrustList::LoadFiles({o.trust_file});
  if (!trust.ok()) return ReportError(trust.status());
  auto chain = crypto::LoadRolloverChain(o.rollover_file);
  if (!chain.ok()) return ReportError(chain.status());
  Clock::time_point now = Clock::now();
  if (!o.at.empty()) {
    auto at = ParseRfc3339(o.at);
    if (!at.ok()) return ReportError(at.status().WithContext("--at"));
    now = *at;
  }
  const crypto::TrustList before = *trust;
  auto added = trust->AcceptRolloverChain(*chain, now);
  if (!added.ok()) return ReportError(added.status().WithContext(o.rollover_file));

  const cg::v1::TrustList updated = trust->ToProto();
  bool changed = false;
  for (const auto& issuer : updated.issuers()) {
    for (const auto& key : issuer.keys()) {
      const crypto::TrustedKey* old = before.FindKey(key.key_id());
      if (old == nullptr) {
        fmt::print("added key {} of {} ({}), valid {}\n", key.key_id(), issuer.node_id(),
                   issuer.side(), crypto::KeyPeriod(key));
        changed = true;
      } else if (old->entry.SerializeAsString() != key.SerializeAsString()) {
        fmt::print("retired key {} of {}: valid {}\n", key.key_id(), issuer.node_id(),
                   crypto::KeyPeriod(key));
        changed = true;
      }
    }
  }
  if (!changed) {
    fmt::print("{} already trusts every key of {} ({} statement(s)); left unchanged\n",
               o.trust_file, o.rollover_file, chain->rollovers_size());
    return kExitOk;
  }
  if (Status written = WriteFileAtomically(o.trust_file, MessageToJson(updated), 0644);
      !written.ok()) {
    return ReportError(written);
  }
  fmt::print("wrote {} ({} key(s) added)\n", o.trust_file, *added);
  return kExitOk;
}

int Export(const std::string& key_file, const std::string& out) {
  auto file = crypto::KeySet::LoadPublic(key_file);
  if (!file.ok()) return ReportError(file.status());
  cg::v1::TrustList list;
  *list.add_issuers() = crypto::PublicKeysOf(*file);
  return WriteJsonOutput(
      MessageToJson(list), out,
      std::to_string(list.issuers(0).keys_size()) + " public key(s) of " + file->node_id());
}

int NewPseudonymKey(const std::string& out, bool force) {
  struct stat st {};
  if (!force && ::stat(out.c_str(), &st) == 0) {
    return ReportError(AlreadyExistsError(
        out + " exists; use --force to replace it (pseudonyms made with it stop matching)"));
  }
  if (Status written = WriteFileAtomically(out, crypto::Pseudonymizer::NewKeyFileContents(), 0600);
      !written.ok()) {
    return ReportError(written);
  }
  fmt::print(
      "wrote a new pseudonymisation key to {}; give the same file to the other side's node\n", out);
  return kExitOk;
}

}  // namespace

void AddKeyCommands(CLI::App& app, int& exit_code) {
  auto keygen_options = std::make_shared<KeygenOptions>();
  auto* keygen = app.add_subcommand(
      "keygen",
      "Create a key set file with a fresh Ed25519 signing key, encrypted with a passphrase "
      "(Argon2id + XChaCha20-Poly1305)");
  keygen->add_option("--out", keygen_options->key.key_file, "Key set file to write")->required();
  keygen->add_option("--node-id", keygen_options->node_id, "This node's id, e.g. sz-node-1")
      ->required()
      ->check([](const std::string& id) -> std::string {
        return config::IsNodeId(id) ? std::string()
                                    : "node id must be 1-64 characters of a-z, 0-9 and '-'";
      });
  keygen->add_option("--side", keygen_options->side, "sz or hk")
      ->required()
      ->check(CLI::IsMember({"sz", "hk"}));
  const std::map<std::string, crypto::KdfStrength> strengths{
      {"interactive", crypto::KdfStrength::kInteractive},
      {"moderate", crypto::KdfStrength::kModerate},
      {"sensitive", crypto::KdfStrength::kSensitive}};
  keygen
      ->add_option("--kdf", keygen_options->strength,
                   "Argon2id cost: interactive (64 MiB), moderate (256 MiB), sensitive (1 GiB)")
      ->transform(CLI::CheckedTransformer(strengths))
      ->default_str("moderate");
  keygen
      ->add_option("--passphrase-env", keygen_options->key.passphrase_env,
                   "Environment variable holding the passphrase")
      ->capture_default_str();
  keygen->add_option("--passphrase-file", keygen_options->key.passphrase_file,
                     "File whose first line is the passphrase (instead of the variable)");
  keygen->add_flag("--plaintext-for-tests", keygen_options->key.plaintext_for_tests,
                   "Store the key unencrypted (tests only)");
  keygen->add_flag("--force", keygen_options->force, "Replace an existing key set file");
  keygen->callback([keygen_options, &exit_code] { exit_code = Keygen(*keygen_options); });

  auto* key = app.add_subcommand(
      "key", "Manage a key set: rotate, export public keys and signed rollover statements");
  key->require_subcommand(1);

  auto rotate_options = std::make_shared<KeyOptions>();
  auto* rotate = key->add_subcommand(
      "rotate", "Retire the active key (kept for verification) and make a fresh key active");
  AddKeyOptions(*rotate, *rotate_options);
  rotate->callback([rotate_options, &exit_code] { exit_code = Rotate(*rotate_options); });

  auto export_key = std::make_shared<std::string>();
  auto export_out = std::make_shared<std::string>();
  auto* export_cmd = key->add_subcommand(
      "export", "Write the public keys (active and retired, with validity) as a trust file");
  export_cmd->add_option("--key", *export_key, "Key set file")->required();
  export_cmd->add_option("--out", *export_out, "Trust file to write (default: standard output)");
  export_cmd->callback(
      [export_key, export_out, &exit_code] { exit_code = Export(*export_key, *export_out); });

  auto rollover_key = std::make_shared<std::string>();
  auto rollover_out = std::make_shared<std::string>();
  auto* rollover = key->add_subcommand(
      "rollover",
      "Write the key set's signed rollover statements (JSON of cg.v1.KeyRolloverChain), which "
      "let a relying party that trusts an old key learn its successors");
  rollover->add_option("--key", *rollover_key, "Key set file")->required();
  rollover->add_option("--out", *rollover_out, "Chain file to write (default: standard output)");
  rollover->callback([rollover_key, rollover_out, &exit_code] {
    exit_code = Rollover(*rollover_key, *rollover_out);
  });

  auto pseudonym_out = std::make_shared<std::string>();
  auto pseudonym_force = std::make_shared<bool>(false);
  auto* pseudonym = key->add_subcommand(
      "pseudonym", "Create the pseudonymisation key that both nodes share (32 random bytes, hex)");
  pseudonym->add_option("--out", *pseudonym_out, "Key file to write (mode 0600)")->required();
  pseudonym->add_flag("--force", *pseudonym_force, "Replace an existing key file");
  pseudonym->callback([pseudonym_out, pseudonym_force, &exit_code] {
    exit_code = NewPseudonymKey(*pseudonym_out, *pseudonym_force);
  });

  auto* trust = app.add_subcommand("trust", "Manage a trust file of other nodes' public keys");
  trust->require_subcommand(1);
  auto accept_options = std::make_shared<TrustAcceptOptions>();
  auto* accept = trust->add_subcommand(
      "accept",
      "Verify a node's rollover chain (from `key rollover` or GET /v1/keys/signed) against a "
      "trust file and add the successor keys it vouches for to that file");
  accept->add_option("--trust", accept_options->trust_file, "Trust file to check and update")
      ->required();
  accept->add_option("--rollover", accept_options->rollover_file, "Rollover chain file")
      ->required();
  accept->add_option("--at", accept_options->at, "Check as of this time (RFC 3339) instead of now");
  accept->callback([accept_options, &exit_code] { exit_code = TrustAccept(*accept_options); });
}

}  // namespace cg::gateway
