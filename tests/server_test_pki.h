// Test support: a throwaway PKI made at test time with the OpenSSL C API. ECDSA
// P-256 keys and SHA-256 signatures throughout; certificates and keys come back as
// PEM text, ready to be written into a test's temporary directory.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace cg::test {

struct CertificateRequest {
  std::string common_name;
  std::vector<std::string> organizational_units;
  std::vector<std::string> san_uris;
  std::vector<std::string> san_dns;
  std::vector<std::string> san_ips;  // "127.0.0.1"
  // Extended key usage: clientAuth for a client, serverAuth for a server.
  bool for_server = false;
  // Validity relative to now; an expired certificate has both in the past.
  std::chrono::seconds not_before{-3600};
  std::chrono::seconds not_after{24 * 3600};
};

struct IssuedCertificate {
  std::string certificate_pem;
  std::string private_key_pem;  // PKCS#8, unencrypted
};

// A certificate authority with its own key. Issuing is thread-safe.
class TestCertificateAuthority {
 public:
  // A self-signed CA certificate named `common_name`, valid from an hour ago for a
  // day. Fails the current test (and returns a CA that issues nothing useful) when
  // OpenSSL fails.
  explicit TestCertificateAuthority(const std::string& common_name);
  ~TestCertificateAuthority();
  TestCertificateAuthority(const TestCertificateAuthority&) = delete;
  TestCertificateAuthority& operator=(const TestCertificateAuthority&) = delete;

  const std::string& certificate_pem() const { return certificate_pem_; }
  // A leaf certificate signed by this CA, with a fresh key.
  IssuedCertificate Issue(const CertificateRequest& request) const;

 private:
  struct Keys;
  std::unique_ptr<Keys> keys_;
  std::string certificate_pem_;
};

// The SHA-256 fingerprint (lowercase hex) of a PEM certificate, computed
// independently of the server's code; "" when it does not parse.
std::string CertificateFingerprint(const std::string& certificate_pem);

}  // namespace cg::test
