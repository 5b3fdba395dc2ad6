// The server side of TLS: one OpenSSL SSL_CTX per process, built from the certificate chain,
// key and TLS 1.2 cipher list named in main.cf, and the facts about a finished handshake that go
// into logs and the Received: header. Used by smtpd (STARTTLS on 25), submission (587 STARTTLS,
// 465 TLS from the start) and imapd (143, 993); master checks the cipher list at start, for -t
// and on SIGHUP, and a reload starts workers that build their context from the new main.cf.
// Trusts the admin's files (the key is read as root, before the privilege drop); the peer's
// handshake is hostile and is handled by OpenSSL. Policy: TLS 1.2 and 1.3 only, no compression,
// no renegotiation, the server's cipher order; for TLS 1.2 only what smtpd_tls_cipherlist
// selects (by default forward-secret AEAD suites: ECDHE or DHE with AES-GCM or
// CHACHA20-POLY1305, no CBC), for TLS 1.3 OpenSSL's suites (all AEAD); session tickets off, so
// no ticket key has to be shared or rotated across worker processes (stateful resumption within
// a process).
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <string_view>

#include "lib/base/result.hpp"

struct bufferevent;

namespace postern {

// The main.cf parameter with the OpenSSL cipher list for TLS 1.2 (its default, the "intermediate"
// AEAD list, is in lib/config/parameters.cpp and postern.cf(5)).
inline constexpr std::string_view kTlsServerCiphersParameter = "smtpd_tls_cipherlist";

// Checks a value of smtpd_tls_cipherlist against the OpenSSL we run with: not empty; every plain
// word in it (a name such as ECDHE-RSA-AES128-GCM-SHA256 or an expression such as ECDHE+AESGCM)
// selects at least one TLS 1.2 cipher (OpenSSL drops an unknown name without a word, so a typo
// would quietly shrink the list); and the whole list leaves at least one. Words that start with
// ! - + or @ and words with '=' (@SECLEVEL=n, PROFILE=...) only make sense in the whole list and
// are checked there. The error (kConfig) names the parameter and the word.
Status check_tls_server_ciphers(std::string_view cipher_list);

// Owns an SSL_CTX. Move-only.
class TlsServerContext {
 public:
  // Loads the PEM certificate chain and private key, checks that they match, and offers the TLS
  // 1.2 ciphers of cipher_list (an smtpd_tls_cipherlist value, checked first).
  static Result<TlsServerContext> create(const std::string& cert_file, const std::string& key_file,
                                         std::string_view cipher_list);
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

// For a session whose TLS runs in a bufferevent_openssl filter (smtpd, submission, imapd), when
// the handshake failed: OpenSSL's reasons ("no shared cipher"), which libevent moves off the
// thread's error queue into the bufferevent, then whatever is left on the queue; "" when none.
std::string tls_bufferevent_errors(bufferevent* tls_bev);
// Best effort, right before such a session frees the filter: writes to the socket, without
// waiting, what TLS left in the underlying bufferevent's output. After a failed handshake that is
// the alert that tells the client why (handshake_failure when no cipher is shared), which would
// otherwise be freed unsent and leave the client with a bare end of file.
void send_pending_tls_output(bufferevent* tls_bev);

}  // namespace postern
