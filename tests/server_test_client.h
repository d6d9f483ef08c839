// Test support: a small blocking HTTP/1.1 client over TLS (with or without a client
// certificate) or plain TCP, built on Beast/Asio, that sends raw bytes (so tests
// can send malformed, partial or pipelined requests) and reads responses with a
// timeout. Not thread-safe; one client per thread.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace cg::test {

using Response = boost::beast::http::response<boost::beast::http::string_body>;

struct ReadResult {
  boost::system::error_code error;  // set when no complete response arrived
  Response response;
};

struct TlsClientFiles {
  std::string certificate_file;
  std::string private_key_file;
};

class TestClient {
 public:
  // A TLS client trusting the CAs in `ca_file` for the server, presenting
  // `certificate` when given. Accepts TLS 1.2 and 1.3.
  static std::unique_ptr<TestClient> Tls(const std::string& ca_file,
                                         const std::optional<TlsClientFiles>& certificate);
  static std::unique_ptr<TestClient> Plain();
  ~TestClient();

  // TCP connect to 127.0.0.1:port, then the TLS handshake; the first error.
  boost::system::error_code Connect(uint16_t port,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(5));
  boost::system::error_code Send(std::string_view bytes);
  // The next response; error (timed_out, eof, a TLS alert, ...) when none.
  // `to_head`: the response answers a HEAD request, so it has no body.
  ReadResult Read(std::chrono::milliseconds timeout = std::chrono::seconds(5),
                  bool to_head = false);
  // The subject CN of the server's certificate ("" without TLS).
  std::string ServerCommonName() const;
  // Closes the TCP connection without a TLS close_notify.
  void Close();

 private:
  struct Impl;
  explicit TestClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cg::test
