// verify: check an attestation, or a recognition with the attestation it
// recognises, against trust files; offline, with saved status lists if given.
#include <fmt/core.h>

#include "config/node_config.h"
#include "crypto/attestation.h"
#include "crypto/dsse.h"
#include "crypto/encoding.h"
#include "crypto/verifier.h"
#include "gateway/cli.h"
#include "gateway/node_keys.h"
#include "specs/file_io.h"
#include "specs/json.h"

namespace cg::gateway {
namespace {

struct VerifyCliOptions {
  std::vector<std::string> envelopes;
  std::vector<std::string> trust_files;
  std::string config_file;
  std::vector<std::string> status_files;
  std::string audience;
  std::string nonce;
  std::string at;
  bool json = false;
};

StatusOr<cg::v1::Envelope> ReadEnvelope(const std::string& path) {
  // One byte over the limit is enough to tell an oversized file.
  auto bytes = ReadFileLimited(path, crypto::kMaxEnvelopeBytes);
  if (!bytes.ok()) return bytes.status();
  auto envelope = crypto::DecodeEnvelope(*bytes);
  if (!envelope.ok()) return envelope.status().WithContext(path);
  return envelope;
}

std::string GradeText(const cg::v1::ScaleGrade& g) {
  return g.grade().empty() ? "-" : g.grade() + " (" + g.scale() + ")";
}

std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 200))
    out += (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) ? c : '?';
  return out;
}

void PrintAttestation(const cg::v1::Attestation& a, const std::string& indent) {
  const auto& e = a.evaluation();
  const bool recognition = a.kind() == cg::v1::ATTESTATION_KIND_RECOGNITION;
  fmt::print("{}{} {}\n", indent, recognition ? "recognition" : "attestation",
             Printable(a.attestation_id()));
  fmt::print("{}  issuer      {} ({}), key {}\n", indent, Printable(a.issuer().node_id()),
             Printable(a.issuer().side()), Printable(a.issuer().key_id()));
  fmt::print("{}  subject     {}{}\n", indent, Printable(e.subject().id()),
             e.subject().name().empty() ? "" : "  " + Printable(e.subject().name()));
  if (!e.period().empty()) fmt::print("{}  period      {}\n", indent, Printable(e.period()));
  if (recognition) {
    const auto& r = a.recognizes();
    fmt::print("{}  recognises  {} of {}: {} -> {}\n", indent, Printable(r.attestation_id()),
               Printable(r.issuer().node_id()), Printable(GradeText(r.original_grade())),
               Printable(GradeText(r.translated_grade())));
  }
  if (e.has_joint_grade()) {
    fmt::print("{}  joint       {}, PD {:.4f}%, score {}\n", indent,
               Printable(GradeText(e.joint_grade())), e.joint_pd() * 100, e.joint_score());
  }
  if (e.has_native_grade()) {
    fmt::print("{}  native      {}\n", indent, Printable(GradeText(e.native_grade())));
  }
  for (const auto& g : e.other_grades()) {
    fmt::print("{}  also        {}\n", indent, Printable(GradeText(g)));
  }
  for (const auto& r : e.reasons()) {
    fmt::print("{}  reason      {} {:+.3f}  {}\n", indent, Printable(r.code()), r.contribution(),
               Printable(r.description()));
  }
  fmt::print("{}  issued      {}, valid until {}\n", indent, FormatRfc3339(a.issued_at()),
             FormatRfc3339(a.valid_until()));
  if (!a.audience().empty()) fmt::print("{}  audience    {}\n", indent, Printable(a.audience()));
  if (!a.nonce().empty()) fmt::print("{}  nonce       {}\n", indent, Printable(a.nonce()));
  if (!a.consent_ref().empty()) {
    fmt::print("{}  consent     {}\n", indent, Printable(a.consent_ref()));
  }
  if (!a.purpose().empty()) fmt::print("{}  purpose     {}\n", indent, Printable(a.purpose()));
  if (!a.supersedes().empty()) {
    fmt::print("{}  supersedes  {}\n", indent, Printable(a.supersedes()));
  }
}

std::string StateText(const crypto::Verification& v) {
  if (!v.state) return "unknown (no status list for this issuer given; pass --status)";
  switch (*v.state) {
    case cg::v1::ATTESTATION_STATE_ACTIVE:
      return "active";
    case cg::v1::ATTESTATION_STATE_SUPERSEDED:
      return "superseded";
    case cg::v1::ATTESTATION_STATE_REVOKED:
      return "revoked";
    default:
      return "unknown";
  }
}

void PrintVerification(const crypto::Verification& v, const std::string& indent) {
  if (v.valid()) {
    fmt::print("{}VALID: signed by trusted key {}; status {}\n", indent, v.signer_key_id,
               StateText(v));
  } else {
    fmt::print("{}INVALID ({}): {}\n", indent, crypto::VerifyFailureCode(v.failure), v.reason);
  }
  if (!v.attestation.has_issuer()) return;
  if (v.signer_key_id.empty()) {
    // No trusted signature: whatever the payload says is a forger's claim.
    fmt::print("{}  what it claims (NOT authenticated, do not rely on it):\n", indent);
    PrintAttestation(v.attestation, indent + "    ");
  } else {
    PrintAttestation(v.attestation, indent + "  ");
  }
}

int Verify(const VerifyCliOptions& o) {
  if (o.envelopes.empty() || o.envelopes.size() > 2) {
    return ReportError(
        InvalidArgumentError("give one envelope, or a recognition and its attestation"));
  }
  if (o.trust_files.empty() && o.config_file.empty()) {
    return ReportError(InvalidArgumentError("give --trust FILE (published keys) or --config FILE"));
  }
  auto trust = crypto::TrustList::LoadFiles(o.trust_files);
  if (!trust.ok()) return ReportError(trust.status());
  if (!o.config_file.empty()) {
    auto config = config::LoadNodeConfig(o.config_file);
    if (!config.ok()) return ReportError(config.status());
    auto node_trust = LoadTrustList(*config, /*include_own=*/true);
    if (!node_trust.ok()) return ReportError(node_trust.status());
    if (Status merged = trust->Merge(*node_trust); !merged.ok()) return ReportError(merged);
  }
  crypto::AttestationVerifier verifier(*trust);
  for (const auto& path : o.status_files) {
    auto envelope = ReadEnvelope(path);
    if (!envelope.ok()) return ReportError(envelope.status().WithContext("status list"));
    Status added = verifier.AddStatusList(*envelope);
    if (!added.ok()) return ReportError(added.WithContext("status list " + path));
  }
  crypto::VerifyOptions options;
  if (!o.at.empty()) {
    auto at = ParseRfc3339(o.at);
    if (!at.ok()) return ReportError(at.status().WithContext("--at"));
    options.now = *at;
  }
  if (!o.audience.empty()) options.expected_audience = o.audience;
  if (!o.nonce.empty()) options.expected_nonce = o.nonce;

  std::vector<cg::v1::Envelope> envelopes;
  for (const auto& path : o.envelopes) {
    auto envelope = ReadEnvelope(path);
    if (!envelope.ok()) return ReportError(envelope.status());
    envelopes.push_back(std::move(envelope).value());
  }

  if (envelopes.size() == 2) {
    // Either order: the recognition is the one whose payload type says so.
    if (envelopes[1].payloadtype() == crypto::kRecognitionPayloadType) {
      std::swap(envelopes[0], envelopes[1]);
    }
    const crypto::PairVerification pair =
        verifier.VerifyRecognition(envelopes[0], envelopes[1], options);
    if (o.json) {
      fmt::print("{}", MessageToJson(crypto::ToReport(pair)));
    } else {
      if (pair.valid()) {
        fmt::print("VALID: the recognition and the attestation it recognises both verify\n");
      } else {
        fmt::print("INVALID ({}): {}\n", crypto::VerifyFailureCode(pair.failure), pair.reason);
      }
      PrintVerification(pair.recognition, "  ");
      PrintVerification(pair.attestation, "  ");
    }
    return pair.valid() ? kExitOk : kExitInvalid;
  }

  const crypto::Verification v = verifier.Verify(envelopes[0], options);
  if (o.json) {
    fmt::print("{}", MessageToJson(crypto::ToReport(v)));
  } else {
    PrintVerification(v, "");
    if (v.valid() && v.attestation.kind() == cg::v1::ATTESTATION_KIND_RECOGNITION) {
      fmt::print(
          "note: only the recognition was checked; give the recognised attestation too to check "
          "both\n");
    }
  }
  return v.valid() ? kExitOk : kExitInvalid;
}

}  // namespace

void AddVerifyCommand(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<VerifyCliOptions>();
  auto* verify = app.add_subcommand(
      "verify",
      "Verify an attestation envelope, or a recognition with the attestation it recognises, "
      "against trusted public keys. Exit 0 valid, 1 invalid, 2 usage or input error.");
  verify
      ->add_option("envelopes", o->envelopes,
                   "Envelope file (DSSE JSON or binary); or a recognition and its attestation")
      ->required()
      ->expected(1, 2);
  verify->add_option("--trust", o->trust_files,
                     "Trust file of issuers' public keys (from `key export`); repeatable");
  verify->add_option("--config", o->config_file,
                     "Node configuration: trust its [[trust]] peers and its own keys");
  verify->add_option("--status", o->status_files,
                     "Saved signed status list of an issuer; repeatable");
  verify->add_option("--audience", o->audience, "Require this audience");
  verify->add_option("--nonce", o->nonce, "Require this nonce");
  verify->add_option("--at", o->at, "Verify as of this time (RFC 3339) instead of now");
  verify->add_flag("--json", o->json, "Print a JSON report (cg.v1.VerificationReport)");
  verify->callback([o, &exit_code] { exit_code = Verify(*o); });
}

}  // namespace cg::gateway
