// The server's TLS policy, built into an OpenSSL context from files (DESIGN §7):
// TLS 1.3, and TLS 1.2 with ECDHE key exchange and AEAD ciphers (AES-GCM,
// CHACHA20-POLY1305) only; no compression, no renegotiation; session tickets on.
// A client certificate is required and must chain to one of the configured CAs
// (and be valid now, with a clientAuth extended key usage if it has one); otherwise
// the handshake fails.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "specs/status.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX, kept out of this header

namespace cg::gateway::server {

struct TlsFiles {
  // PEM: the server certificate, then any intermediates.
  std::string certificate_chain_file;
  // PEM: the unencrypted private key of that certificate.
  std::string private_key_file;
  // PEM files of the CAs whose client certificates are accepted (each may hold
  // several certificates). At least one.
  std::vector<std::string> client_ca_files;
};

struct SslCtxFree {
  void operator()(ssl_ctx_st* context) const;
};
using SslCtxPtr = std::unique_ptr<ssl_ctx_st, SslCtxFree>;

// A new server context from `files`. kInvalidArgument when no CA file is given, or
// a file is not valid PEM of the right kind, or the key does not match the
// certificate; kNotFound when a file does not exist. The messages name the file and
// OpenSSL's reason. Thread-safe.
StatusOr<SslCtxPtr> BuildServerTlsContext(const TlsFiles& files);

// The TLS policy of both directions, server and peer client (DESIGN §7): TLS 1.3,
// or TLS 1.2 with ECDHE and AEAD ciphers only; no compression, no renegotiation.
// kInvalidArgument when OpenSSL refuses it.
Status ApplyTlsPolicy(ssl_ctx_st* context);

// kInvalidArgument "what file: reason" from OpenSSL's error queue, which it empties;
// the one place OpenSSL's TLS errors become a Status.
Status OpenSslError(std::string_view what, const std::string& file);

}  // namespace cg::gateway::server
