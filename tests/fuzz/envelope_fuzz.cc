// Everything a peer or a relying party can hand us as an envelope: decode it in
// either encoding, verify it alone and as a recognition pair, read it as a status
// list.
#include <string_view>

#include "crypto/attestation.h"
#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "crypto/verifier.h"
#include "tests/fuzz/fuzz_target.h"

namespace cg::fuzz {
namespace {

// The harness trusts one fixed key (seed 32 x 0x42, node sz-node-1), the key that
// signed the saved corpus, so mutations reach the checks after the signature.
struct Keys {
  crypto::SigningKey key = *crypto::SigningKey::FromSeed(std::string(32, '\x42'));
  crypto::TrustList trust = [this] {
    cg::v1::IssuerKeys issuer;
    issuer.set_node_id("sz-node-1");
    issuer.add_keys()->set_public_key(key.public_key());
    crypto::TrustList t;
    (void)t.Add(issuer);
    return t;
  }();
};

}  // namespace

CG_FUZZ_TARGET(FuzzEnvelope) {
  static const Keys* keys = new Keys();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto envelope = crypto::DecodeEnvelope(bytes);
  if (!envelope.ok()) return 0;
  crypto::AttestationVerifier verifier(keys->trust);
  (void)verifier.AddStatusList(*envelope);
  crypto::VerifyOptions options;
  options.expected_audience = "bank:example";
  auto v = verifier.Verify(*envelope, options);
  (void)crypto::ToReport(v);
  (void)verifier.VerifyRecognition(*envelope, *envelope, options);
  (void)crypto::PeekAttestation(*envelope);
  (void)crypto::EncodeEnvelope(*envelope, crypto::EnvelopeEncoding::kJson);
  return 0;
}

}  // namespace cg::fuzz
