// Unit tests for lib/net/tls_server.cpp: a context loads a matching certificate and key, refuses a
// missing file and a key that does not match, and a real in-memory handshake agrees on TLS 1.2
// or 1.3 while a client capped at TLS 1.1 is refused. smtpd_tls_cipherlist: the default offers
// only forward-secret AEAD suites for TLS 1.2 (a CBC-only client is refused), another list
// changes what is offered, and check_tls_server_ciphers refuses an empty list, an unknown word
// in an otherwise good list, a TLS 1.3 name and a list that leaves nothing, naming the word.
#include "lib/net/tls_server.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "lib/config/parameters.hpp"

namespace postern {
namespace {

const std::string kDefaultCiphers(find_parameter(kTlsServerCiphersParameter)->default_value);
// What testssl.sh calls LUCKY13-prone: TLS 1.2 suites with AES in CBC mode.
const char* const kCbcOnly = "ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA";

class TlsServerTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/tls_server_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    for (const char* name : {"a", "b"}) {
      std::string cmd =
          "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mx.test "
          "-keyout " +
          dir_ + "/" + name + ".key -out " + dir_ + "/" + name + ".crt >/dev/null 2>&1";
      ASSERT_EQ(std::system(cmd.c_str()), 0);
    }
  }
  static void TearDownTestSuite() { std::system(("rm -rf " + dir_).c_str()); }
  static std::string path(const char* name) { return dir_ + "/" + name; }
  static inline std::string dir_;
};

// Runs a client/server handshake over memory BIOs; returns the server SSL (or nullptr on
// failure). max_client_version 0: the client's default; client_ciphers: the client's TLS 1.2
// list (nullptr: OpenSSL's default).
SSL* handshake(const TlsServerContext& server, int max_client_version,
               const char* client_ciphers = nullptr) {
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_security_level(client_ctx, 0);
  if (max_client_version) {
    SSL_CTX_set_min_proto_version(client_ctx, 0);
    SSL_CTX_set_max_proto_version(client_ctx, max_client_version);
  }
  if (client_ciphers != nullptr) {
    EXPECT_EQ(SSL_CTX_set_cipher_list(client_ctx, client_ciphers), 1);
  }
  SSL* client = SSL_new(client_ctx);
  SSL_CTX_free(client_ctx);  // the SSL holds a reference
  Result<SSL*> made = server.new_session();
  EXPECT_TRUE(made.ok());
  SSL* srv = *made;
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
  SSL_set_bio(client, client_bio, client_bio);
  SSL_set_bio(srv, server_bio, server_bio);
  SSL_set_connect_state(client);
  SSL_set_accept_state(srv);
  bool client_done = false, server_done = false, failed = false;
  for (int round = 0; round < 50 && !(client_done && server_done) && !failed; ++round) {
    if (!client_done) {
      int rc = SSL_do_handshake(client);
      if (rc == 1)
        client_done = true;
      else if (SSL_get_error(client, rc) != SSL_ERROR_WANT_READ)
        failed = true;
    }
    if (!server_done) {
      int rc = SSL_do_handshake(srv);
      if (rc == 1)
        server_done = true;
      else if (SSL_get_error(srv, rc) != SSL_ERROR_WANT_READ)
        failed = true;
    }
  }
  ERR_clear_error();
  SSL_free(client);
  if (!client_done || !server_done) {
    SSL_free(srv);
    return nullptr;
  }
  return srv;
}

TEST_F(TlsServerTest, LoadsMatchingCertificateAndKey) {
  Result<TlsServerContext> ctx =
      TlsServerContext::create(path("a.crt"), path("a.key"), kDefaultCiphers);
  ASSERT_TRUE(ctx.ok()) << ctx.error().describe();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx->get()), TLS1_2_VERSION);
  EXPECT_TRUE(SSL_CTX_get_options(ctx->get()) & SSL_OP_NO_TICKET);
  EXPECT_TRUE(SSL_CTX_get_options(ctx->get()) & SSL_OP_NO_COMPRESSION);
}

TEST_F(TlsServerTest, RefusesMissingOrMismatchedFiles) {
  EXPECT_FALSE(TlsServerContext::create(path("none.crt"), path("a.key"), kDefaultCiphers).ok());
  EXPECT_FALSE(TlsServerContext::create(path("a.crt"), path("none.key"), kDefaultCiphers).ok());
  EXPECT_FALSE(TlsServerContext::create("", "", kDefaultCiphers).ok());
  Result<TlsServerContext> mismatch =
      TlsServerContext::create(path("a.crt"), path("b.key"), kDefaultCiphers);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message.find(path("b.key")), std::string::npos);
}

TEST_F(TlsServerTest, HandshakeAgreesOnModernTls) {
  Result<TlsServerContext> ctx =
      TlsServerContext::create(path("a.crt"), path("a.key"), kDefaultCiphers);
  ASSERT_TRUE(ctx.ok());
  SSL* tls13 = handshake(*ctx, 0);
  ASSERT_NE(tls13, nullptr);
  TlsSessionInfo info = tls_session_info(tls13);
  EXPECT_EQ(info.protocol, "TLSv1.3");
  EXPECT_GE(info.secret_bits, 128);
  EXPECT_EQ(info.describe(), "TLSv1.3 with cipher " + info.cipher + " (" +
                                 std::to_string(info.secret_bits) + "/" +
                                 std::to_string(info.algorithm_bits) + " bits)");
  SSL_free(tls13);

  SSL* tls12 = handshake(*ctx, TLS1_2_VERSION);
  ASSERT_NE(tls12, nullptr);
  EXPECT_EQ(tls_session_info(tls12).protocol, "TLSv1.2");
  SSL_free(tls12);
}

TEST_F(TlsServerTest, RefusesTls11) {
  Result<TlsServerContext> ctx =
      TlsServerContext::create(path("a.crt"), path("a.key"), kDefaultCiphers);
  ASSERT_TRUE(ctx.ok());
  EXPECT_EQ(handshake(*ctx, TLS1_1_VERSION), nullptr);
}

TEST_F(TlsServerTest, DefaultOffersOnlyForwardSecretAeadForTls12) {
  Result<TlsServerContext> ctx =
      TlsServerContext::create(path("a.crt"), path("a.key"), kDefaultCiphers);
  ASSERT_TRUE(ctx.ok()) << ctx.error().describe();
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx->get());
  int tls12 = 0;
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(ciphers, i);
    SCOPED_TRACE(SSL_CIPHER_get_name(cipher));
    EXPECT_TRUE(SSL_CIPHER_is_aead(cipher));
    int kx = SSL_CIPHER_get_kx_nid(cipher);
    if (kx == NID_kx_any) continue;  // a TLS 1.3 suite: OpenSSL's, not the list's
    ++tls12;
    EXPECT_TRUE(kx == NID_kx_ecdhe || kx == NID_kx_dhe) << OBJ_nid2sn(kx);
  }
  EXPECT_EQ(tls12,
            9);  // ECDHE-ECDSA and ECDHE-RSA x (AES128-GCM, AES256-GCM, CHACHA20), DHE-RSA x 3
}

TEST_F(TlsServerTest, DefaultRefusesCbcOnlyTls12Client) {
  Result<TlsServerContext> ctx =
      TlsServerContext::create(path("a.crt"), path("a.key"), kDefaultCiphers);
  ASSERT_TRUE(ctx.ok());
  EXPECT_EQ(handshake(*ctx, TLS1_2_VERSION, kCbcOnly), nullptr);
  EXPECT_EQ(handshake(*ctx, TLS1_2_VERSION, "AES128-GCM-SHA256"), nullptr);  // RSA key exchange
  for (const char* aead : {"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                           "ECDHE-RSA-CHACHA20-POLY1305", "DHE-RSA-AES128-GCM-SHA256"}) {
    SSL* ssl = handshake(*ctx, TLS1_2_VERSION, aead);
    ASSERT_NE(ssl, nullptr) << aead;
    EXPECT_EQ(tls_session_info(ssl).cipher, aead);
    SSL_free(ssl);
  }
}

TEST_F(TlsServerTest, CipherListChangesWhatIsOffered) {
  Result<TlsServerContext> ctx =
      TlsServerContext::create(path("a.crt"), path("a.key"), "ECDHE-RSA-AES256-SHA");
  ASSERT_TRUE(ctx.ok()) << ctx.error().describe();
  SSL* cbc = handshake(*ctx, TLS1_2_VERSION, kCbcOnly);
  ASSERT_NE(cbc, nullptr);
  EXPECT_EQ(tls_session_info(cbc).cipher, "ECDHE-RSA-AES256-SHA");
  SSL_free(cbc);
  EXPECT_EQ(handshake(*ctx, TLS1_2_VERSION, "ECDHE-RSA-AES128-GCM-SHA256"), nullptr);
  SSL* tls13 = handshake(*ctx, 0);  // TLS 1.3 keeps OpenSSL's suites
  ASSERT_NE(tls13, nullptr);
  EXPECT_EQ(tls_session_info(tls13).protocol, "TLSv1.3");
  SSL_free(tls13);
}

TEST_F(TlsServerTest, CheckAcceptsOpenSslSyntax) {
  for (const char* good :
       {"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE+AESGCM:ECDHE+CHACHA20", "HIGH:!aNULL:!MD5:@STRENGTH",
        "ECDHE+AESGCM @SECLEVEL=2", "ECDHE-RSA-AES128-GCM-SHA256, ECDHE-RSA-AES256-GCM-SHA384",
        "DEFAULT:-CBC:+ECDHE-RSA-AES256-GCM-SHA384"}) {
    Status checked = check_tls_server_ciphers(good);
    EXPECT_TRUE(checked.ok()) << good << ": " << checked.error().describe();
  }
  EXPECT_TRUE(check_tls_server_ciphers(kDefaultCiphers).ok());
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(TlsServerTest, CheckRefusesBadListsNamingTheWord) {
  struct Case {
    const char* list;
    const char* expected;  // in the message
  };
  for (const Case& bad : {
           Case{"", "smtpd_tls_cipherlist is empty"},
           Case{" : ", "smtpd_tls_cipherlist is empty"},
           Case{"NO-SUCH-CIPHER", "\"NO-SUCH-CIPHER\" selects no TLS 1.2 cipher"},
           Case{"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA257",
                "\"ECDHE-RSA-AES128-GCM-SHA257\" selects no TLS 1.2 cipher"},
           Case{"TLS_AES_128_GCM_SHA256", "TLS 1.3 suites are not chosen here"},
           Case{"RC4-SHA", "\"RC4-SHA\""},
           Case{"!aNULL", "leaves no TLS 1.2 cipher"},
           Case{"ECDHE+AESGCM:!AESGCM", "leaves no TLS 1.2 cipher"},
       }) {
    Status checked = check_tls_server_ciphers(bad.list);
    ASSERT_FALSE(checked.ok()) << bad.list;
    EXPECT_EQ(checked.error().kind, ErrorKind::kConfig);
    EXPECT_NE(checked.error().message.find("smtpd_tls_cipherlist"), std::string::npos)
        << checked.error().message;
    EXPECT_NE(checked.error().message.find(bad.expected), std::string::npos)
        << checked.error().message;
  }
  Result<TlsServerContext> refused =
      TlsServerContext::create(path("a.crt"), path("a.key"), "ECDHE-RSA-AES128-GCM-SHA257");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("SHA257"), std::string::npos);
  EXPECT_EQ(ERR_peek_error(), 0u);  // nothing left on OpenSSL's error queue
}

}  // namespace
}  // namespace postern
