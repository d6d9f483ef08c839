// Reading the client's identity out of its X.509 certificate. Every OpenSSL call
// on certificates made by the server lives here.
#include "gateway/server/client_identity.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <memory>

namespace cg::gateway::server {
namespace {

// The UTF-8 text of every entry of `nid` in `name`, in order.
StatusOr<std::vector<std::string>> NameEntries(X509_NAME* name, int nid) {
  std::vector<std::string> values;
  if (name == nullptr) return values;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    const int length = ASN1_STRING_to_UTF8(&utf8, data);
    if (length < 0) return InvalidArgumentError("certificate subject has an unreadable entry");
    values.emplace_back(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
    OPENSSL_free(utf8);
  }
  return values;
}

std::vector<std::string> SanUris(X509* certificate) {
  std::vector<std::string> uris;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return uris;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                      static_cast<size_t>(ASN1_STRING_length(uri)));
  }
  GENERAL_NAMES_free(names);
  return uris;
}

}  // namespace

std::optional<Role> ParseRole(std::string_view name) {
  for (const Role role : config::kAllRoles) {
    if (RoleName(role) == name) return role;
  }
  return std::nullopt;
}

StatusOr<ClientIdentity> ClientIdentityFromCertificate(X509* certificate,
                                                       const RoleMapping& roles) {
  if (certificate == nullptr) return InvalidArgumentError("no certificate");
  ClientIdentity identity;

  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_length = 0;
  if (X509_digest(certificate, EVP_sha256(), digest.data(), &digest_length) != 1)
    return InvalidArgumentError("cannot encode the certificate");
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < digest_length; ++i) {
    identity.fingerprint += kHex[digest[i] >> 4];
    identity.fingerprint += kHex[digest[i] & 0xf];
  }

  X509_NAME* subject = X509_get_subject_name(certificate);
  CG_ASSIGN_OR_RETURN(std::vector<std::string> common_names, NameEntries(subject, NID_commonName));
  if (!common_names.empty()) identity.common_name = common_names.front();
  CG_ASSIGN_OR_RETURN(identity.organizational_units,
                      NameEntries(subject, NID_organizationalUnitName));

  // Two OUs naming different roles would let one certificate act as both; such a
  // certificate gets no role rather than a guess.
  bool ambiguous = false;
  for (const std::string& unit : identity.organizational_units) {
    const auto it = roles.find(unit);
    if (it == roles.end()) continue;
    if (identity.role.has_value() && *identity.role != it->second) ambiguous = true;
    identity.role = it->second;
  }
  if (ambiguous) identity.role.reset();

  identity.san_uris = SanUris(certificate);
  for (const std::string& uri : identity.san_uris) {
    if (uri.size() > kSubjectUriPrefix.size() && uri.starts_with(kSubjectUriPrefix))
      identity.subjects.push_back(uri.substr(kSubjectUriPrefix.size()));
  }
  return identity;
}

StatusOr<PeerAuthorities> PeerAuthorities::Load(const std::vector<Ca>& cas) {
  PeerAuthorities out;
  for (const Ca& ca : cas) {
    std::unique_ptr<BIO, decltype(&BIO_free)> file(BIO_new_file(ca.ca_file.c_str(), "r"),
                                                   &BIO_free);
    if (!file) {
      ERR_clear_error();
      return NotFoundError("peer CA file of " + ca.node_id + " cannot be opened: " + ca.ca_file);
    }
    size_t loaded = 0;
    while (X509* certificate = PEM_read_bio_X509(file.get(), nullptr, nullptr, nullptr)) {
      out.entries_.push_back({ca.node_id, std::shared_ptr<X509>(certificate, &X509_free)});
      ++loaded;
    }
    ERR_clear_error();  // the end of the file reads as an error
    if (loaded == 0) {
      return InvalidArgumentError("peer CA file of " + ca.node_id +
                                  " holds no PEM certificate: " + ca.ca_file);
    }
  }
  return out;
}

std::string PeerAuthorities::IssuerOf(STACK_OF(X509) * verified_chain) const {
  if (verified_chain == nullptr) return {};
  const int length = sk_X509_num(verified_chain);
  for (int i = 1; i < length; ++i) {
    X509* above = sk_X509_value(verified_chain, i);
    for (const Entry& entry : entries_) {
      if (X509_cmp(entry.ca.get(), above) == 0) return entry.node_id;
    }
  }
  return {};
}

void PeerAuthorities::Apply(STACK_OF(X509) * verified_chain, ClientIdentity& identity) const {
  if (entries_.empty()) return;
  identity.peer_node_id = IssuerOf(verified_chain);
  if (!identity.peer_node_id.empty() && identity.role != Role::kPeer) identity.role.reset();
}

}  // namespace cg::gateway::server
