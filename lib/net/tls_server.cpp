// TLS server context: SSL_CTX set-up (protocol floor, options, ciphers, certificate and key) and
// the description of a negotiated session. Run by smtpd at start (as root, before the privilege
// drop) and per STARTTLS. Trusts the admin's certificate files; reports every OpenSSL failure
// as a Result with OpenSSL's own error text.
#include "lib/net/tls_server.hpp"

#include <openssl/err.h>

#include <utility>

namespace postern {
namespace {

constexpr unsigned char kSessionIdContext[] = "postern";

}  // namespace

std::string openssl_errors() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text;
}

Result<TlsServerContext> TlsServerContext::create(const std::string& cert_file,
                                                  const std::string& key_file) {
  if (cert_file.empty() || key_file.empty()) {
    return Error::config("TLS needs both a certificate and a key file");
  }
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
  if (raw == nullptr) return Error::config("SSL_CTX_new: " + openssl_errors());
  TlsServerContext context(raw);  // frees raw on every error path below

  if (SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION) != 1) {
    return Error::config("cannot set the TLS 1.2 floor: " + openssl_errors());
  }
  SSL_CTX_set_options(raw, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET |
                               SSL_OP_SINGLE_DH_USE | SSL_OP_SINGLE_ECDH_USE);
  SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(raw, kTlsServerCiphers) != 1) {
    return Error::config("no usable TLS 1.2 cipher: " + openssl_errors());
  }
  SSL_CTX_set_dh_auto(raw, 1);
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_SERVER);
  SSL_CTX_set_session_id_context(raw, kSessionIdContext, sizeof kSessionIdContext - 1);

  if (SSL_CTX_use_certificate_chain_file(raw, cert_file.c_str()) != 1) {
    return Error::config("cannot load the TLS certificate " + cert_file + ": " + openssl_errors());
  }
  if (SSL_CTX_use_PrivateKey_file(raw, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Error::config("cannot load the TLS key " + key_file + ": " + openssl_errors());
  }
  if (SSL_CTX_check_private_key(raw) != 1) {
    return Error::config("the TLS key " + key_file + " does not match the certificate " +
                         cert_file + ": " + openssl_errors());
  }
  return context;
}

TlsServerContext::TlsServerContext(TlsServerContext&& other) noexcept
    : ctx_(std::exchange(other.ctx_, nullptr)) {}

TlsServerContext& TlsServerContext::operator=(TlsServerContext&& other) noexcept {
  if (this != &other) {
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

TlsServerContext::~TlsServerContext() {
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

Result<SSL*> TlsServerContext::new_session() const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return Error{ErrorKind::kTemporary, "SSL_new: " + openssl_errors(), 0};
  return ssl;
}

std::string TlsSessionInfo::describe() const {
  return protocol + " with cipher " + cipher + " (" + std::to_string(secret_bits) + "/" +
         std::to_string(algorithm_bits) + " bits)";
}

TlsSessionInfo tls_session_info(const SSL* ssl) {
  TlsSessionInfo info;
  if (ssl == nullptr) return info;
  info.protocol = SSL_get_version(ssl);
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  if (cipher != nullptr) {
    info.cipher = SSL_CIPHER_get_name(cipher);
    info.secret_bits = SSL_CIPHER_get_bits(cipher, &info.algorithm_bits);
  }
  return info;
}

}  // namespace postern
