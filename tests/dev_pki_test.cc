// The development PKI (gateway/dev_pki.h): what each certificate says, checked with
// OpenSSL's own parser and chain verification at fixed times, so the results do not
// depend on the clock.
#include "gateway/dev_pki.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/test_process.h"

namespace cg::gateway {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct KeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using CertificatePtr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

// A fixed instant, so validity windows are exact.
Clock::time_point Now() { return std::chrono::sys_days{std::chrono::year{2026} / 11 / 1}; }

CertificatePtr ParseCertificate(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  return CertificatePtr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

KeyPtr ParseKey(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  return KeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

// X509_V_OK, or the reason `leaf` does not chain to `root` (through `intermediates`)
// at `at`, for `purpose` (X509_PURPOSE_SSL_CLIENT, ...; 0: any).
int VerifyAt(const std::string& leaf_pem, const std::string& root_pem, Clock::time_point at,
             int purpose = 0, const std::vector<std::string>& intermediates = {}) {
  CertificatePtr leaf = ParseCertificate(leaf_pem);
  CertificatePtr root = ParseCertificate(root_pem);
  if (leaf == nullptr || root == nullptr) return -1;
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  X509_STORE_add_cert(store.get(), root.get());
  std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> chain(
      sk_X509_new_null(), [](STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); });
  for (const std::string& pem : intermediates) {
    sk_X509_push(chain.get(), ParseCertificate(pem).release());
  }
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> context(X509_STORE_CTX_new(),
                                                                          X509_STORE_CTX_free);
  X509_STORE_CTX_init(context.get(), store.get(), leaf.get(), chain.get());
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(context.get()), Clock::to_time_t(at));
  if (purpose != 0) X509_STORE_CTX_set_purpose(context.get(), purpose);
  if (X509_verify_cert(context.get()) == 1) return X509_V_OK;
  return X509_STORE_CTX_get_error(context.get());
}

std::string NameEntry(X509* certificate, int nid) {
  X509_NAME* name = X509_get_subject_name(certificate);
  const int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return "";
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                     static_cast<size_t>(ASN1_STRING_length(value)));
}

// "DNS:localhost", "IP:7f000001" (hex of the address bytes), "URI:urn:...".
std::vector<std::string> SubjectAltNames(X509* certificate) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    const ASN1_STRING* value = nullptr;
    std::string prefix;
    if (name->type == GEN_DNS) {
      value = name->d.dNSName;
      prefix = "DNS:";
    } else if (name->type == GEN_URI) {
      value = name->d.uniformResourceIdentifier;
      prefix = "URI:";
    } else if (name->type == GEN_IPADD) {
      value = name->d.iPAddress;
      std::string hex = "IP:";
      for (int k = 0; k < ASN1_STRING_length(value); ++k) {
        char byte[3];
        std::snprintf(byte, sizeof byte, "%02x", ASN1_STRING_get0_data(value)[k]);
        hex += byte;
      }
      out.push_back(hex);
      continue;
    }
    if (value != nullptr) {
      out.push_back(prefix +
                    std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                                static_cast<size_t>(ASN1_STRING_length(value))));
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

time_t TimeOf(const ASN1_TIME* time) {
  struct tm parts {};
  ASN1_TIME_to_tm(time, &parts);
  return timegm(&parts);
}

CertificateSpec ClientSpec(Clock::time_point not_before, Clock::time_point not_after) {
  CertificateSpec spec;
  spec.use = CertificateUse::kClient;
  spec.common_name = "test client";
  spec.organizational_unit = "bank";
  spec.not_before = not_before;
  spec.not_after = not_after;
  return spec;
}

CertifiedKey NewCa(const std::string& name) {
  CertificateSpec spec;
  spec.use = CertificateUse::kCertificateAuthority;
  spec.common_name = name;
  spec.not_before = Now() - 24h * 365 * 5;
  spec.not_after = Now() + 24h * 365 * 5;
  auto ca = CreateCertificateAuthority(spec);
  EXPECT_TRUE(ca.ok()) << ca.status().ToString();
  return ca.ok() ? *ca : CertifiedKey{};
}

DevPki NewDevPki() {
  DevPkiOptions options;
  options.node_id = "sz-node-1";
  options.firm_subject_id = "uscc:91440300MA5G2U7B88";
  options.now = Now();
  auto pki = CreateDevPki(options);
  EXPECT_TRUE(pki.ok()) << pki.status().ToString();
  return pki.ok() ? *pki : DevPki{};
}

TEST(DevPkiTest, CaIsASelfSignedP256Ca) {
  const DevPki pki = NewDevPki();
  CertificatePtr ca = ParseCertificate(pki.ca.certificate_pem);
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(X509_get_version(ca.get()), X509_VERSION_3);
  EXPECT_EQ(NameEntry(ca.get(), NID_commonName), "sz-node-1 dev CA");
  EXPECT_EQ(NameEntry(ca.get(), NID_organizationName), kDevOrganization);
  EXPECT_NE(X509_get_extension_flags(ca.get()) & EXFLAG_CA, 0u);
  EXPECT_EQ(X509_get_key_usage(ca.get()), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  int critical = 0;
  BASIC_CONSTRAINTS* constraints = static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(ca.get(), NID_basic_constraints, &critical, nullptr));
  ASSERT_NE(constraints, nullptr);
  EXPECT_EQ(critical, 1);
  BASIC_CONSTRAINTS_free(constraints);
  KeyPtr key = ParseKey(pki.ca.private_key_pem);
  ASSERT_NE(key, nullptr);
  EXPECT_TRUE(EVP_PKEY_is_a(key.get(), "EC"));
  char group[32] = {};
  size_t group_length = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(key.get(), group, sizeof group, &group_length), 1);
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_EQ(X509_check_private_key(ca.get(), key.get()), 1);
  EXPECT_EQ(TimeOf(X509_get0_notBefore(ca.get())), Clock::to_time_t(Now() - 1h));
  EXPECT_EQ(TimeOf(X509_get0_notAfter(ca.get())), Clock::to_time_t(Now() + kDevCaValidity));
  EXPECT_EQ(VerifyAt(pki.ca.certificate_pem, pki.ca.certificate_pem, Now()), X509_V_OK);
}

TEST(DevPkiTest, ServerCertificate) {
  const DevPki pki = NewDevPki();
  CertificatePtr server = ParseCertificate(pki.server.certificate_pem);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(NameEntry(server.get(), NID_commonName), "sz-node-1 dev server");
  EXPECT_EQ(X509_get_extension_flags(server.get()) & EXFLAG_CA, 0u);
  EXPECT_EQ(X509_get_extended_key_usage(server.get()), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_get_key_usage(server.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(SubjectAltNames(server.get()),
            (std::vector<std::string>{"DNS:localhost", "IP:7f000001",
                                      "IP:00000000000000000000000000000001"}));
  EXPECT_EQ(X509_check_host(server.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(TimeOf(X509_get0_notAfter(server.get())), Clock::to_time_t(Now() + kDevLeafValidity));
  EXPECT_EQ(
      VerifyAt(pki.server.certificate_pem, pki.ca.certificate_pem, Now(), X509_PURPOSE_SSL_SERVER),
      X509_V_OK);
  // A server certificate is no client certificate.
  EXPECT_EQ(
      VerifyAt(pki.server.certificate_pem, pki.ca.certificate_pem, Now(), X509_PURPOSE_SSL_CLIENT),
      X509_V_ERR_INVALID_PURPOSE);
  KeyPtr key = ParseKey(pki.server.private_key_pem);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(X509_check_private_key(server.get(), key.get()), 1);
}

TEST(DevPkiTest, OneClientCertificatePerRole) {
  const DevPki pki = NewDevPki();
  ASSERT_EQ(pki.clients.size(), std::size(config::kAllRoles));
  std::set<std::string> serials;
  for (const auto& [role, client] : pki.clients) {
    const std::string name(config::RoleName(role));
    SCOPED_TRACE(name);
    CertificatePtr certificate = ParseCertificate(client.certificate_pem);
    ASSERT_NE(certificate, nullptr);
    EXPECT_EQ(NameEntry(certificate.get(), NID_organizationalUnitName), name);
    EXPECT_EQ(NameEntry(certificate.get(), NID_commonName), "sz-node-1 dev " + name);
    EXPECT_EQ(X509_get_extended_key_usage(certificate.get()),
              static_cast<uint32_t>(XKU_SSL_CLIENT));
    EXPECT_EQ(
        VerifyAt(client.certificate_pem, pki.ca.certificate_pem, Now(), X509_PURPOSE_SSL_CLIENT),
        X509_V_OK);
    const std::vector<std::string> san = SubjectAltNames(certificate.get());
    if (role == config::Role::kFirm) {
      EXPECT_EQ(san,
                std::vector<std::string>{"URI:urn:gba-credit:subject:uscc:91440300MA5G2U7B88"});
    } else {
      EXPECT_TRUE(san.empty());
    }
    // Serials: 128 random bits, positive, all different.
    const ASN1_INTEGER* serial = X509_get0_serialNumber(certificate.get());
    std::unique_ptr<BIGNUM, decltype(&BN_free)> number(ASN1_INTEGER_to_BN(serial, nullptr),
                                                       BN_free);
    EXPECT_FALSE(BN_is_negative(number.get()));
    EXPECT_EQ(BN_num_bytes(number.get()), 16);
    char* hex = BN_bn2hex(number.get());
    serials.insert(hex);
    OPENSSL_free(hex);
  }
  EXPECT_EQ(serials.size(), pki.clients.size());
}

TEST(DevPkiTest, ExpiredCertificate) {
  const CertifiedKey ca = NewCa("test CA");
  auto expired = IssueCertificate(ClientSpec(Now() - 48h, Now() - 24h), ca);
  ASSERT_TRUE(expired.ok()) << expired.status().ToString();
  EXPECT_EQ(VerifyAt(expired->certificate_pem, ca.certificate_pem, Now()),
            X509_V_ERR_CERT_HAS_EXPIRED);
  EXPECT_EQ(VerifyAt(expired->certificate_pem, ca.certificate_pem, Now() - 36h), X509_V_OK);
}

TEST(DevPkiTest, NotYetValidCertificate) {
  const CertifiedKey ca = NewCa("test CA");
  auto future = IssueCertificate(ClientSpec(Now() + 24h, Now() + 48h), ca);
  ASSERT_TRUE(future.ok()) << future.status().ToString();
  EXPECT_EQ(VerifyAt(future->certificate_pem, ca.certificate_pem, Now()),
            X509_V_ERR_CERT_NOT_YET_VALID);
}

TEST(DevPkiTest, CertificateFromAnotherCaDoesNotVerify) {
  const CertifiedKey ours = NewCa("our CA");
  const CertifiedKey theirs = NewCa("their CA");
  auto stranger = IssueCertificate(ClientSpec(Now() - 1h, Now() + 1h), theirs);
  ASSERT_TRUE(stranger.ok()) << stranger.status().ToString();
  EXPECT_EQ(VerifyAt(stranger->certificate_pem, theirs.certificate_pem, Now()), X509_V_OK);
  EXPECT_EQ(VerifyAt(stranger->certificate_pem, ours.certificate_pem, Now()),
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}

TEST(DevPkiTest, IntermediateCa) {
  const CertifiedKey root = NewCa("root CA");
  CertificateSpec intermediate_spec;
  intermediate_spec.use = CertificateUse::kCertificateAuthority;
  intermediate_spec.common_name = "intermediate CA";
  intermediate_spec.not_before = Now() - 24h;
  intermediate_spec.not_after = Now() + 24h;
  auto intermediate = IssueCertificate(intermediate_spec, root);
  ASSERT_TRUE(intermediate.ok()) << intermediate.status().ToString();
  auto leaf = IssueCertificate(ClientSpec(Now() - 1h, Now() + 1h), *intermediate);
  ASSERT_TRUE(leaf.ok()) << leaf.status().ToString();
  EXPECT_EQ(VerifyAt(leaf->certificate_pem, root.certificate_pem, Now(), X509_PURPOSE_SSL_CLIENT,
                     {intermediate->certificate_pem}),
            X509_V_OK);
}

TEST(DevPkiTest, RejectsBadSpecsAndIssuers) {
  const CertifiedKey ca = NewCa("test CA");
  CertificateSpec spec = ClientSpec(Now(), Now() + 1h);

  CertificateSpec no_name = spec;
  no_name.common_name.clear();
  EXPECT_EQ(IssueCertificate(no_name, ca).status().code(), StatusCode::kInvalidArgument);

  CertificateSpec long_name = spec;
  long_name.organizational_unit = std::string(65, 'u');
  EXPECT_EQ(IssueCertificate(long_name, ca).status().code(), StatusCode::kInvalidArgument);

  CertificateSpec backwards = spec;
  backwards.not_after = backwards.not_before;
  EXPECT_EQ(IssueCertificate(backwards, ca).status().code(), StatusCode::kInvalidArgument);

  CertificateSpec bad_ip = spec;
  bad_ip.ip_addresses = {"127.0.0.256"};
  auto status = IssueCertificate(bad_ip, ca).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("127.0.0.256"));

  CertificateSpec bad_dns = spec;
  bad_dns.dns_names = {"has space.example"};
  EXPECT_EQ(IssueCertificate(bad_dns, ca).status().code(), StatusCode::kInvalidArgument);

  // Only a CA may be self-signed.
  EXPECT_EQ(CreateCertificateAuthority(spec).status().code(), StatusCode::kInvalidArgument);

  // The issuer must be a CA, with its own key, in PEM.
  auto leaf = IssueCertificate(spec, ca);
  ASSERT_TRUE(leaf.ok()) << leaf.status().ToString();
  status = IssueCertificate(spec, *leaf).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("not a CA"));
  const CertifiedKey mismatched{ca.certificate_pem, NewCa("other").private_key_pem};
  status = IssueCertificate(spec, mismatched).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("does not match"));
  status = IssueCertificate(spec, CertifiedKey{"not pem", ca.private_key_pem}).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("issuer certificate is not PEM X.509"));
}

TEST(DevPkiTest, WritesFilesWithTheirModes) {
  const DevPki pki = NewDevPki();
  test::TempDir dir;
  const std::string tls = dir.File("tls");
  ASSERT_TRUE(WriteDevPki(pki, tls).ok());
  auto mode_of = [](const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
  };
  EXPECT_EQ(mode_of(tls + "/ca.pem"), 0644u);
  EXPECT_EQ(mode_of(tls + "/ca.key"), 0600u);
  EXPECT_EQ(mode_of(tls + "/server.pem"), 0644u);
  EXPECT_EQ(mode_of(tls + "/server.key"), 0600u);
  for (config::Role role : config::kAllRoles) {
    const std::string base = tls + "/clients/" + std::string(config::RoleName(role));
    EXPECT_EQ(mode_of(base + ".pem"), 0644u);
    EXPECT_EQ(mode_of(base + ".key"), 0600u);
  }
  EXPECT_EQ(test::ReadWholeFile(tls + "/clients/bank.pem"),
            pki.clients.at(config::Role::kBank).certificate_pem);
}

}  // namespace
}  // namespace cg::gateway
