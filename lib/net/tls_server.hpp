// The server side of TLS: one OpenSSL SSL_CTX per process, built from the certificate chain and
// key named in main.cf, and the facts about a finished handshake that go into logs and the
// Received: header. Used by smtpd (STARTTLS), later by submission and imapd. Trusts the admin's
// files (the key is read as root, before the privilege drop); the peer's handshake is hostile
// and is handled by OpenSSL. Policy: TLS 1.2 and 1.3 only, no compression, no renegotiation,
// forward-secret AEAD ciphers first (CBC with ECDHE kept for old MTAs: opportunistic TLS
// that fails falls back to plain text, which is worse); session tickets off, so no ticket key
// has to be shared or rotated across worker processes (stateful resumption within a process).
#pragma once

#include <openssl/ssl.h>

#include <string>

#include "lib/base/result.hpp"

namespace postern {

// OpenSSL's list of TLS 1.2 ciphers we allow (TLS 1.3 suites are OpenSSL's defaults, all AEAD).
inline constexpr const char* kTlsServerCiphers =
    "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:ECDHE+AES:"
    "!aNULL:!eNULL:!MD5:!DSS:!RC4:!3DES";

// Owns an SSL_CTX. Move-only.
class TlsServerContext {
 public:
  // Loads the PEM certificate chain and private key and checks that they match.
  static Result<TlsServerContext> create(const std::string& cert_file, const std::string& key_file);
  TlsServerContext(TlsServerContext&& other) noexcept;
  TlsServerContext& operator=(TlsServerContext&& other) noexcept;
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;
  ~TlsServerContext();

  SSL_CTX* get() const { return ctx_; }
  // A new SSL in server mode; the caller owns it (or hands it to a bufferevent that frees it).
  Result<SSL*> new_session() const;

 private:
  explicit TlsServerContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_ = nullptr;
};

// What a finished handshake agreed on.
struct TlsSessionInfo {
  std::string protocol;  // "TLSv1.3"
  std::string cipher;    // "TLS_AES_256_GCM_SHA384"
  int secret_bits = 0;   // 256
  int algorithm_bits = 0;
  // "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)", as Postfix writes it.
  std::string describe() const;
};
TlsSessionInfo tls_session_info(const SSL* ssl);

// The last OpenSSL error queue entries as text (and clears the queue); "" when empty.
std::string openssl_errors();

}  // namespace postern
