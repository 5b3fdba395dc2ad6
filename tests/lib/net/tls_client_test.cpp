// Tests lib/net/tls_client: the policy levels, and real handshakes over a socketpair against
// lib/net/tls_server with a test CA made by the openssl command in a temporary directory: a
// certificate for the expected name verifies, a wrong name, an unknown CA or a self-signed
// certificate fail at verify, and without match names (may, encrypt) anything is accepted.
#include "lib/net/tls_client.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "lib/config/parameters.hpp"
#include "lib/net/tls_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern {
namespace {

bool run(const std::string& command) {
  return std::system(("(" + command + ") >/dev/null 2>&1").c_str()) == 0;
}

// A CA, a server certificate it signed for mx.example.test (and 127.0.0.1), and a second CA.
class TlsClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    signal(SIGPIPE, SIG_IGN);  // a side that gives up must not kill the test with it
    dir_ = new test_support::TempDir("tls_client_test");
    const std::string d = dir_->path();
    std::ofstream(d + "/ext.cnf") << "subjectAltName=DNS:mx.example.test,IP:127.0.0.1\n";
    ok_ = run("cd " + d +
              " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=Test-CA"
              " -keyout ca.key -out ca.pem"
              " && openssl req -newkey rsa:2048 -nodes -subj /CN=mx.example.test"
              " -keyout server.key -out server.csr"
              " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
              " -days 2 -extfile ext.cnf -out server.pem"
              " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=Other-CA"
              " -keyout other.key -out other.pem");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string path(const std::string& name) { return dir_->path() + "/" + name; }

  // Runs one handshake; returns whether the client side succeeded and the client's SSL verify
  // description.
  struct Outcome {
    bool client_ok = false;
    std::string verify_failure;
    std::string peer_cn;
    std::string error;
  };
  static Outcome handshake(const TlsClientContext& client, const std::string& sni,
                           const std::vector<std::string>& match, const std::string& cert,
                           const std::string& key) {
    Result<TlsServerContext> server = TlsServerContext::create(
        cert, key, find_parameter(kTlsServerCiphersParameter)->default_value);
    EXPECT_TRUE(server.ok()) << (server.ok() ? "" : server.error().message);
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    std::thread server_thread([&] {
      Result<SSL*> ssl = server->new_session();
      if (!ssl) return;
      SSL_set_fd(*ssl, fds[1]);
      SSL_accept(*ssl);  // fails when the client aborts; the client side is what we judge
      SSL_free(*ssl);
      close(fds[1]);
    });
    Outcome outcome;
    Result<SSL*> ssl = client.new_session(sni, match);
    EXPECT_TRUE(ssl.ok());
    if (ssl.ok()) {
      SSL_set_fd(*ssl, fds[0]);
      outcome.client_ok = SSL_connect(*ssl) == 1;
      if (!outcome.client_ok) outcome.error = openssl_errors();
      outcome.verify_failure = tls_verify_failure(*ssl);
      if (outcome.client_ok) outcome.peer_cn = tls_peer_common_name(*ssl);
      SSL_free(*ssl);
    }
    close(fds[0]);
    server_thread.join();
    ERR_clear_error();
    return outcome;
  }

  static test_support::TempDir* dir_;
  static bool ok_;
};

test_support::TempDir* TlsClientTest::dir_ = nullptr;
bool TlsClientTest::ok_ = false;

TEST(TlsLevelTest, ParsesEveryLevel) {
  EXPECT_EQ(*parse_tls_level("none"), TlsLevel::kNone);
  EXPECT_EQ(*parse_tls_level("may"), TlsLevel::kMay);
  EXPECT_EQ(*parse_tls_level("encrypt"), TlsLevel::kEncrypt);
  EXPECT_EQ(*parse_tls_level("verify"), TlsLevel::kVerify);
  EXPECT_EQ(*parse_tls_level("secure"), TlsLevel::kSecure);
  EXPECT_FALSE(parse_tls_level("dane").ok());
  EXPECT_FALSE(parse_tls_level("").ok());
  EXPECT_FALSE(tls_required(TlsLevel::kMay));
  EXPECT_TRUE(tls_required(TlsLevel::kEncrypt));
  EXPECT_FALSE(tls_verifies(TlsLevel::kEncrypt));
  EXPECT_TRUE(tls_verifies(TlsLevel::kVerify));
  EXPECT_TRUE(tls_verifies(TlsLevel::kSecure));
  EXPECT_EQ(tls_level_name(TlsLevel::kSecure), "secure");
}

TEST_F(TlsClientTest, MissingCaFileIsAnError) {
  EXPECT_FALSE(TlsClientContext::create(path("does-not-exist.pem")).ok());
}

TEST_F(TlsClientTest, RightNameVerifies) {
  ASSERT_TRUE(ok_) << "openssl could not make the test CA";
  Result<TlsClientContext> client = TlsClientContext::create(path("ca.pem"));
  ASSERT_TRUE(client.ok()) << client.error().message;
  Outcome outcome = handshake(*client, "mx.example.test", {"mx.example.test"}, path("server.pem"),
                              path("server.key"));
  EXPECT_TRUE(outcome.client_ok) << outcome.verify_failure << " " << outcome.error;
  EXPECT_EQ(outcome.verify_failure, "");
  EXPECT_EQ(outcome.peer_cn, "mx.example.test");
}

TEST_F(TlsClientTest, WrongNameFails) {
  ASSERT_TRUE(ok_);
  Result<TlsClientContext> client = TlsClientContext::create(path("ca.pem"));
  ASSERT_TRUE(client.ok());
  Outcome outcome = handshake(*client, "smtp.other.test", {"smtp.other.test"}, path("server.pem"),
                              path("server.key"));
  EXPECT_FALSE(outcome.client_ok);
  EXPECT_NE(outcome.verify_failure.find("mismatch"), std::string::npos) << outcome.verify_failure;
}

TEST_F(TlsClientTest, SubdomainPatternMatchesOnlySubdomains) {
  ASSERT_TRUE(ok_);
  Result<TlsClientContext> client = TlsClientContext::create(path("ca.pem"));
  ASSERT_TRUE(client.ok());
  // secure: "example.test" and ".example.test" accept mx.example.test ...
  EXPECT_TRUE(handshake(*client, "example.test", {"example.test", ".example.test"},
                        path("server.pem"), path("server.key"))
                  .client_ok);
  // ... but ".other.test" does not.
  EXPECT_FALSE(handshake(*client, "other.test", {"other.test", ".other.test"}, path("server.pem"),
                         path("server.key"))
                   .client_ok);
}

TEST_F(TlsClientTest, IpLiteralMatchesIpSan) {
  ASSERT_TRUE(ok_);
  Result<TlsClientContext> client = TlsClientContext::create(path("ca.pem"));
  ASSERT_TRUE(client.ok());
  EXPECT_TRUE(handshake(*client, "127.0.0.1", {"127.0.0.1"}, path("server.pem"), path("server.key"))
                  .client_ok);
  EXPECT_FALSE(
      handshake(*client, "127.0.0.2", {"127.0.0.2"}, path("server.pem"), path("server.key"))
          .client_ok);
}

TEST_F(TlsClientTest, UnknownCaFails) {
  ASSERT_TRUE(ok_);
  Result<TlsClientContext> client = TlsClientContext::create(path("other.pem"));
  ASSERT_TRUE(client.ok());
  Outcome outcome = handshake(*client, "mx.example.test", {"mx.example.test"}, path("server.pem"),
                              path("server.key"));
  EXPECT_FALSE(outcome.client_ok);
  EXPECT_NE(outcome.verify_failure, "");
}

TEST_F(TlsClientTest, SelfSignedFailsVerifyButPassesWithoutMatchNames) {
  ASSERT_TRUE(ok_);
  Result<TlsClientContext> client = TlsClientContext::create("");
  ASSERT_TRUE(client.ok());
  // The CA's own certificate used as a server certificate: not in the system store.
  EXPECT_FALSE(
      handshake(*client, "Test-CA", {"Test-CA"}, path("ca.pem"), path("ca.key")).client_ok);
  // may / encrypt: no verification, the session is still encrypted.
  Outcome outcome = handshake(*client, "mx.example.test", {}, path("other.pem"), path("other.key"));
  EXPECT_TRUE(outcome.client_ok);
}

}  // namespace
}  // namespace postern
