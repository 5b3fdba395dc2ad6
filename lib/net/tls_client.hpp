// The client side of TLS for relay: one OpenSSL SSL_CTX per process (TLS 1.2 and 1.3 only, the
// system CA store plus smtp_tls_CAfile), and one SSL per connection set up for the
// smtp_tls_security_level in force: SNI, and for verify/secure the peer's chain checked against
// the trusted CAs and its name against the expected host names (OpenSSL's X509_check_host rules,
// no partial wildcards). Used by postern-relay (STARTTLS and smtp_tls_wrappermode). Trusts the
// admin's CA file and the system store; the server's handshake and certificate are hostile and
// are judged by OpenSSL. Limits: OpenSSL's own (chain depth kTlsClientVerifyDepth).
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern {

inline constexpr int kTlsClientVerifyDepth = 10;
// OpenSSL's list of TLS 1.2 ciphers relay offers: forward-secret AEAD first, then ECDHE with
// AES-CBC, kept on the client side for old MX hosts (opportunistic TLS that fails falls back to
// plain text, which is worse). The server side is smtpd_tls_cipherlist (tls_server.hpp); TLS 1.3
// suites are OpenSSL's defaults, all AEAD.
inline constexpr const char* kTlsClientCiphers =
    "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:ECDHE+AES:"
    "!aNULL:!eNULL:!MD5:!DSS:!RC4:!3DES";

// smtp_tls_security_level, as in Postfix: none (never STARTTLS), may (when offered, no
// verification, failure = next host), encrypt (required, no verification), verify (required,
// chain and MX/relay host name checked), secure (required, chain and next-hop domain checked).
enum class TlsLevel { kNone, kMay, kEncrypt, kVerify, kSecure };

Result<TlsLevel> parse_tls_level(std::string_view text);
std::string_view tls_level_name(TlsLevel level);
// encrypt, verify and secure: a server without STARTTLS is not used.
inline bool tls_required(TlsLevel level) {
  return level >= TlsLevel::kEncrypt;
}
inline bool tls_verifies(TlsLevel level) {
  return level >= TlsLevel::kVerify;
}

// Owns an SSL_CTX in client mode. Move-only.
class TlsClientContext {
 public:
  // Trusts the system store (OpenSSL's default paths, /etc/ssl/certs on Debian) and, when not
  // empty, the PEM CA file (read now: call before the privilege drop).
  static Result<TlsClientContext> create(const std::string& ca_file);
  TlsClientContext(TlsClientContext&& other) noexcept;
  TlsClientContext& operator=(TlsClientContext&& other) noexcept;
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;
  ~TlsClientContext();

  SSL_CTX* get() const { return ctx_; }

  // A new SSL in client mode; the caller owns it (or hands it to a bufferevent that frees it).
  // server_name: sent as SNI unless it is an IP address literal. match_names: when not empty,
  // the handshake fails unless the chain verifies and the certificate matches one of the names
  // (a name starting with '.' matches any subdomain, an IP literal matches an IP SAN); when
  // empty, the certificate is not checked (may, encrypt).
  Result<SSL*> new_session(std::string_view server_name,
                           const std::vector<std::string>& match_names) const;

 private:
  explicit TlsClientContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_ = nullptr;
};

// Why verification failed ("certificate verify failed: Hostname mismatch"), or "" when the
// chain (and the names, when match names were given) verified. OpenSSL computes this even when
// the session did not require it (may, encrypt): then it is for the log only.
std::string tls_verify_failure(const SSL* ssl);

// The peer certificate's subject CN, for the "Trusted/Verified/Untrusted TLS connection" line.
std::string tls_peer_common_name(const SSL* ssl);

}  // namespace postern
