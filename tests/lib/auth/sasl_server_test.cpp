// Tests for lib/auth/sasl_server.cpp, end to end against a temporary AccountsDb: PLAIN (with and
// without an initial response) and LOGIN, good and bad passwords, unknown users, accounts with no
// or a too-weak hash, authzid equal to or different from authcid, malformed base64 and malformed
// PLAIN messages, cancel, out-of-sequence steps, the login domain, and the limits at N and N+1:
// response length, user name length and password length.
#include "lib/auth/sasl_server.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>

#include "lib/auth/password_hash.hpp"

namespace postern {
namespace {

namespace fs = std::filesystem;

// `openssl passwd -6 -salt Q9xS2bLm 'correct horse'`
const char kBobHash[] =
    "$6$Q9xS2bLm$zxfvzLpCVGjUXg3NNT2F2o/eBCda8NzUihrJd/8/SCN5o8olqysU.lxiXPPystXwu0jVKHwzRtsM6hn9"
    "FY0DU0";
// `openssl passwd -1 -salt abc pw`: MD5-crypt, refused as too weak.
const char kWeakHash[] = "$1$abc$Kb85XxsXB.VXinPhbS4431";

std::string base64(std::string_view data) {
  std::string out((data.size() + 2) / 3 * 4 + 1, '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                     reinterpret_cast<const unsigned char*>(data.data()),
                                     static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(length));
  return out;
}

std::string decode(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                               reinterpret_cast<const unsigned char*>(text.data()),
                               static_cast<int>(text.size()));
  while (length > 0 && !text.empty() && text.back() == '=') {
    --length;
    text.remove_suffix(1);
  }
  out.resize(static_cast<size_t>(std::max(length, 0)));
  return out;
}

std::string plain_message(std::string_view authzid, std::string_view authcid,
                          std::string_view password) {
  std::string message(authzid);
  message += '\0';
  message += authcid;
  message += '\0';
  message += password;
  return base64(message);
}

class SaslServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "sasl_server_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = new std::string(pattern);
    Result<AccountsDb> db = AccountsDb::open(*dir_ + "/accounts", false);
    ASSERT_TRUE(db.ok()) << db.error().describe();
    db_ = new AccountsDb(std::move(db).value());

    AccountsData data;
    data.domains = {"example.org"};
    Result<std::string> alice = make_password_hash("alice pw");
    ASSERT_TRUE(alice.ok()) << alice.error().describe();
    Result<std::string> longpw = make_password_hash(std::string(kMaxPasswordBytes, 'p'));
    ASSERT_TRUE(longpw.ok()) << longpw.error().describe();
    data.passwords["alice@example.org"] = *alice;
    data.passwords["bob@example.org"] = kBobHash;
    data.passwords["weak@example.org"] = kWeakHash;
    data.passwords["nologin@example.org"] = "";
    data.passwords["longpw@example.org"] = *longpw;
    Status stored = db_->store(data);
    ASSERT_TRUE(stored.ok()) << stored.error().describe();
  }
  static void TearDownTestSuite() {
    delete db_;
    db_ = nullptr;
    fs::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }

  static SaslStep plain(SaslServer& server, std::string_view authzid, std::string_view authcid,
                        std::string_view password) {
    return server.start("PLAIN", plain_message(authzid, authcid, password));
  }

  static std::string* dir_;
  static AccountsDb* db_;
};

std::string* SaslServerTest::dir_ = nullptr;
AccountsDb* SaslServerTest::db_ = nullptr;

void expect_success(const SaslStep& step, const std::string& user) {
  EXPECT_EQ(step.outcome, SaslOutcome::kSuccess);
  EXPECT_EQ(step.failure, SaslFailure::kNone);
  EXPECT_EQ(step.user, user);
}

void expect_failure(const SaslStep& step, SaslFailure failure, const std::string& user = "") {
  EXPECT_EQ(step.outcome, SaslOutcome::kFailure);
  EXPECT_EQ(step.failure, failure);
  EXPECT_EQ(step.user, user);
}

TEST_F(SaslServerTest, PlainWithInitialResponse) {
  SaslServer server(*db_);
  expect_success(plain(server, "", "alice@example.org", "alice pw"), "alice@example.org");
  expect_success(plain(server, "", "Alice@Example.ORG", "alice pw"), "alice@example.org");
  expect_success(plain(server, "", "bob@example.org", "correct horse"), "bob@example.org");
}

TEST_F(SaslServerTest, PlainWithoutInitialResponse) {
  SaslServer server(*db_);
  SaslStep step = server.start("plain", std::nullopt);
  ASSERT_EQ(step.outcome, SaslOutcome::kContinue);
  EXPECT_EQ(step.challenge, "");
  expect_success(server.step(plain_message("", "alice@example.org", "alice pw")),
                 "alice@example.org");
}

TEST_F(SaslServerTest, PlainBadCredentials) {
  SaslServer server(*db_);
  expect_failure(plain(server, "", "alice@example.org", "alice pW"), SaslFailure::kBadCredentials,
                 "alice@example.org");
  expect_failure(plain(server, "", "alice@example.org", ""), SaslFailure::kBadCredentials,
                 "alice@example.org");
  expect_failure(plain(server, "", "ghost@example.org", "alice pw"), SaslFailure::kBadCredentials,
                 "ghost@example.org");
  expect_failure(plain(server, "", "nologin@example.org", ""), SaslFailure::kBadCredentials,
                 "nologin@example.org");
  expect_failure(plain(server, "", "nologin@example.org", "x"), SaslFailure::kBadCredentials,
                 "nologin@example.org");
  // The right password for a too-weak hash still does not log in.
  expect_failure(plain(server, "", "weak@example.org", "pw"), SaslFailure::kBadCredentials,
                 "weak@example.org");
  // Reusable after failures.
  expect_success(plain(server, "", "alice@example.org", "alice pw"), "alice@example.org");
}

TEST_F(SaslServerTest, PlainAuthzidMustBeEmptyOrTheSameIdentity) {
  SaslServer server(*db_);
  expect_success(plain(server, "alice@example.org", "alice@example.org", "alice pw"),
                 "alice@example.org");
  expect_success(plain(server, "ALICE@example.org", "alice@EXAMPLE.org", "alice pw"),
                 "alice@example.org");
  expect_failure(plain(server, "bob@example.org", "alice@example.org", "alice pw"),
                 SaslFailure::kAuthzidMismatch, "alice@example.org");
  expect_failure(plain(server, "alice", "alice@example.org", "alice pw"),
                 SaslFailure::kAuthzidMismatch, "alice@example.org");
}

TEST_F(SaslServerTest, PlainMalformedMessages) {
  SaslServer server(*db_);
  const std::string cases[] = {
      base64("alice@example.org alice pw"),                        // no NUL
      base64(std::string("\0alice@example.org", 18)),              // one NUL
      base64(std::string("\0alice@example.org\0alice pw\0", 28)),  // three NULs
      base64(std::string("\0\0alice pw", 10)),                     // empty authcid
      base64(std::string("\0ali\x01"
                         "ce@example.org\0alice pw",
                         28)),  // control byte
  };
  for (const std::string& response : cases) {
    expect_failure(server.start("PLAIN", response), SaslFailure::kMalformed);
  }
  expect_failure(server.start("PLAIN", "="), SaslFailure::kMalformed);  // empty response
}

TEST_F(SaslServerTest, MalformedBase64IsRefused) {
  SaslServer server(*db_);
  const std::string good = plain_message("", "alice@example.org", "alice pw");
  const std::string cases[] = {
      good.substr(0, good.size() - 1),  // not a multiple of 4
      good + "A",
      good + "====",
      " " + good.substr(1),
      good.substr(0, 4) + "!" + good.substr(5),
      "QQ=A" + good.substr(4),  // '=' in the middle
      "QQ==" + good,
      "====",
      "A===",
  };
  for (const std::string& response : cases) {
    SCOPED_TRACE(response);
    expect_failure(server.start("PLAIN", response), SaslFailure::kMalformed);
    ASSERT_EQ(server.start("PLAIN", std::nullopt).outcome, SaslOutcome::kContinue);
    expect_failure(server.step(response), SaslFailure::kMalformed);
  }
  expect_success(server.start("PLAIN", good), "alice@example.org");
}

TEST_F(SaslServerTest, LoginExchange) {
  SaslServer server(*db_);
  SaslStep step = server.start("LOGIN", std::nullopt);
  ASSERT_EQ(step.outcome, SaslOutcome::kContinue);
  EXPECT_EQ(decode(step.challenge), "Username:");
  step = server.step(base64("Bob@example.org"));
  ASSERT_EQ(step.outcome, SaslOutcome::kContinue);
  EXPECT_EQ(decode(step.challenge), "Password:");
  expect_success(server.step(base64("correct horse")), "bob@example.org");
  expect_failure(server.step(base64("correct horse")), SaslFailure::kOutOfSequence);
}

TEST_F(SaslServerTest, LoginWithInitialResponseAndBadPassword) {
  SaslServer server(*db_);
  SaslStep step = server.start("login", base64("alice@example.org"));
  ASSERT_EQ(step.outcome, SaslOutcome::kContinue);
  EXPECT_EQ(decode(step.challenge), "Password:");
  expect_failure(server.step(base64("alice")), SaslFailure::kBadCredentials, "alice@example.org");

  ASSERT_EQ(server.start("LOGIN", std::nullopt).outcome, SaslOutcome::kContinue);
  ASSERT_EQ(server.step(base64("weak@example.org")).outcome, SaslOutcome::kContinue);
  expect_failure(server.step(base64("pw")), SaslFailure::kBadCredentials, "weak@example.org");
}

TEST_F(SaslServerTest, LoginMalformedResponses) {
  SaslServer server(*db_);
  ASSERT_EQ(server.start("LOGIN", std::nullopt).outcome, SaslOutcome::kContinue);
  expect_failure(server.step("not base64!"), SaslFailure::kMalformed);
  ASSERT_EQ(server.start("LOGIN", std::nullopt).outcome, SaslOutcome::kContinue);
  expect_failure(server.step(""), SaslFailure::kMalformed);  // empty user name
  expect_failure(server.start("LOGIN", "="), SaslFailure::kMalformed);
  ASSERT_EQ(server.start("LOGIN", base64("alice@example.org")).outcome, SaslOutcome::kContinue);
  expect_failure(server.step("YWxp?2U="), SaslFailure::kMalformed, "alice@example.org");
  // A NUL in a LOGIN password: refused like any wrong password.
  ASSERT_EQ(server.start("LOGIN", base64("alice@example.org")).outcome, SaslOutcome::kContinue);
  expect_failure(server.step(base64(std::string("alice pw\0", 9))), SaslFailure::kBadCredentials,
                 "alice@example.org");
}

TEST_F(SaslServerTest, CancelUnsupportedAndOutOfSequence) {
  SaslServer server(*db_);
  expect_failure(server.step(base64("x")), SaslFailure::kOutOfSequence);
  expect_failure(server.start("CRAM-MD5", std::nullopt), SaslFailure::kUnsupportedMechanism);
  expect_failure(server.start("PLAINX", std::nullopt), SaslFailure::kUnsupportedMechanism);
  ASSERT_EQ(server.start("PLAIN", std::nullopt).outcome, SaslOutcome::kContinue);
  expect_failure(server.step("*"), SaslFailure::kCancelled);
  expect_failure(server.step(plain_message("", "alice@example.org", "alice pw")),
                 SaslFailure::kOutOfSequence);
  ASSERT_EQ(server.start("LOGIN", base64("alice@example.org")).outcome, SaslOutcome::kContinue);
  expect_failure(server.step("*"), SaslFailure::kCancelled, "alice@example.org");
}

TEST_F(SaslServerTest, ResponseLengthLimit) {
  SaslServer server(*db_);
  // kMaxSaslResponseBytes of base64 = 9216 decoded bytes: accepted and checked (a password that
  // long cannot be right), one more character is refused before decoding.
  const std::string prefix = std::string(1, '\0') + "alice@example.org" + std::string(1, '\0');
  const std::string at_limit =
      base64(prefix + std::string(kMaxSaslResponseBytes / 4 * 3 - prefix.size(), 'x'));
  ASSERT_EQ(at_limit.size(), kMaxSaslResponseBytes);
  expect_failure(server.start("PLAIN", at_limit), SaslFailure::kBadCredentials,
                 "alice@example.org");
  ASSERT_EQ(server.start("PLAIN", std::nullopt).outcome, SaslOutcome::kContinue);
  expect_failure(server.step(at_limit), SaslFailure::kBadCredentials, "alice@example.org");

  const std::string over = at_limit + "A";
  expect_failure(server.start("PLAIN", over), SaslFailure::kTooLong);
  ASSERT_EQ(server.start("PLAIN", std::nullopt).outcome, SaslOutcome::kContinue);
  expect_failure(server.step(over), SaslFailure::kTooLong);
  ASSERT_EQ(server.start("LOGIN", std::nullopt).outcome, SaslOutcome::kContinue);
  expect_failure(server.step(over), SaslFailure::kTooLong);
}

TEST_F(SaslServerTest, UserNameLengthLimit) {
  SaslServer server(*db_);
  const std::string at_limit = std::string(kMaxSaslUserBytes - 12, 'u') + "@example.org";
  ASSERT_EQ(at_limit.size(), kMaxSaslUserBytes);
  expect_failure(plain(server, "", at_limit, "pw"), SaslFailure::kBadCredentials, at_limit);
  expect_failure(plain(server, "", "u" + at_limit, "pw"), SaslFailure::kMalformed);
  ASSERT_EQ(server.start("LOGIN", std::nullopt).outcome, SaslOutcome::kContinue);
  expect_failure(server.step(base64("u" + at_limit)), SaslFailure::kMalformed);
}

TEST_F(SaslServerTest, PasswordLengthLimit) {
  SaslServer server(*db_);
  expect_success(plain(server, "", "longpw@example.org", std::string(kMaxPasswordBytes, 'p')),
                 "longpw@example.org");
  expect_failure(plain(server, "", "longpw@example.org", std::string(kMaxPasswordBytes + 1, 'p')),
                 SaslFailure::kBadCredentials, "longpw@example.org");
}

TEST_F(SaslServerTest, LoginDomainCompletesBareNames) {
  SaslServer with_domain(*db_, "Example.ORG");
  expect_success(plain(with_domain, "", "Alice", "alice pw"), "alice@example.org");
  expect_success(plain(with_domain, "alice@example.org", "alice", "alice pw"), "alice@example.org");
  SaslServer without_domain(*db_);
  expect_failure(plain(without_domain, "", "alice", "alice pw"), SaslFailure::kBadCredentials,
                 "alice");
}

TEST_F(SaslServerTest, MovedServerContinuesTheExchange) {
  SaslServer server(*db_);
  ASSERT_EQ(server.start("LOGIN", base64("alice@example.org")).outcome, SaslOutcome::kContinue);
  SaslServer moved(std::move(server));
  expect_success(moved.step(base64("alice pw")), "alice@example.org");
}

TEST_F(SaslServerTest, SmtpReplies) {
  EXPECT_EQ(sasl_failure_smtp_reply(SaslFailure::kBadCredentials).substr(0, 9), "535 5.7.8");
  EXPECT_EQ(sasl_failure_smtp_reply(SaslFailure::kAuthzidMismatch).substr(0, 9), "535 5.7.8");
  EXPECT_EQ(sasl_failure_smtp_reply(SaslFailure::kTemporary).substr(0, 9), "454 4.7.0");
  EXPECT_EQ(sasl_failure_smtp_reply(SaslFailure::kMalformed).substr(0, 9), "501 5.5.2");
  EXPECT_EQ(sasl_failure_smtp_reply(SaslFailure::kCancelled).substr(0, 9), "501 5.0.0");
  EXPECT_EQ(sasl_failure_smtp_reply(SaslFailure::kUnsupportedMechanism).substr(0, 9), "504 5.5.4");
  EXPECT_EQ(sasl_failure_smtp_reply(SaslFailure::kTooLong).substr(0, 9), "500 5.5.6");
  EXPECT_EQ(sasl_failure_smtp_reply(SaslFailure::kOutOfSequence).substr(0, 9), "503 5.5.1");
}

}  // namespace
}  // namespace postern
