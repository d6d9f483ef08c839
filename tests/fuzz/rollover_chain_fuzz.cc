// What a peer serves at GET /v1/keys/signed and a relying party gives `trust
// accept`: a rollover chain, parsed in either encoding and applied to a trust list,
// as a whole and statement by statement.
#include <string_view>

#include "crypto/ed25519.h"
#include "crypto/key_rollover.h"
#include "crypto/trust_list.h"
#include "tests/fuzz/fuzz_target.h"

namespace cg::fuzz {
namespace {

// The harness trusts one fixed key (seed 32 x 0x42, sz-node-1, side sz), the first
// key of the saved corpus's chain (successors: seeds 0x43, 0x44), so mutations
// reach the checks after the signatures.
crypto::TrustList FirstKeyTrusted() {
  cg::v1::IssuerKeys issuer;
  issuer.set_node_id("sz-node-1");
  issuer.set_side("sz");
  issuer.add_keys()->set_public_key(
      crypto::SigningKey::FromSeed(std::string(32, '\x42'))->public_key());
  crypto::TrustList trust;
  (void)trust.Add(issuer);
  return trust;
}

}  // namespace

CG_FUZZ_TARGET(FuzzRolloverChain) {
  static const crypto::TrustList* trusted = new crypto::TrustList(FirstKeyTrusted());
  // 2031-01-01T00:00:00Z: after every statement of the corpus.
  const Clock::time_point now{std::chrono::seconds(1924992000)};
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto chain = crypto::ParseRolloverChain(bytes);
  if (!chain.ok()) return 0;
  crypto::TrustList whole = *trusted;
  (void)whole.AcceptRolloverChain(*chain, now);
  (void)whole.ToProto();
  crypto::TrustList one_by_one = *trusted;
  for (const auto& statement : chain->rollovers()) {
    (void)crypto::PeekKeyRollover(statement);
    (void)one_by_one.AcceptRollover(statement, now);
  }
  return 0;
}

}  // namespace cg::fuzz
