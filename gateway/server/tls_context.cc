// The one place the server configures OpenSSL; OpenSSL's error queue is
// translated into a Status here.
#include "gateway/server/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <filesystem>

namespace cg::gateway::server {
namespace {

// TLS 1.2: forward secrecy (ECDHE) and AEAD only. TLS 1.3 suites are all AEAD and
// keep OpenSSL's default list.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr char kGroups[] = "X25519:P-256:P-384";
// Distinguishes this server's sessions for resumption; required once client
// certificates are verified, or resumed handshakes fail.
constexpr unsigned char kSessionIdContext[] = "cg-gateway";
constexpr int kMaxChainDepth = 4;

Status CheckExists(const std::string& file, std::string_view what) {
  std::error_code ec;
  if (file.empty()) return InvalidArgumentError(std::string(what) + " file not configured");
  if (!std::filesystem::exists(file, ec))
    return NotFoundError(std::string(what) + " file " + file + " does not exist");
  return OkStatus();
}

}  // namespace

void SslCtxFree::operator()(ssl_ctx_st* context) const { SSL_CTX_free(context); }

StatusOr<SslCtxPtr> BuildServerTlsContext(const TlsFiles& files) {
  ERR_clear_error();
  if (files.client_ca_files.empty())
    return InvalidArgumentError("no client CA file configured; client certificates are required");
  CG_RETURN_IF_ERROR(CheckExists(files.certificate_chain_file, "certificate"));
  CG_RETURN_IF_ERROR(CheckExists(files.private_key_file, "private key"));
  for (const std::string& ca : files.client_ca_files) CG_RETURN_IF_ERROR(CheckExists(ca, "CA"));

  SslCtxPtr context(SSL_CTX_new(TLS_server_method()));
  if (!context) return OpenSslError("cannot create a TLS context", "");
  SSL_CTX* ctx = context.get();

  CG_RETURN_IF_ERROR(ApplyTlsPolicy(ctx));
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_SINGLE_ECDH_USE);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1) != 1)
    return OpenSslError("cannot set the session id context", "");

  if (SSL_CTX_use_certificate_chain_file(ctx, files.certificate_chain_file.c_str()) != 1)
    return OpenSslError("cannot load the certificate chain", files.certificate_chain_file);
  if (SSL_CTX_use_PrivateKey_file(ctx, files.private_key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return OpenSslError("cannot load the private key", files.private_key_file);
  if (SSL_CTX_check_private_key(ctx) != 1)
    return OpenSslError("the private key does not match the certificate", files.private_key_file);

  STACK_OF(X509_NAME)* ca_names = sk_X509_NAME_new_null();
  if (ca_names == nullptr) return OpenSslError("out of memory", "");
  for (const std::string& ca : files.client_ca_files) {
    if (SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) != 1 ||
        SSL_add_file_cert_subjects_to_stack(ca_names, ca.c_str()) != 1) {
      sk_X509_NAME_pop_free(ca_names, X509_NAME_free);
      return OpenSslError("cannot load the client CA", ca);
    }
  }
  SSL_CTX_set_client_CA_list(ctx, ca_names);  // takes ownership
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_verify_depth(ctx, kMaxChainDepth);
  ERR_clear_error();
  return context;
}

Status ApplyTlsPolicy(SSL_CTX* context) {
  if (SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(context, kTls12Ciphers) != 1 ||
      SSL_CTX_set1_groups_list(context, kGroups) != 1) {
    return OpenSslError("cannot set the TLS policy", "");
  }
  SSL_CTX_set_options(context, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  return OkStatus();
}

Status OpenSslError(std::string_view what, const std::string& file) {
  std::string reason;
  while (const unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!reason.empty()) reason += "; ";
    reason += text;
  }
  if (reason.empty()) reason = "unknown OpenSSL error";
  std::string message(what);
  if (!file.empty()) message += " " + file;
  return InvalidArgumentError(message + ": " + reason);
}

}  // namespace cg::gateway::server
