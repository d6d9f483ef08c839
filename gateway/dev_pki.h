// A development PKI: a CA and the certificates a node's HTTPS API needs (a server
// certificate, and one client certificate per role), made with OpenSSL's C API.
// For `credit-gateway init` and for tests, which also make the certificates a
// production PKI never would on purpose (expired, not yet valid, from another CA).
// Not for production: the keys are written unencrypted.
//
// Every key is ECDSA P-256; every certificate is X.509 v3, signed with SHA-256, with a
// random positive 128-bit serial, subjectKeyIdentifier and (when issued by a CA)
// authorityKeyIdentifier. By use:
//   CA:     basicConstraints critical CA:TRUE; keyUsage critical keyCertSign, cRLSign.
//   server: basicConstraints critical CA:FALSE; keyUsage critical digitalSignature;
//           extendedKeyUsage serverAuth; subjectAltName from the spec.
//   client: as server, with extendedKeyUsage clientAuth.
// Keys and certificates travel as PEM text (keys PKCS#8, unencrypted).
//
// OpenSSL errors become a Status in one place (dev_pki.cc): kInvalidArgument for a
// bad spec or an issuer that cannot sign, kInternal for a failure inside OpenSSL.
// Thread-safe: no shared state.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/node_config.h"
#include "specs/status.h"
#include "specs/timestamps.h"

namespace cg::gateway {

// How long the certificates of CreateDevPki are valid from `now`.
inline constexpr std::chrono::days kDevCaValidity{3653};   // about 10 years
inline constexpr std::chrono::days kDevLeafValidity{365};  // 1 year
// The subject organisation (O) of every certificate CreateDevPki makes.
inline constexpr std::string_view kDevOrganization = "credit-gateway development";

enum class CertificateUse { kCertificateAuthority, kServer, kClient };

// What to put in one certificate.
struct CertificateSpec {
  CertificateUse use = CertificateUse::kClient;
  std::string common_name;          // CN, required, 1 to 64 bytes
  std::string organization;         // O; empty: none
  std::string organizational_unit;  // OU (a client's role); empty: none
  // subjectAltName entries; the extension is left out when all three are empty.
  std::vector<std::string> dns_names;     // DNS:localhost
  std::vector<std::string> ip_addresses;  // IP: IPv4 or IPv6 literals
  std::vector<std::string> uris;          // URI:urn:gba-credit:subject:...
  // The validity window, to the second; not_after must be later than not_before.
  // Either may be in the past (an expired certificate) or the future.
  Clock::time_point not_before;
  Clock::time_point not_after;
};

// A certificate and its private key, PEM.
struct CertifiedKey {
  std::string certificate_pem;
  std::string private_key_pem;
};

// A fresh key and a self-signed certificate for it. spec.use must be
// kCertificateAuthority.
StatusOr<CertifiedKey> CreateCertificateAuthority(const CertificateSpec& spec);

// A fresh key and a certificate for it signed by `issuer`, which must be a CA
// certificate (basicConstraints CA:TRUE) with its matching key; kInvalidArgument
// otherwise. spec.use may be any: a CA issued by another is an intermediate. The
// validity window is not checked against the issuer's.
StatusOr<CertifiedKey> IssueCertificate(const CertificateSpec& spec, const CertifiedKey& issuer);

// The development PKI of one node.
struct DevPkiOptions {
  std::string node_id;  // names the certificates: CN "<node_id> dev CA", ...
  // The entity id (e.g. "uscc:91440300MA5G2U7B88") written into the firm client
  // certificate as subjectAltName URI config::kSubjectUriPrefix + id.
  std::string firm_subject_id;
  Clock::time_point now;  // CA valid from now for kDevCaValidity, the rest for kDevLeafValidity
  std::vector<std::string> server_dns_names = {"localhost"};
  std::vector<std::string> server_ip_addresses = {"127.0.0.1", "::1"};
};

struct DevPki {
  CertifiedKey ca;      // CN "<node_id> dev CA"
  CertifiedKey server;  // CN "<node_id> dev server", serverAuth
  // One per role: CN "<node_id> dev <role>", OU the role name, clientAuth.
  std::map<config::Role, CertifiedKey> clients;
};

StatusOr<DevPki> CreateDevPki(const DevPkiOptions& options);

// Writes the PKI under `tls_dir` (created if missing): ca.pem, ca.key, server.pem,
// server.key, clients/<role>.pem and clients/<role>.key; keys 0600, certificates
// 0644, each written atomically. Existing files are replaced.
Status WriteDevPki(const DevPki& pki, const std::string& tls_dir);

}  // namespace cg::gateway
