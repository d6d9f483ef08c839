// Signing and verification throughput of attestation envelopes on one core.
// Run: build/bench/attestation_bench  (figures go to bench/README.md)
#include <benchmark/benchmark.h>

#include "crypto/attestation.h"
#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "crypto/key_set.h"
#include "crypto/verifier.h"

namespace cg::crypto {
namespace {

// A realistically sized attestation: evaluation with grades, reasons and summaries.
cg::v1::Attestation SampleAttestation(const KeySet& keys) {
  cg::v1::Attestation a;
  a.set_kind(cg::v1::ATTESTATION_KIND_ATTESTATION);
  a.set_attestation_id(NewAttestationId());
  a.mutable_issuer()->set_node_id(keys.node_id());
  a.mutable_issuer()->set_side(keys.side());
  const auto now = std::chrono::floor<std::chrono::seconds>(Clock::now());
  *a.mutable_issued_at() = ToProtoTimestamp(now);
  *a.mutable_valid_until() = ToProtoTimestamp(now + std::chrono::hours(24 * 30));
  auto* e = a.mutable_evaluation();
  e->mutable_subject()->set_id("uscc:91440300MA5G2U7B88");
  e->mutable_subject()->set_name("Shenzhen Qianhai Example Trading Co., Ltd.");
  e->set_period("2026-10");
  e->set_model_version("joint-1.0.0");
  e->set_parameter_digest(std::string(32, 'p'));
  e->set_evidence_digest(std::string(32, 'e'));
  e->mutable_native_grade()->set_scale("sz-six-level");
  e->mutable_native_grade()->set_grade("A");
  e->mutable_joint_grade()->set_scale("sz-six-level");
  e->mutable_joint_grade()->set_grade("A");
  e->set_joint_pd(0.0062);
  e->set_joint_score(774);
  for (int i = 0; i < 4; ++i) {
    auto* r = e->add_reasons();
    r->set_code("REASON_" + std::to_string(i));
    r->set_description("a factor that moved the result");
    r->set_contribution(0.1 * i);
  }
  auto* owner = e->mutable_equity()->add_beneficial_owners();
  owner->set_holder_id("person:ps1-3b9f0c2a7d41e8856c0f1a2b3c4d5e6f");
  owner->set_integrated_share(0.62);
  e->mutable_performance()->set_records(148);
  a.set_audience("bank:example");
  a.set_nonce("nonce-0123456789");
  return a;
}

struct Fixture {
  KeySet keys = *KeySet::Create("sz-node-1", "sz", "", KdfStrength::kPlaintextForTests,
                                Clock::now() - std::chrono::hours(1));
  cg::v1::Attestation attestation = SampleAttestation(keys);
  cg::v1::Envelope envelope = *SignAttestation(attestation, keys.active_key());
  TrustList trust = [this] {
    TrustList t;
    (void)t.Add(keys.PublicKeys());
    return t;
  }();
};

Fixture& Shared() {
  static Fixture f;
  return f;
}

void BM_SignAttestation(benchmark::State& state) {
  Fixture& f = Shared();
  for (auto _ : state) {
    auto envelope = SignAttestation(f.attestation, f.keys.active_key());
    benchmark::DoNotOptimize(envelope);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["payload_bytes"] = static_cast<double>(f.envelope.payload().size());
}
BENCHMARK(BM_SignAttestation);

void BM_VerifyEd25519(benchmark::State& state) {
  Fixture& f = Shared();
  const std::string pae = PreAuthEncoding(f.envelope.payloadtype(), f.envelope.payload());
  for (auto _ : state) {
    bool ok = VerifyEd25519(f.keys.active_key().public_key(), pae, f.envelope.signatures(0).sig());
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifyEd25519);

// The whole offline check of a decoded envelope: signature, payload, key period,
// validity, audience and nonce.
void BM_VerifyAttestation(benchmark::State& state) {
  Fixture& f = Shared();
  AttestationVerifier verifier(f.trust);
  VerifyOptions options;
  options.expected_audience = "bank:example";
  options.expected_nonce = "nonce-0123456789";
  for (auto _ : state) {
    Verification v = verifier.Verify(f.envelope, options);
    if (!v.valid()) state.SkipWithError(v.reason.c_str());
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifyAttestation);

// As a relying party gets it: JSON or binary bytes, decoded, then verified.
void BM_DecodeAndVerify(benchmark::State& state) {
  Fixture& f = Shared();
  const auto encoding = state.range(0) == 0 ? EnvelopeEncoding::kBinary : EnvelopeEncoding::kJson;
  const std::string bytes = EncodeEnvelope(f.envelope, encoding);
  AttestationVerifier verifier(f.trust);
  VerifyOptions options;
  for (auto _ : state) {
    auto envelope = DecodeEnvelope(bytes);
    Verification v = verifier.Verify(*envelope, options);
    if (!v.valid()) state.SkipWithError(v.reason.c_str());
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(state.range(0) == 0 ? "binary" : "json");
}
BENCHMARK(BM_DecodeAndVerify)->Arg(0)->Arg(1);

}  // namespace
}  // namespace cg::crypto

BENCHMARK_MAIN();
