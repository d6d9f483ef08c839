#include "tests/server_test_client.h"

// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized inside
// Beast's response parser (boost::optional in basic_parser::content_length).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>

namespace cg::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

struct TestClient::Impl {
  asio::io_context ioc;
  std::optional<asio::ssl::context> context;
  std::optional<asio::ssl::stream<tcp::socket>> tls;
  std::optional<tcp::socket> plain;
  beast::flat_buffer buffer;

  tcp::socket& Socket() { return tls ? tls->next_layer() : *plain; }

  // Runs one asynchronous operation to completion or until `timeout`, when the
  // socket is closed and timed_out returned.
  template <typename Start>
  error_code Run(std::chrono::milliseconds timeout, Start&& start) {
    std::optional<error_code> result;
    start([&result](const error_code& ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run_for(timeout);
    if (result) return *result;
    error_code ignored;
    Socket().close(ignored);
    ioc.restart();
    ioc.run();
    return asio::error::timed_out;
  }

  // Both kinds of stream, for operations written once.
  template <typename Visit>
  auto WithStream(Visit&& visit) {
    if (tls) return visit(*tls);
    return visit(*plain);
  }
};

TestClient::TestClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TestClient::~TestClient() = default;

std::unique_ptr<TestClient> TestClient::Tls(const std::string& ca_file,
                                            const std::optional<TlsClientFiles>& certificate) {
  auto impl = std::make_unique<Impl>();
  impl->context.emplace(asio::ssl::context::tls_client);
  error_code ignored;
  impl->context->load_verify_file(ca_file, ignored);
  impl->context->set_verify_mode(asio::ssl::verify_peer, ignored);
  if (certificate) {
    impl->context->use_certificate_chain_file(certificate->certificate_file, ignored);
    impl->context->use_private_key_file(certificate->private_key_file, asio::ssl::context::pem,
                                        ignored);
  }
  impl->tls.emplace(impl->ioc, *impl->context);
  return std::unique_ptr<TestClient>(new TestClient(std::move(impl)));
}

std::unique_ptr<TestClient> TestClient::Plain() {
  auto impl = std::make_unique<Impl>();
  impl->plain.emplace(impl->ioc);
  return std::unique_ptr<TestClient>(new TestClient(std::move(impl)));
}

error_code TestClient::Connect(uint16_t port, std::chrono::milliseconds timeout) {
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  error_code ec = impl_->Run(
      timeout, [&](auto handler) { impl_->Socket().async_connect(endpoint, std::move(handler)); });
  if (ec || !impl_->tls) return ec;
  return impl_->Run(timeout, [&](auto handler) {
    impl_->tls->async_handshake(asio::ssl::stream_base::client, std::move(handler));
  });
}

error_code TestClient::Send(std::string_view bytes) {
  return impl_->WithStream([&](auto& stream) {
    return impl_->Run(std::chrono::seconds(5), [&](auto handler) {
      asio::async_write(stream, asio::buffer(bytes.data(), bytes.size()), std::move(handler));
    });
  });
}

ReadResult TestClient::Read(std::chrono::milliseconds timeout, bool to_head) {
  ReadResult result;
  http::response_parser<http::string_body> parser;
  parser.skip(to_head);
  parser.body_limit(64 * 1024 * 1024);
  result.error = impl_->WithStream([&](auto& stream) {
    return impl_->Run(timeout, [&](auto handler) {
      http::async_read(stream, impl_->buffer, parser, std::move(handler));
    });
  });
  if (!result.error) result.response = parser.release();
  return result;
}

std::string TestClient::ServerCommonName() const {
  if (!impl_->tls) return "";
  X509* certificate = SSL_get1_peer_certificate(impl_->tls->native_handle());
  if (certificate == nullptr) return "";
  char name[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, name, sizeof name);
  X509_free(certificate);
  return name;
}

void TestClient::Close() {
  error_code ignored;
  impl_->Socket().close(ignored);
}

}  // namespace cg::test
