// TLS server context: SSL_CTX set-up (protocol floor, options, ciphers, certificate and key), the
// check of smtpd_tls_cipherlist, and the description of a negotiated session. Run by smtpd,
// submission and imapd at start (as root, before the privilege drop) and per handshake, and by
// master for the cipher check. Trusts the admin's files and cipher list, but checks the list word
// by word; reports every OpenSSL failure as a Result with OpenSSL's own error text.
#include "lib/net/tls_server.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <utility>

namespace postern {
namespace {

constexpr unsigned char kSessionIdContext[] = "postern";
// OpenSSL's separators in a cipher list (ssl_ciph.c: ITEM_SEP); a continued main.cf line is
// joined with a space, which is one of them.
constexpr std::string_view kCipherListSeparators = ": ,;";
// send_pending_tls_output sends at most this much: a TLS alert record is 7 bytes in the clear
// and a few dozen once TLS 1.3 protects it.
constexpr size_t kMaxPendingTlsOutputBytes = 256;

using SslCtxOwner = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

// Whether OpenSSL's list parser keeps at least one TLS 1.2 cipher from text (on a scratch
// context, so nothing else sees the attempt).
bool selects_a_cipher(SSL_CTX* probe, const std::string& text) {
  return SSL_CTX_set_cipher_list(probe, text.c_str()) == 1;
}

}  // namespace

Status check_tls_server_ciphers(std::string_view cipher_list) {
  const std::string parameter(kTlsServerCiphersParameter);
  if (cipher_list.find_first_not_of(kCipherListSeparators) == std::string_view::npos) {
    return Error::config(parameter +
                         " is empty: it must name the TLS 1.2 ciphers to offer (postern.cf(5))");
  }
  SslCtxOwner probe(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free);
  if (!probe) return Error::config("SSL_CTX_new: " + openssl_errors());
  size_t pos = 0;
  while (pos < cipher_list.size()) {
    size_t end = cipher_list.find_first_of(kCipherListSeparators, pos);
    if (end == std::string_view::npos) end = cipher_list.size();
    std::string word(cipher_list.substr(pos, end - pos));
    pos = end + 1;
    if (word.empty() || std::string_view("!-+@").find(word.front()) != std::string_view::npos ||
        word.find('=') != std::string::npos) {
      continue;
    }
    if (!selects_a_cipher(probe.get(), word)) {
      ERR_clear_error();
      std::string hint =
          word.starts_with("TLS_")
              ? std::string("; TLS 1.3 suites are not chosen here (OpenSSL's, all AEAD, are on)")
              : fmt::format("; check the spelling (openssl ciphers -v '{}')", word);
      return Error::config(fmt::format("{}: \"{}\" selects no TLS 1.2 cipher of {}{}", parameter,
                                       word, OpenSSL_version(OPENSSL_VERSION), hint));
    }
  }
  if (!selects_a_cipher(probe.get(), std::string(cipher_list))) {
    return Error::config(fmt::format("{} = {} leaves no TLS 1.2 cipher: {}", parameter, cipher_list,
                                     openssl_errors()));
  }
  return Status::success();
}

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
                                                  const std::string& key_file,
                                                  std::string_view cipher_list) {
  if (cert_file.empty() || key_file.empty()) {
    return Error::config("TLS needs both a certificate and a key file");
  }
  if (Status ciphers = check_tls_server_ciphers(cipher_list); !ciphers) return ciphers.error();
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
  if (SSL_CTX_set_cipher_list(raw, std::string(cipher_list).c_str()) != 1) {
    return Error::config(std::string(kTlsServerCiphersParameter) +
                         ": no usable TLS 1.2 cipher: " + openssl_errors());
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

std::string tls_bufferevent_errors(bufferevent* tls_bev) {
  std::string text;
  while (unsigned long code = bufferevent_get_openssl_error(tls_bev)) {
    // libevent also stores SSL_get_error()'s value (SSL_ERROR_SSL, SSL_ERROR_SYSCALL) here: a
    // code of no library, which says nothing the real entries do not.
    if (ERR_GET_LIB(code) == 0) continue;
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  std::string queued = openssl_errors();
  if (!queued.empty() && !text.empty()) text += "; ";
  return text + queued;
}

void send_pending_tls_output(bufferevent* tls_bev) {
  bufferevent* socket_bev = bufferevent_get_underlying(tls_bev);
  if (socket_bev == nullptr) return;
  evutil_socket_t fd = bufferevent_getfd(socket_bev);
  if (fd < 0) return;
  // A socket bufferevent keeps the start of its output frozen (only its own write callback may
  // drain it, and evbuffer_write and evbuffer_copyout refuse), so the bytes are looked at in
  // place and sent from here; an alert is a few bytes.
  evbuffer* output = bufferevent_get_output(socket_bev);
  size_t length = std::min(evbuffer_get_length(output), kMaxPendingTlsOutputBytes);
  if (length == 0) return;
  evbuffer_iovec chunks[4];
  int count = evbuffer_peek(output, static_cast<ev_ssize_t>(length), nullptr, chunks, 4);
  if (count <= 0) return;
  iovec parts[4];
  size_t used = 0;
  for (int i = 0; i < count && i < 4 && length > 0; ++i) {
    size_t take = std::min(chunks[i].iov_len, length);  // the last extent may run past length
    parts[used++] = {chunks[i].iov_base, take};
    length -= take;
  }
  msghdr message{};
  message.msg_iov = parts;
  message.msg_iovlen = used;
  (void)::sendmsg(fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
}

}  // namespace postern
