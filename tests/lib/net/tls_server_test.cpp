// Unit tests for lib/net/tls_server.cpp: a context loads a matching certificate and key, refuses a
// missing file and a key that does not match, and a real in-memory handshake agrees on TLS 1.2
// or 1.3 while a client capped at TLS 1.1 is refused.
#include "lib/net/tls_server.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace postern {
namespace {

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
// failure). max_client_version 0: the client's default.
SSL* handshake(const TlsServerContext& server, int max_client_version) {
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_security_level(client_ctx, 0);
  if (max_client_version) {
    SSL_CTX_set_min_proto_version(client_ctx, 0);
    SSL_CTX_set_max_proto_version(client_ctx, max_client_version);
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
  Result<TlsServerContext> ctx = TlsServerContext::create(path("a.crt"), path("a.key"));
  ASSERT_TRUE(ctx.ok()) << ctx.error().describe();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx->get()), TLS1_2_VERSION);
  EXPECT_TRUE(SSL_CTX_get_options(ctx->get()) & SSL_OP_NO_TICKET);
  EXPECT_TRUE(SSL_CTX_get_options(ctx->get()) & SSL_OP_NO_COMPRESSION);
}

TEST_F(TlsServerTest, RefusesMissingOrMismatchedFiles) {
  EXPECT_FALSE(TlsServerContext::create(path("none.crt"), path("a.key")).ok());
  EXPECT_FALSE(TlsServerContext::create(path("a.crt"), path("none.key")).ok());
  EXPECT_FALSE(TlsServerContext::create("", "").ok());
  Result<TlsServerContext> mismatch = TlsServerContext::create(path("a.crt"), path("b.key"));
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message.find(path("b.key")), std::string::npos);
}

TEST_F(TlsServerTest, HandshakeAgreesOnModernTls) {
  Result<TlsServerContext> ctx = TlsServerContext::create(path("a.crt"), path("a.key"));
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
  Result<TlsServerContext> ctx = TlsServerContext::create(path("a.crt"), path("a.key"));
  ASSERT_TRUE(ctx.ok());
  EXPECT_EQ(handshake(*ctx, TLS1_1_VERSION), nullptr);
}

}  // namespace
}  // namespace postern
