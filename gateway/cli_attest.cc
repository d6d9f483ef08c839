// attest: sign an evaluation given as JSON into an attestation envelope.
#include <fmt/core.h>

#include "config/node_config.h"
#include "crypto/attestation.h"
#include "crypto/dsse.h"
#include "gateway/cli.h"
#include "gateway/node_keys.h"
#include "mapping/evaluation.h"
#include "specs/file_io.h"
#include "specs/json.h"

namespace cg::gateway {
namespace {

// An evaluation file is small; anything larger is a mistake.
constexpr size_t kMaxEvaluationFileBytes = 1 << 20;
// No attestation is valid for more than ten years.
constexpr std::chrono::seconds kMaxValidity{3660LL * 86400};

struct AttestOptions {
  KeyOptions key;
  std::string config_file;
  std::string evaluation_file;
  std::string out;
  crypto::EnvelopeEncoding encoding = crypto::EnvelopeEncoding::kJson;
  std::string valid_for;  // default: the config's signing.validity_days, else 30d
  std::string audience;
  std::string nonce;
  std::string consent_ref;
  std::string purpose;
  std::string supersedes;
  uint64_t status_index = 0;
  std::string at;
};

int Attest(const AttestOptions& o) {
  auto text = ReadFileLimited(o.evaluation_file, kMaxEvaluationFileBytes);
  if (!text.ok()) return ReportError(text.status().WithContext("evaluation file"));
  cg::v1::Attestation attestation;
  attestation.set_kind(cg::v1::ATTESTATION_KIND_ATTESTATION);
  if (Status parsed = JsonToMessage(*text, attestation.mutable_evaluation()); !parsed.ok()) {
    return ReportError(parsed.WithContext(o.evaluation_file + " is not an evaluation"));
  }
  if (Status valid = mapping::ValidateEvaluation(attestation.evaluation()); !valid.ok()) {
    return ReportError(valid.WithContext(o.evaluation_file));
  }
  std::string valid_for = o.valid_for.empty() ? "30d" : o.valid_for;
  StatusOr<crypto::KeySet> keys = FailedPreconditionError("no key");
  if (!o.config_file.empty()) {
    auto config = config::LoadNodeConfig(o.config_file);
    if (!config.ok()) return ReportError(config.status());
    if (o.valid_for.empty()) valid_for = std::to_string(config->signing.validity_days) + "d";
    keys = LoadSigningKeys(*config, o.key.plaintext_for_tests);
  } else if (!o.key.key_file.empty()) {
    auto passphrase = ReadKeyPassphrase(o.key);
    if (!passphrase.ok()) return ReportError(passphrase.status());
    keys = LoadKeySet(o.key, *passphrase);
  } else {
    return ReportError(InvalidArgumentError("give --key FILE or --config FILE"));
  }
  auto validity = ParseDuration(valid_for);
  if (!validity.ok()) return ReportError(validity.status().WithContext("--valid-for"));
  if (validity->count() == 0 || *validity > kMaxValidity) {
    return ReportError(InvalidArgumentError("--valid-for must be more than 0 and at most 3660d"));
  }
  Clock::time_point issued_at = std::chrono::floor<std::chrono::seconds>(Clock::now());
  if (!o.at.empty()) {
    auto at = ParseRfc3339(o.at);
    if (!at.ok()) return ReportError(at.status().WithContext("--at"));
    issued_at = *at;
  }
  if (!keys.ok()) return ReportError(keys.status());

  attestation.set_attestation_id(crypto::NewAttestationId());
  attestation.mutable_issuer()->set_node_id(keys->node_id());
  attestation.mutable_issuer()->set_side(keys->side());
  *attestation.mutable_issued_at() = ToProtoTimestamp(issued_at);
  *attestation.mutable_valid_until() = ToProtoTimestamp(issued_at + *validity);
  attestation.set_audience(o.audience);
  attestation.set_nonce(o.nonce);
  attestation.set_consent_ref(o.consent_ref);
  attestation.set_purpose(o.purpose);
  attestation.set_supersedes(o.supersedes);
  attestation.set_status_index(o.status_index);
  const std::string id = attestation.attestation_id();
  const std::string subject = attestation.evaluation().subject().id();
  auto envelope = crypto::SignAttestation(std::move(attestation), keys->active_key());
  if (!envelope.ok()) return ReportError(envelope.status());
  const unsigned mode = 0644;
  if (Status written =
          WriteFileAtomically(o.out, crypto::EncodeEnvelope(*envelope, o.encoding), mode);
      !written.ok()) {
    return ReportError(written);
  }
  fmt::print("signed attestation {} for {} with key {} -> {}\n", id, subject,
             keys->active_key().key_id(), o.out);
  return kExitOk;
}

}  // namespace

void AddAttestCommand(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<AttestOptions>();
  auto* attest = app.add_subcommand(
      "attest", "Sign an evaluation (JSON of cg.v1.Evaluation) into an attestation envelope");
  AddKeyOptions(*attest, o->key, /*key_required=*/false);
  attest
      ->add_option("--config", o->config_file,
                   "Node configuration: its signing key and default validity (instead of --key)")
      ->excludes("--key");
  attest->add_option("--evaluation", o->evaluation_file, "Evaluation JSON file")
      ->required()
      ->check(CLI::ExistingFile);
  attest->add_option("--out", o->out, "Envelope file to write")->required();
  const std::map<std::string, crypto::EnvelopeEncoding> encodings{
      {"json", crypto::EnvelopeEncoding::kJson}, {"binary", crypto::EnvelopeEncoding::kBinary}};
  attest->add_option("--format", o->encoding, "json (DSSE JSON) or binary (protobuf)")
      ->transform(CLI::CheckedTransformer(encodings))
      ->default_str("json");
  attest->add_option("--valid-for", o->valid_for,
                     "Validity, e.g. 30d, 12h (default: the config's, else 30d)");
  attest->add_option("--audience", o->audience, "Relying party it is meant for");
  attest->add_option("--nonce", o->nonce, "The requester's nonce to bind");
  attest->add_option("--consent", o->consent_ref, "Consent reference");
  attest->add_option("--purpose", o->purpose, "Purpose of the request");
  attest->add_option("--supersedes", o->supersedes, "Id of the attestation this one replaces");
  attest->add_option("--status-index", o->status_index, "Index in the issuer's status list");
  attest->add_option("--at", o->at, "Issue time (RFC 3339) instead of now");
  attest->callback([o, &exit_code] { exit_code = Attest(*o); });
}

}  // namespace cg::gateway
