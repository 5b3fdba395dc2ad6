// Tests for smtpd/submission_headers.cpp: the From: rule (every address of every From: field
// owned by the login, through the real AccountsDb::may_send_as in a temporary LMDB), unreadable
// and group-only From:, the fields added when missing (From:, Message-ID:, Date:) and only then,
// the header size and syntax refusals.
#include "smtpd/submission_headers.hpp"

#include <gtest/gtest.h>

#include <optional>

#include "lib/auth/accounts.hpp"
#include "lib/mime/message_headers.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern::smtpd {
namespace {

const char kAccounts[] = R"(domains:
  example.test:
    users:
      alice:
        password: "$6$salt$hash"
      bob:
        password: "$6$salt$hash"
    aliases:
      team: [alice, bob]
)";

// The accounts' own rule, without submission's login map.
class AccountsOwnership : public SenderOwnership {
 public:
  explicit AccountsOwnership(const AccountsDb& db) : db_(db) {}
  Result<bool> owns(std::string_view login, std::string_view address) const override {
    return db_.may_send_as(login, address, "+");
  }

 private:
  const AccountsDb& db_;
};

class SubmissionHeadersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    Result<AccountsData> data = parse_accounts_yaml(kAccounts, "accounts.yaml");
    ASSERT_TRUE(data) << data.error().describe();
    Result<AccountsDb> db = AccountsDb::open(dir_.path(), false);
    ASSERT_TRUE(db) << db.error().describe();
    ASSERT_TRUE(db->store(*data));
    db_.emplace(std::move(db).value());
  }

  SubmissionHeaderResult check(std::string_view header,
                               std::string_view sender = "alice@example.test",
                               bool over_limit = false) {
    SubmissionHeaderInput input;
    input.header_text = header;
    input.over_limit = over_limit;
    input.login = "alice@example.test";
    input.envelope_sender = sender;
    input.queue_id = "ABCDEF0123456789";
    input.hostname = "mx.example.test";
    input.now = 1795000000;
    AccountsOwnership ownership(*db_);
    return check_submission_headers(input, ownership);
  }

  test_support::TempDir dir_{"submission_headers_test"};
  std::optional<AccountsDb> db_;
};

TEST_F(SubmissionHeadersTest, OwnedFromGetsMessageIdAndDate) {
  SubmissionHeaderResult r = check("From: Alice <alice@example.test>\r\nSubject: hi\r\n");
  EXPECT_EQ(r.refusal, "");
  EXPECT_EQ(r.added_names, "Message-ID Date");
  EXPECT_NE(r.additions.find("Message-ID: <"), std::string::npos) << r.additions;
  EXPECT_NE(r.additions.find("ABCDEF0123456789@mx.example.test>\r\n"), std::string::npos)
      << r.additions;
  EXPECT_EQ(r.additions.rfind("Date: ", std::string::npos) != std::string::npos, true);
  EXPECT_EQ(r.additions.substr(r.additions.size() - 2), "\r\n");
}

TEST_F(SubmissionHeadersTest, PresentFieldsAreNotAddedAgain) {
  SubmissionHeaderResult r = check(
      "from: alice+x@EXAMPLE.test\r\nmessage-id: <a@b>\r\nDATE: Mon, 1 Jan 2024 00:00:00 "
      "+0000\r\n");
  EXPECT_EQ(r.refusal, "");
  EXPECT_EQ(r.additions, "");
  EXPECT_EQ(r.added_names, "");
}

TEST_F(SubmissionHeadersTest, SpoofedFromIsRefused) {
  SubmissionHeaderResult r = check("From: The Boss <boss@example.test>\r\n");
  EXPECT_EQ(r.refusal,
            "553 5.7.1 <boss@example.test>: Sender address rejected: not owned by user "
            "alice@example.test");
  EXPECT_EQ(r.additions, "");
}

TEST_F(SubmissionHeadersTest, EveryAddressOfEveryFromCounts) {
  EXPECT_EQ(check("From: alice@example.test, team@example.test\r\n").refusal, "");
  EXPECT_NE(check("From: alice@example.test, bob@example.test\r\n").refusal, "");
  EXPECT_NE(check("From: alice@example.test\r\nFrom: bob@example.test\r\n").refusal, "");
  // A folded From: with a group and a comment.
  EXPECT_NE(check("From: friends: alice@example.test,\r\n (x) bob@example.test;\r\n").refusal, "");
  EXPECT_EQ(check("From: friends: alice@example.test,\r\n (x) team@example.test;\r\n").refusal, "");
}

TEST_F(SubmissionHeadersTest, UnreadableOrEmptyFromIsRefused) {
  const std::string kUnreadable =
      "553 5.7.1 Sender address rejected: the From: header cannot be read";
  EXPECT_EQ(check("From: <alice@example.test\r\n").refusal, kUnreadable);
  EXPECT_EQ(check("From: alice@example.test bob@example.test\r\n").refusal, kUnreadable);
  EXPECT_EQ(check("From: undisclosed-recipients:;\r\n").refusal, kUnreadable);
  EXPECT_EQ(check("From:\r\n").refusal, kUnreadable);
}

TEST_F(SubmissionHeadersTest, MissingFromIsAddedFromTheEnvelopeOrTheLogin) {
  SubmissionHeaderResult r = check("Subject: no from\r\n", "alice+lists@example.test");
  EXPECT_EQ(r.refusal, "");
  EXPECT_EQ(r.additions.rfind("From: <alice+lists@example.test>\r\n", 0), 0u) << r.additions;
  EXPECT_EQ(r.added_names, "From Message-ID Date");
  r = check("Subject: bounce\r\n", "");
  EXPECT_EQ(r.additions.rfind("From: <alice@example.test>\r\n", 0), 0u) << r.additions;
  r = check("", "");  // an empty header section
  EXPECT_EQ(r.refusal, "");
  EXPECT_EQ(r.added_names, "From Message-ID Date");
}

TEST_F(SubmissionHeadersTest, SizeAndSyntaxRefusals) {
  EXPECT_EQ(check("From: alice@example.test\r\n", "alice@example.test", true).refusal,
            "552 5.3.4 Message header size exceeds fixed limit");
  EXPECT_EQ(check("From: alice@example.test\r\nno colon here\r\n").refusal,
            "550 5.6.0 Message header section is malformed");
  std::string many;
  for (size_t i = 0; i <= kMaxHeaderFields; ++i) many += "X-A: b\r\n";
  EXPECT_EQ(check(many).refusal, "552 5.3.4 Too many header fields");
}

}  // namespace
}  // namespace postern::smtpd
