// TLS client context for relay (see tls_client.hpp): the SSL_CTX (protocol floor, options,
// trusted CAs) and the per-connection SSL (SNI, host name checks). Runs in postern-relay; the CA
// file is read at start, before the privilege drop. Every OpenSSL failure comes back as a Result
// with OpenSSL's own text (openssl_errors from tls_server).
#include "lib/net/tls_client.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <utility>

#include "lib/net/tls_server.hpp"

namespace postern {

namespace {

bool is_ip_literal(std::string_view name) {
  std::string text(name);
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

}  // namespace

Result<TlsLevel> parse_tls_level(std::string_view text) {
  if (text == "none") return TlsLevel::kNone;
  if (text == "may") return TlsLevel::kMay;
  if (text == "encrypt") return TlsLevel::kEncrypt;
  if (text == "verify") return TlsLevel::kVerify;
  if (text == "secure") return TlsLevel::kSecure;
  return Error::config("unknown TLS security level \"" + std::string(text) + "\"");
}

std::string_view tls_level_name(TlsLevel level) {
  switch (level) {
    case TlsLevel::kNone:
      return "none";
    case TlsLevel::kMay:
      return "may";
    case TlsLevel::kEncrypt:
      return "encrypt";
    case TlsLevel::kVerify:
      return "verify";
    case TlsLevel::kSecure:
      return "secure";
  }
  return "?";
}

Result<TlsClientContext> TlsClientContext::create(const std::string& ca_file) {
  SSL_CTX* raw = SSL_CTX_new(TLS_client_method());
  if (raw == nullptr) return Error::config("SSL_CTX_new: " + openssl_errors());
  TlsClientContext context(raw);  // frees raw on every error path below
  if (SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION) != 1) {
    return Error::config("cannot set the TLS 1.2 floor: " + openssl_errors());
  }
  SSL_CTX_set_options(raw, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(raw, kTlsClientCiphers) != 1) {
    return Error::config("no usable TLS 1.2 cipher: " + openssl_errors());
  }
  if (SSL_CTX_set_default_verify_paths(raw) != 1) {
    return Error::config("cannot use the system CA store: " + openssl_errors());
  }
  if (!ca_file.empty() && SSL_CTX_load_verify_locations(raw, ca_file.c_str(), nullptr) != 1) {
    return Error::config("cannot load the CA file " + ca_file + ": " + openssl_errors());
  }
  SSL_CTX_set_verify_depth(raw, kTlsClientVerifyDepth);
  return context;
}

TlsClientContext::TlsClientContext(TlsClientContext&& other) noexcept
    : ctx_(std::exchange(other.ctx_, nullptr)) {}

TlsClientContext& TlsClientContext::operator=(TlsClientContext&& other) noexcept {
  if (this != &other) {
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

TlsClientContext::~TlsClientContext() {
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

Result<SSL*> TlsClientContext::new_session(std::string_view server_name,
                                           const std::vector<std::string>& match_names) const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return Error::config("SSL_new: " + openssl_errors());
  std::string name(server_name);
  // RFC 6066 3: no IP literals in SNI.
  if (!name.empty() && !is_ip_literal(name) && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
    SSL_free(ssl);
    return Error::config("cannot set SNI: " + openssl_errors());
  }
  if (match_names.empty()) {
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
    return ssl;
  }
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  bool have_host = false;
  for (const std::string& match : match_names) {
    int ok = 0;
    if (is_ip_literal(match)) {
      ok = X509_VERIFY_PARAM_set1_ip_asc(param, match.c_str());
    } else {
      ok = have_host ? X509_VERIFY_PARAM_add1_host(param, match.c_str(), 0)
                     : X509_VERIFY_PARAM_set1_host(param, match.c_str(), 0);
      have_host = true;
    }
    if (ok != 1) {
      SSL_free(ssl);
      return Error::config("cannot set the expected TLS peer name: " + openssl_errors());
    }
  }
  // The handshake itself fails when the chain or the name does not verify.
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  return ssl;
}

std::string tls_verify_failure(const SSL* ssl) {
  long result = SSL_get_verify_result(ssl);
  if (result == X509_V_OK) return "";
  return std::string("certificate verify failed: ") + X509_verify_cert_error_string(result);
}

std::string tls_peer_common_name(const SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return "";
  char buffer[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buffer, sizeof buffer);
  X509_free(cert);
  return buffer;
}

}  // namespace postern
