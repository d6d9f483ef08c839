// Who a client is, as its verified TLS client certificate says, and the role the
// node's configuration gives it (DESIGN §7). Handlers receive a ClientIdentity with
// every request; they never see the certificate itself.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/node_config.h"
#include "specs/status.h"

struct x509_st;        // OpenSSL's X509, kept out of this header
struct stack_st_X509;  // and its STACK_OF(X509)

namespace cg::gateway::server {

// What a client may do: the roles of the node configuration (config/node_config.h),
// given only by the configured OU-to-role mapping.
using Role = config::Role;
using config::RoleName;
// The inverse of RoleName; nullopt for any other spelling (case-sensitive).
std::optional<Role> ParseRole(std::string_view name);

// The SAN URI prefix naming a subject (an entity) a firm certificate speaks for:
// "urn:gba-credit:subject:uscc:91440300MA5FXXXX" names "uscc:91440300MA5FXXXX".
using config::kSubjectUriPrefix;

// Organizational unit value (exact, case-sensitive) -> role.
using RoleMapping = std::map<std::string, Role, std::less<>>;

struct ClientIdentity {
  // Subject CN; empty when the certificate has none.
  std::string common_name;
  // Lowercase hex SHA-256 of the DER certificate (64 characters). Also the key of
  // the client's rate limit.
  std::string fingerprint;
  // Every subject OU value, in certificate order.
  std::vector<std::string> organizational_units;
  // The role of the OU values that appear in the mapping. nullopt when none does,
  // or when two OU values map to different roles (ambiguous, so no role).
  std::optional<Role> role;
  // The subject ids of the SAN URIs starting with kSubjectUriPrefix, prefix
  // removed, in certificate order. Filled for every role; for a firm they are the
  // only subjects it may ask about.
  std::vector<std::string> subjects;
  // Every SAN URI, verbatim.
  std::vector<std::string> san_uris;
  // The peer's IP address as text ("127.0.0.1", "::1"); for logs.
  std::string peer_address;
  // Set when a peer node's CA ([[trust]] ca_file) issued the certificate: that
  // node's id. Such a certificate has role kPeer or none.
  std::string peer_node_id;
};

// The CAs of the peer nodes: a client certificate one of them issued speaks for
// that node, as a peer and nothing else (an agency certificate of the other side's
// development CA must not become an agency here). Immutable once loaded.
class PeerAuthorities {
 public:
  struct Ca {
    std::string node_id;
    std::string ca_file;  // PEM, one or more certificates
  };
  PeerAuthorities() = default;
  // kNotFound / kInvalidArgument naming the file when one is missing or not PEM
  // certificates.
  static StatusOr<PeerAuthorities> Load(const std::vector<Ca>& cas);

  // The node one of whose CAs is in `verified_chain` (the chain TLS verified, leaf
  // first: SSL_get0_verified_chain) above the leaf, so that a certificate from an
  // intermediate under a peer's CA is that peer's too; or empty.
  std::string IssuerOf(stack_st_X509* verified_chain) const;

  // Applies IssuerOf to an identity read from the chain's leaf: sets peer_node_id
  // and takes away any role other than kPeer.
  void Apply(stack_st_X509* verified_chain, ClientIdentity& identity) const;

 private:
  struct Entry {
    std::string node_id;
    std::shared_ptr<x509_st> ca;
  };
  std::vector<Entry> entries_;
};

// Reads the identity from a certificate that TLS has already verified; does not
// verify anything itself and does not take ownership. kInvalidArgument when the
// certificate cannot be encoded or its fields cannot be read. Thread-safe.
StatusOr<ClientIdentity> ClientIdentityFromCertificate(x509_st* certificate,
                                                       const RoleMapping& roles);

}  // namespace cg::gateway::server
