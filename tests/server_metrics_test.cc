// The server's parts that need no network: the metrics registry and its text
// format, the per-client rate limiter (with a fake clock), identities read from
// certificates, role names and the error body.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gateway/server/client_identity.h"
#include "gateway/server/http_types.h"
#include "gateway/server/metrics.h"
#include "gateway/server/rate_limiter.h"
#include "tests/server_test_pki.h"

namespace cg::gateway::server {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

TEST(MetricsRegistryTest, RendersCountersAndGaugesInTheTextFormat) {
  MetricsRegistry registry;
  auto requests = registry.AddCounter("requests_total", "Requests.", {"route", "status"});
  ASSERT_TRUE(requests.ok());
  (*requests)->WithLabels({"/v1/x", "200"}).Increment();
  (*requests)->WithLabels({"/v1/x", "200"}).Increment(2);
  (*requests)->WithLabels({"/v1/a", "404"}).Increment();
  auto open = registry.AddGauge("open_things", "Open things.");
  ASSERT_TRUE(open.ok());
  (*open)->WithLabels({}).Increment(5);
  (*open)->WithLabels({}).Decrement(1.5);

  EXPECT_EQ(registry.Render(),
            "# HELP requests_total Requests.\n"
            "# TYPE requests_total counter\n"
            "requests_total{route=\"/v1/a\",status=\"404\"} 1\n"
            "requests_total{route=\"/v1/x\",status=\"200\"} 3\n"
            "# HELP open_things Open things.\n"
            "# TYPE open_things gauge\n"
            "open_things 3.5\n");
}

TEST(MetricsRegistryTest, AnUnlabelledFamilyRendersZeroFromTheStart) {
  MetricsRegistry registry;
  ASSERT_TRUE(registry.AddCounter("attestations_issued_total", "Issued.").ok());
  EXPECT_THAT(registry.Render(), HasSubstr("\nattestations_issued_total 0\n"));
}

TEST(MetricsRegistryTest, RendersHistogramsCumulatively) {
  MetricsRegistry registry;
  auto latency = registry.AddHistogram("latency_seconds", "Latency.", {"route"}, {0.1, 1});
  ASSERT_TRUE(latency.ok());
  Histogram& histogram = (*latency)->WithLabels({"r"});
  histogram.Observe(0.05);
  histogram.Observe(0.1);  // on a bound: counted in that bucket (le = less or equal)
  histogram.Observe(0.5);
  histogram.Observe(7);
  EXPECT_EQ(registry.Render(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{route=\"r\",le=\"0.1\"} 2\n"
            "latency_seconds_bucket{route=\"r\",le=\"1\"} 3\n"
            "latency_seconds_bucket{route=\"r\",le=\"+Inf\"} 4\n"
            "latency_seconds_sum{route=\"r\"} 7.65\n"
            "latency_seconds_count{route=\"r\"} 4\n");
}

TEST(MetricsRegistryTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry registry;
  auto family = registry.AddCounter("odd_total", "Back\\slash and\nnewline.", {"v"});
  ASSERT_TRUE(family.ok());
  (*family)->WithLabels({"a\"b\\c\nd"}).Increment();
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("# HELP odd_total Back\\\\slash and\\nnewline.\n"));
  EXPECT_THAT(text, HasSubstr("odd_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"));
}

TEST(MetricsRegistryTest, RegistrationIsCheckedAndIdempotent) {
  MetricsRegistry registry;
  EXPECT_EQ(registry.AddCounter("bad-name", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("1abc", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("ok_total", "", {"__reserved"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "", {"le"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "", {}, {1, 1}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "", {}, {1, std::numeric_limits<double>::infinity()})
                .status()
                .code(),
            StatusCode::kInvalidArgument);

  auto first = registry.AddCounter("things_total", "Things.", {"kind"});
  auto again = registry.AddCounter("things_total", "Things.", {"kind"});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*first, *again);
  EXPECT_EQ(registry.AddGauge("things_total", "").status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.AddCounter("things_total", "", {"other"}).status().code(),
            StatusCode::kAlreadyExists);
}

TEST(MetricsRegistryTest, CountersIgnoreNegativeIncrements) {
  Counter counter;
  counter.Increment(2);
  counter.Increment(-1);
  EXPECT_EQ(counter.Value(), 2);
}

TEST(MetricsRegistryTest, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry registry;
  auto family = registry.AddCounter("hits_total", "", {"worker"});
  ASSERT_TRUE(family.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) (*family)->WithLabels({"all"}).Increment();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ((*family)->WithLabels({"all"}).Value(), 40000);
}

TEST(MetricsRegistryTest, LabelCombinationsAreCapped) {
  MetricsRegistry registry;
  auto family = registry.AddCounter("wide_total", "", {"v"});
  ASSERT_TRUE(family.ok());
  for (size_t i = 0; i < CounterFamily::kMaxChildren + 5; ++i)
    (*family)->WithLabels({std::to_string(i)}).Increment();
  EXPECT_EQ((*family)->WithLabels({"_overflow"}).Value(), 5);
}

// --- the rate limiter ---------------------------------------------------------

TEST(ClientRateLimiterTest, AdmitsTheBurstThenRefillsAtTheRate) {
  ClientRateLimiter limiter(/*rate_per_second=*/2, /*burst=*/3);
  const auto t0 = ClientRateLimiter::Clock::time_point{} + 1000s;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Admit("a", t0).admitted) << i;
  ClientRateLimiter::Decision refused = limiter.Admit("a", t0);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.retry_after_seconds, 1);
  EXPECT_TRUE(limiter.Admit("b", t0).admitted);  // per client
  EXPECT_TRUE(limiter.Admit("a", t0 + 500ms).admitted);
  EXPECT_FALSE(limiter.Admit("a", t0 + 500ms).admitted);
  // A long pause refills only up to the burst.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Admit("a", t0 + 100s).admitted) << i;
  EXPECT_FALSE(limiter.Admit("a", t0 + 100s).admitted);
}

TEST(ClientRateLimiterTest, RetryAfterRoundsUpToWholeSeconds) {
  ClientRateLimiter limiter(/*rate_per_second=*/0.25, /*burst=*/1);
  const auto t0 = ClientRateLimiter::Clock::time_point{} + 1000s;
  EXPECT_TRUE(limiter.Admit("a", t0).admitted);
  EXPECT_EQ(limiter.Admit("a", t0).retry_after_seconds, 4);
  EXPECT_EQ(limiter.Admit("a", t0 + 2500ms).retry_after_seconds, 2);
}

TEST(ClientRateLimiterTest, AZeroRateDisablesLimiting) {
  ClientRateLimiter limiter(0, 1);
  const auto t0 = ClientRateLimiter::Clock::time_point{};
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(limiter.Admit("a", t0).admitted);
}

TEST(ClientRateLimiterTest, ForgetsClientsWhoseBucketsAreFull) {
  ClientRateLimiter limiter(/*rate_per_second=*/10, /*burst=*/10);
  const auto t0 = ClientRateLimiter::Clock::time_point{} + 1000s;
  for (int i = 0; i < 2000; ++i) limiter.Admit("old" + std::to_string(i), t0);
  EXPECT_EQ(limiter.tracked_clients(), 2000u);
  // Much later, the next sweep drops every refilled bucket.
  for (int i = 0; i < 2000; ++i) limiter.Admit("new" + std::to_string(i), t0 + 60s);
  EXPECT_LT(limiter.tracked_clients(), 2100u);
}

// --- identities ---------------------------------------------------------------

struct X509Free {
  void operator()(X509* certificate) const { X509_free(certificate); }
};

std::unique_ptr<X509, X509Free> ParsePem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* certificate = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return std::unique_ptr<X509, X509Free>(certificate);
}

TEST(ClientIdentityTest, ReadsNamesFingerprintRoleAndSubjects) {
  test::TestCertificateAuthority ca("Identity CA");
  test::CertificateRequest request;
  request.common_name = "Firm Ltd";
  request.organizational_units = {"Customers", "Firms"};
  request.san_uris = {"urn:gba-credit:subject:uscc:91440300MA5FXXXX",
                      "urn:gba-credit:subject:", "urn:other:thing",
                      "urn:gba-credit:subject:hk-brn:12345678"};
  const test::IssuedCertificate issued = ca.Issue(request);
  auto certificate = ParsePem(issued.certificate_pem);
  ASSERT_TRUE(certificate);

  const RoleMapping roles = {{"Firms", Role::kFirm}, {"Banks", Role::kBank}};
  StatusOr<ClientIdentity> identity = ClientIdentityFromCertificate(certificate.get(), roles);
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  EXPECT_EQ(identity->common_name, "Firm Ltd");
  EXPECT_EQ(identity->fingerprint, test::CertificateFingerprint(issued.certificate_pem));
  EXPECT_EQ(identity->organizational_units, (std::vector<std::string>{"Customers", "Firms"}));
  EXPECT_EQ(identity->role, Role::kFirm);
  EXPECT_EQ(identity->subjects,
            (std::vector<std::string>{"uscc:91440300MA5FXXXX", "hk-brn:12345678"}));
  EXPECT_EQ(identity->san_uris.size(), 4u);
}

TEST(ClientIdentityTest, TwoRolesMeanNoRole) {
  test::TestCertificateAuthority ca("Identity CA");
  test::CertificateRequest request;
  request.common_name = "both";
  request.organizational_units = {"Firms", "Banks"};
  auto certificate = ParsePem(ca.Issue(request).certificate_pem);
  const RoleMapping roles = {{"Firms", Role::kFirm}, {"Banks", Role::kBank}};
  StatusOr<ClientIdentity> identity = ClientIdentityFromCertificate(certificate.get(), roles);
  ASSERT_TRUE(identity.ok());
  EXPECT_FALSE(identity->role.has_value());
  EXPECT_EQ(ClientIdentityFromCertificate(nullptr, roles).status().code(),
            StatusCode::kInvalidArgument);
}

// A client certificate under a peer node's CA, directly or through an intermediate,
// is that peer, and a peer only.
TEST(PeerAuthoritiesTest, APeerCaAnywhereAboveTheLeafMakesAPeerOnly) {
  test::TestCertificateAuthority peer_ca("HK node CA");
  test::TestCertificateAuthority intermediate("HK issuing CA");
  test::TestCertificateAuthority own_ca("SZ node CA");
  const std::string dir = ::testing::TempDir();
  const std::string ca_file = dir + "/peer-ca.pem";
  {
    std::FILE* f = std::fopen(ca_file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(peer_ca.certificate_pem().c_str(), f);
    std::fclose(f);
  }
  auto authorities = PeerAuthorities::Load({{"hk-node-1", ca_file}});
  ASSERT_TRUE(authorities.ok()) << authorities.status().ToString();

  test::CertificateRequest request;
  request.common_name = "an agency of the other side";
  request.organizational_units = {"operator"};
  auto leaf = ParsePem(intermediate.Issue(request).certificate_pem);
  auto middle = ParsePem(intermediate.certificate_pem());
  auto root = ParsePem(peer_ca.certificate_pem());
  auto own_root = ParsePem(own_ca.certificate_pem());
  const RoleMapping roles = {{"operator", Role::kOperator}, {"peer", Role::kPeer}};

  auto chain = [](std::initializer_list<X509*> certificates) {
    STACK_OF(X509)* stack = sk_X509_new_null();
    for (X509* c : certificates) sk_X509_push(stack, c);
    return std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)>(
        stack, [](STACK_OF(X509) * s) { sk_X509_free(s); });
  };
  auto under_peer = chain({leaf.get(), middle.get(), root.get()});
  EXPECT_EQ(authorities->IssuerOf(under_peer.get()), "hk-node-1");
  auto identity = ClientIdentityFromCertificate(leaf.get(), roles);
  ASSERT_TRUE(identity.ok());
  ASSERT_EQ(identity->role, Role::kOperator);
  authorities->Apply(under_peer.get(), *identity);
  EXPECT_EQ(identity->peer_node_id, "hk-node-1");
  EXPECT_FALSE(identity->role.has_value()) << "an operator OU from a peer's CA is no operator";

  request.organizational_units = {"peer"};
  auto peer_leaf = ParsePem(peer_ca.Issue(request).certificate_pem);
  auto direct = chain({peer_leaf.get(), root.get()});
  auto peer_identity = ClientIdentityFromCertificate(peer_leaf.get(), roles);
  ASSERT_TRUE(peer_identity.ok());
  authorities->Apply(direct.get(), *peer_identity);
  EXPECT_EQ(peer_identity->role, Role::kPeer);
  EXPECT_EQ(peer_identity->peer_node_id, "hk-node-1");

  // The node's own clients are not peers; the leaf itself never counts.
  auto local = chain({leaf.get(), own_root.get()});
  EXPECT_EQ(authorities->IssuerOf(local.get()), "");
  auto self_signed = chain({root.get()});
  EXPECT_EQ(authorities->IssuerOf(self_signed.get()), "");
  EXPECT_EQ(authorities->IssuerOf(nullptr), "");

  EXPECT_EQ(PeerAuthorities::Load({{"hk-node-1", dir + "/missing.pem"}}).status().code(),
            StatusCode::kNotFound);
}

TEST(ClientIdentityTest, RoleNamesRoundTrip) {
  for (const Role role : {Role::kAgency, Role::kFirm, Role::kBank, Role::kPeer, Role::kOperator})
    EXPECT_EQ(ParseRole(RoleName(role)), role);
  EXPECT_EQ(ParseRole("Bank"), std::nullopt);
  EXPECT_EQ(ParseRole(""), std::nullopt);
}

TEST(ErrorBodyTest, IsJsonWithEscapedFields) {
  EXPECT_EQ(ErrorBody("RATE_LIMITED", "say \"when\"\n", "0123456789abcdef"),
            "{\"code\":\"RATE_LIMITED\",\"message\":\"say \\\"when\\\"\\n\","
            "\"request_id\":\"0123456789abcdef\"}\n");
}

}  // namespace
}  // namespace cg::gateway::server
