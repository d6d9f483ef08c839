#include "tests/server_test_pki.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>

namespace cg::test {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Free>;
using CertPtr = std::unique_ptr<X509, Free>;
using BioPtr = std::unique_ptr<BIO, Free>;

KeyPtr NewKey() { return KeyPtr(EVP_EC_gen("P-256")); }

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(length));
}

std::string CertificatePem(X509* certificate) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), certificate);
  return BioText(bio.get());
}

std::string KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return BioText(bio.get());
}

void AddName(X509_NAME* name, const char* field, const std::string& value) {
  X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
}

bool AddExtension(X509* certificate, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr) return false;
  const bool ok = X509_add_ext(certificate, extension, -1) == 1;
  X509_EXTENSION_free(extension);
  return ok;
}

// A certificate for `key`'s public half with the request's names and validity,
// not yet signed; `issuer` null means self-issued.
CertPtr NewCertificate(EVP_PKEY* key, X509* issuer, const CertificateRequest& request) {
  CertPtr certificate(X509_new());
  X509_set_version(certificate.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* number = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate.get()));
  BN_free(number);
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), request.not_before.count());
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), request.not_after.count());
  X509_NAME* subject = X509_get_subject_name(certificate.get());
  AddName(subject, "O", "credit-gateway tests");
  for (const std::string& unit : request.organizational_units) AddName(subject, "OU", unit);
  AddName(subject, "CN", request.common_name);
  X509_set_issuer_name(certificate.get(), issuer ? X509_get_subject_name(issuer)
                                                 : X509_get_subject_name(certificate.get()));
  X509_set_pubkey(certificate.get(), key);
  return certificate;
}

}  // namespace

struct TestCertificateAuthority::Keys {
  KeyPtr key;
  CertPtr certificate;
};

TestCertificateAuthority::TestCertificateAuthority(const std::string& common_name)
    : keys_(std::make_unique<Keys>()) {
  keys_->key = NewKey();
  if (!keys_->key) {
    ADD_FAILURE() << "EC key generation failed";
    return;
  }
  CertificateRequest request;
  request.common_name = common_name;
  keys_->certificate = NewCertificate(keys_->key.get(), nullptr, request);
  X509* ca = keys_->certificate.get();
  EXPECT_TRUE(AddExtension(ca, ca, NID_basic_constraints, "critical,CA:TRUE") &&
              AddExtension(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign") &&
              AddExtension(ca, ca, NID_subject_key_identifier, "hash"));
  EXPECT_GT(X509_sign(ca, keys_->key.get(), EVP_sha256()), 0);
  certificate_pem_ = CertificatePem(ca);
}

TestCertificateAuthority::~TestCertificateAuthority() = default;

IssuedCertificate TestCertificateAuthority::Issue(const CertificateRequest& request) const {
  IssuedCertificate issued;
  if (!keys_->certificate) {
    ADD_FAILURE() << "the CA could not be made";
    return issued;
  }
  KeyPtr key = NewKey();
  EXPECT_TRUE(key) << "EC key generation failed";
  if (!key) return issued;
  X509* ca = keys_->certificate.get();
  CertPtr certificate = NewCertificate(key.get(), ca, request);
  std::string names;
  for (const std::string& uri : request.san_uris)
    names += (names.empty() ? "" : ",") + ("URI:" + uri);
  for (const std::string& dns : request.san_dns)
    names += (names.empty() ? "" : ",") + ("DNS:" + dns);
  for (const std::string& ip : request.san_ips) names += (names.empty() ? "" : ",") + ("IP:" + ip);
  bool ok = AddExtension(certificate.get(), ca, NID_basic_constraints, "critical,CA:FALSE") &&
            AddExtension(certificate.get(), ca, NID_key_usage, "critical,digitalSignature") &&
            AddExtension(certificate.get(), ca, NID_ext_key_usage,
                         request.for_server ? "serverAuth" : "clientAuth") &&
            AddExtension(certificate.get(), ca, NID_authority_key_identifier, "keyid:always");
  if (ok && !names.empty()) ok = AddExtension(certificate.get(), ca, NID_subject_alt_name, names);
  EXPECT_TRUE(ok) << "adding extensions failed";
  EXPECT_GT(X509_sign(certificate.get(), keys_->key.get(), EVP_sha256()), 0);
  issued.certificate_pem = CertificatePem(certificate.get());
  issued.private_key_pem = KeyPem(key.get());
  return issued;
}

std::string CertificateFingerprint(const std::string& certificate_pem) {
  BioPtr bio(BIO_new_mem_buf(certificate_pem.data(), static_cast<int>(certificate_pem.size())));
  CertPtr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!certificate) return "";
  unsigned char der_digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // Over the DER encoding, by hand rather than X509_digest, as a cross-check.
  unsigned char* der = nullptr;
  const int der_length = i2d_X509(certificate.get(), &der);
  if (der_length <= 0) return "";
  EVP_Digest(der, static_cast<size_t>(der_length), der_digest, &length, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  std::string hex;
  char pair[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(pair, sizeof pair, "%02x", der_digest[i]);
    hex += pair;
  }
  return hex;
}

}  // namespace cg::test
