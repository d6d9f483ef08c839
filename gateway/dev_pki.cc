#include "gateway/dev_pki.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <filesystem>
#include <memory>
#include <system_error>
#include <utility>

#include "specs/file_io.h"

namespace cg::gateway {
namespace {

template <auto Free>
struct Freer {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY_free>>;
using KeyContextPtr = std::unique_ptr<EVP_PKEY_CTX, Freer<EVP_PKEY_CTX_free>>;
using CertificatePtr = std::unique_ptr<X509, Freer<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Freer<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, Freer<BN_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, Freer<X509_EXTENSION_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Freer<GENERAL_NAMES_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, Freer<GENERAL_NAME_free>>;
using Ia5StringPtr = std::unique_ptr<ASN1_IA5STRING, Freer<ASN1_IA5STRING_free>>;
using OctetStringPtr = std::unique_ptr<ASN1_OCTET_STRING, Freer<ASN1_OCTET_STRING_free>>;

// The longest CN, O or OU (the X.509 upper bound, RFC 5280 appendix A).
constexpr size_t kMaxNameLength = 64;
// Serial numbers: 128 random bits, kept positive (RFC 5280 §4.1.2.2).
constexpr int kSerialBytes = 16;
// Certificates of CreateDevPki are valid from this long before `now`, so a peer
// whose clock is a little behind still accepts them.
constexpr std::chrono::hours kClockSkewAllowance{1};

// The one place OpenSSL's error queue becomes a Status: `what` failed, followed by
// what OpenSSL said. The queue is left empty.
Status OpenSslError(StatusCode code, std::string_view what) {
  std::string message(what);
  bool first = true;
  while (const unsigned long error = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(error, text, sizeof text);
    message += first ? ": " : "; ";
    message += text;
    first = false;
  }
  return Status(code, std::move(message));
}

Status Internal(std::string_view what) { return OpenSslError(StatusCode::kInternal, what); }

Status CheckName(std::string_view field, std::string_view value, bool required) {
  if (required && value.empty()) return InvalidArgumentError(std::string(field) + " is required");
  if (value.size() > kMaxNameLength) {
    return InvalidArgumentError(std::string(field) + " is longer than " +
                                std::to_string(kMaxNameLength) + " bytes");
  }
  return OkStatus();
}

// DNS names and URIs are IA5String: printable ASCII.
Status CheckIa5(std::string_view field, std::string_view value) {
  if (value.empty()) return InvalidArgumentError(std::string(field) + " is empty");
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return InvalidArgumentError(std::string(field) + " '" + std::string(value) +
                                  "' is not printable ASCII without spaces");
    }
  }
  return OkStatus();
}

Status CheckSpec(const CertificateSpec& spec) {
  CG_RETURN_IF_ERROR(CheckName("common name", spec.common_name, /*required=*/true));
  CG_RETURN_IF_ERROR(CheckName("organization", spec.organization, false));
  CG_RETURN_IF_ERROR(CheckName("organizational unit", spec.organizational_unit, false));
  for (const std::string& name : spec.dns_names) CG_RETURN_IF_ERROR(CheckIa5("DNS name", name));
  for (const std::string& uri : spec.uris) CG_RETURN_IF_ERROR(CheckIa5("URI", uri));
  if (spec.not_after <= spec.not_before) {
    return InvalidArgumentError("certificate not_after must be later than not_before");
  }
  return OkStatus();
}

StatusOr<KeyPtr> NewP256Key() {
  KeyContextPtr context(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (context == nullptr || EVP_PKEY_keygen_init(context.get()) <= 0 ||
      EVP_PKEY_CTX_set_group_name(context.get(), "P-256") <= 0) {
    return Internal("cannot set up P-256 key generation");
  }
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_generate(context.get(), &key) <= 0) return Internal("cannot generate a P-256 key");
  return KeyPtr(key);
}

Status SetRandomSerial(X509* certificate) {
  unsigned char bytes[kSerialBytes];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return Internal("cannot draw a random serial number");
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x7f) | 0x40);  // positive, full length
  BignumPtr number(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (number == nullptr ||
      BN_to_ASN1_INTEGER(number.get(), X509_get_serialNumber(certificate)) == nullptr) {
    return Internal("cannot set the serial number");
  }
  return OkStatus();
}

Status SetSubject(X509* certificate, const CertificateSpec& spec) {
  X509_NAME* name = X509_get_subject_name(certificate);
  auto add = [name](const char* field, const std::string& value) {
    return value.empty() ||
           X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.data()),
                                      static_cast<int>(value.size()), -1, 0) == 1;
  };
  if (!add("O", spec.organization) || !add("OU", spec.organizational_unit) ||
      !add("CN", spec.common_name)) {
    return Internal("cannot set the subject name");
  }
  return OkStatus();
}

Status SetValidity(X509* certificate, const CertificateSpec& spec) {
  if (ASN1_TIME_set(X509_getm_notBefore(certificate), Clock::to_time_t(spec.not_before)) ==
          nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(certificate), Clock::to_time_t(spec.not_after)) == nullptr) {
    return OpenSslError(StatusCode::kInvalidArgument,
                        "certificate validity cannot be written as an X.509 time");
  }
  return OkStatus();
}

// One extension from OpenSSL's configuration syntax ("critical,CA:TRUE"). The values
// are constants of this file, never outside input.
Status AddExtension(X509* certificate, X509V3_CTX* context, int nid, const char* value) {
  ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, context, nid, value));
  if (extension == nullptr || X509_add_ext(certificate, extension.get(), -1) != 1) {
    return Internal(std::string("cannot add extension ") + OBJ_nid2sn(nid) + " = " + value);
  }
  return OkStatus();
}

// Adds one entry of `type`, taking ownership of `value` (an IA5String for DNS and
// URI, an OCTET STRING for IP; both ASN1_STRING).
Status PushName(GENERAL_NAMES* names, int type, ASN1_STRING* value) {
  std::unique_ptr<ASN1_STRING, Freer<ASN1_STRING_free>> owned(value);
  GeneralNamePtr name(GENERAL_NAME_new());
  if (name == nullptr) return Internal("cannot allocate a subjectAltName entry");
  GENERAL_NAME_set0_value(name.get(), type, owned.release());
  if (sk_GENERAL_NAME_push(names, name.get()) <= 0) {
    return Internal("cannot add a subjectAltName entry");
  }
  name.release();
  return OkStatus();
}

Status PushIa5Name(GENERAL_NAMES* names, int type, const std::string& text) {
  Ia5StringPtr value(ASN1_IA5STRING_new());
  if (value == nullptr ||
      ASN1_STRING_set(value.get(), text.data(), static_cast<int>(text.size())) != 1) {
    return Internal("cannot encode subjectAltName '" + text + "'");
  }
  return PushName(names, type, value.release());
}

// Built entry by entry rather than from a configuration string, so a comma or a
// colon in a name cannot change what the extension says.
Status AddSubjectAltName(X509* certificate, const CertificateSpec& spec) {
  if (spec.dns_names.empty() && spec.ip_addresses.empty() && spec.uris.empty()) return OkStatus();
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (names == nullptr) return Internal("cannot allocate subjectAltName");
  for (const std::string& dns : spec.dns_names) {
    CG_RETURN_IF_ERROR(PushIa5Name(names.get(), GEN_DNS, dns));
  }
  for (const std::string& ip : spec.ip_addresses) {
    OctetStringPtr address(a2i_IPADDRESS(ip.c_str()));
    if (address == nullptr) {
      ERR_clear_error();
      return InvalidArgumentError("subjectAltName IP '" + ip + "' is not an IP address");
    }
    CG_RETURN_IF_ERROR(PushName(names.get(), GEN_IPADD, address.release()));
  }
  for (const std::string& uri : spec.uris) {
    CG_RETURN_IF_ERROR(PushIa5Name(names.get(), GEN_URI, uri));
  }
  if (X509_add1_ext_i2d(certificate, NID_subject_alt_name, names.get(), /*crit=*/0,
                        X509V3_ADD_DEFAULT) != 1) {
    return Internal("cannot add subjectAltName");
  }
  return OkStatus();
}

Status AddExtensions(X509* certificate, X509* issuer, const CertificateSpec& spec) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  if (spec.use == CertificateUse::kCertificateAuthority) {
    CG_RETURN_IF_ERROR(
        AddExtension(certificate, &context, NID_basic_constraints, "critical,CA:TRUE"));
    CG_RETURN_IF_ERROR(
        AddExtension(certificate, &context, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    CG_RETURN_IF_ERROR(
        AddExtension(certificate, &context, NID_basic_constraints, "critical,CA:FALSE"));
    CG_RETURN_IF_ERROR(
        AddExtension(certificate, &context, NID_key_usage, "critical,digitalSignature"));
    CG_RETURN_IF_ERROR(
        AddExtension(certificate, &context, NID_ext_key_usage,
                     spec.use == CertificateUse::kServer ? "serverAuth" : "clientAuth"));
  }
  CG_RETURN_IF_ERROR(AddExtension(certificate, &context, NID_subject_key_identifier, "hash"));
  if (issuer != certificate) {
    // keyid when the issuer has a subjectKeyIdentifier, else its name and serial.
    CG_RETURN_IF_ERROR(
        AddExtension(certificate, &context, NID_authority_key_identifier, "keyid,issuer"));
  }
  return AddSubjectAltName(certificate, spec);
}

StatusOr<std::string> DrainBio(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size < 0 || (size > 0 && data == nullptr)) return Internal("cannot read PEM output");
  return std::string(data, static_cast<size_t>(size));
}

StatusOr<CertifiedKey> ToPem(X509* certificate, EVP_PKEY* key) {
  BioPtr certificate_bio(BIO_new(BIO_s_mem()));
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  if (certificate_bio == nullptr || key_bio == nullptr ||
      PEM_write_bio_X509(certificate_bio.get(), certificate) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Internal("cannot write PEM");
  }
  CertifiedKey out;
  CG_ASSIGN_OR_RETURN(out.certificate_pem, DrainBio(certificate_bio.get()));
  CG_ASSIGN_OR_RETURN(out.private_key_pem, DrainBio(key_bio.get()));
  return out;
}

// Refuses to prompt on a terminal for an encrypted key's passphrase.
int NoPassphrase(char*, int, int, void*) { return 0; }

struct Issuer {
  CertificatePtr certificate;
  KeyPtr key;
};

StatusOr<Issuer> ReadIssuer(const CertifiedKey& pem) {
  Issuer issuer;
  BioPtr certificate_bio(
      BIO_new_mem_buf(pem.certificate_pem.data(), static_cast<int>(pem.certificate_pem.size())));
  BioPtr key_bio(
      BIO_new_mem_buf(pem.private_key_pem.data(), static_cast<int>(pem.private_key_pem.size())));
  if (certificate_bio == nullptr || key_bio == nullptr) return Internal("cannot read PEM input");
  issuer.certificate.reset(
      PEM_read_bio_X509(certificate_bio.get(), nullptr, NoPassphrase, nullptr));
  if (issuer.certificate == nullptr) {
    return OpenSslError(StatusCode::kInvalidArgument, "issuer certificate is not PEM X.509");
  }
  issuer.key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr));
  if (issuer.key == nullptr) {
    return OpenSslError(StatusCode::kInvalidArgument,
                        "issuer key is not an unencrypted PEM private key");
  }
  if ((X509_get_extension_flags(issuer.certificate.get()) & EXFLAG_CA) == 0) {
    return InvalidArgumentError("issuer certificate is not a CA (no basicConstraints CA:TRUE)");
  }
  if (X509_check_private_key(issuer.certificate.get(), issuer.key.get()) != 1) {
    return OpenSslError(StatusCode::kInvalidArgument,
                        "issuer key does not match the issuer certificate");
  }
  return issuer;
}

// Makes a key and a certificate for `spec`, signed by the issuer's key; a null
// issuer means self-signed.
StatusOr<CertifiedKey> Make(const CertificateSpec& spec, const Issuer* issuer) {
  CG_RETURN_IF_ERROR(CheckSpec(spec));
  CG_ASSIGN_OR_RETURN(const KeyPtr key, NewP256Key());
  CertificatePtr certificate(X509_new());
  if (certificate == nullptr || X509_set_version(certificate.get(), X509_VERSION_3) != 1 ||
      X509_set_pubkey(certificate.get(), key.get()) != 1) {
    return Internal("cannot start a certificate");
  }
  CG_RETURN_IF_ERROR(SetRandomSerial(certificate.get()));
  CG_RETURN_IF_ERROR(SetSubject(certificate.get(), spec));
  X509* const signer = issuer != nullptr ? issuer->certificate.get() : certificate.get();
  if (X509_set_issuer_name(certificate.get(), X509_get_subject_name(signer)) != 1) {
    return Internal("cannot set the issuer name");
  }
  CG_RETURN_IF_ERROR(SetValidity(certificate.get(), spec));
  CG_RETURN_IF_ERROR(AddExtensions(certificate.get(), signer, spec));
  EVP_PKEY* const signing_key = issuer != nullptr ? issuer->key.get() : key.get();
  if (X509_sign(certificate.get(), signing_key, EVP_sha256()) <= 0) {
    return Internal("cannot sign the certificate");
  }
  return ToPem(certificate.get(), key.get());
}

}  // namespace

StatusOr<CertifiedKey> CreateCertificateAuthority(const CertificateSpec& spec) {
  if (spec.use != CertificateUse::kCertificateAuthority) {
    return InvalidArgumentError("a self-signed certificate must be a CA certificate");
  }
  ERR_clear_error();
  return Make(spec, nullptr);
}

StatusOr<CertifiedKey> IssueCertificate(const CertificateSpec& spec, const CertifiedKey& issuer) {
  ERR_clear_error();
  CG_ASSIGN_OR_RETURN(const Issuer parsed, ReadIssuer(issuer));
  return Make(spec, &parsed);
}

StatusOr<DevPki> CreateDevPki(const DevPkiOptions& options) {
  const Clock::time_point from = options.now - kClockSkewAllowance;
  DevPki pki;
  CertificateSpec ca;
  ca.use = CertificateUse::kCertificateAuthority;
  ca.common_name = options.node_id + " dev CA";
  ca.organization = kDevOrganization;
  ca.not_before = from;
  ca.not_after = options.now + kDevCaValidity;
  CG_ASSIGN_OR_RETURN(pki.ca, CreateCertificateAuthority(ca));

  CertificateSpec server;
  server.use = CertificateUse::kServer;
  server.common_name = options.node_id + " dev server";
  server.organization = kDevOrganization;
  server.dns_names = options.server_dns_names;
  server.ip_addresses = options.server_ip_addresses;
  server.not_before = from;
  server.not_after = options.now + kDevLeafValidity;
  CG_ASSIGN_OR_RETURN(pki.server, IssueCertificate(server, pki.ca));

  for (config::Role role : config::kAllRoles) {
    const std::string role_name(config::RoleName(role));
    CertificateSpec client;
    client.use = CertificateUse::kClient;
    client.common_name = options.node_id + " dev " + role_name;
    client.organization = kDevOrganization;
    client.organizational_unit = role_name;
    if (role == config::Role::kFirm && !options.firm_subject_id.empty()) {
      client.uris.push_back(std::string(config::kSubjectUriPrefix) + options.firm_subject_id);
    }
    client.not_before = from;
    client.not_after = options.now + kDevLeafValidity;
    CG_ASSIGN_OR_RETURN(pki.clients[role], IssueCertificate(client, pki.ca));
  }
  return pki;
}

Status WriteDevPki(const DevPki& pki, const std::string& tls_dir) {
  const std::filesystem::path dir(tls_dir);
  std::error_code error;
  std::filesystem::create_directories(dir / "clients", error);
  if (error) {
    return PermissionDeniedError("cannot create " + (dir / "clients").string() + ": " +
                                 error.message());
  }
  auto write = [](const std::filesystem::path& path, const std::string& text, unsigned mode) {
    return WriteFileAtomically(path.string(), text, mode);
  };
  CG_RETURN_IF_ERROR(write(dir / "ca.pem", pki.ca.certificate_pem, 0644));
  CG_RETURN_IF_ERROR(write(dir / "ca.key", pki.ca.private_key_pem, 0600));
  CG_RETURN_IF_ERROR(write(dir / "server.pem", pki.server.certificate_pem, 0644));
  CG_RETURN_IF_ERROR(write(dir / "server.key", pki.server.private_key_pem, 0600));
  for (const auto& [role, client] : pki.clients) {
    const std::string name(config::RoleName(role));
    CG_RETURN_IF_ERROR(write(dir / "clients" / (name + ".pem"), client.certificate_pem, 0644));
    CG_RETURN_IF_ERROR(write(dir / "clients" / (name + ".key"), client.private_key_pem, 0600));
  }
  return OkStatus();
}

}  // namespace cg::gateway
