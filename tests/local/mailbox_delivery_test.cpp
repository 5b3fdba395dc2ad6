// Tests for local/mailbox_delivery.cpp in a temporary directory (as root: owners are checked):
// an mbox append byte for byte (From_ line, Return-Path:, Delivered-To:, "From " lines escaped,
// LF line ends, the empty separator line, mode 0660), a second message after the first, the
// null sender, mailbox_size_limit at N and N+1 (the file cut back), a symlink or a file of
// another owner refused; Maildir delivery into new/ with LF line ends and nothing left in tmp/.
#include "local/mailbox_delivery.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "lib/queue/queue_dir.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_files.hpp"

namespace postern::local {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMessage =
    "Subject: x\r\n\r\nFrom here\r\n>From there\r\nFrom\r\nbody\r\n";
// 1700000000 is Tue Nov 14 22:13:20 2023 UTC.
constexpr std::string_view kMboxText =
    "From alice@example.org Tue Nov 14 22:13:20 2023\n"
    "Return-Path: <alice@example.org>\n"
    "Delivered-To: bob@example.org\n"
    "Subject: x\n\n>From here\n>From there\nFrom\nbody\n\n";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class MailboxDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mailbox owners)";
    file_ = queue_file(std::string(kMessage));
  }

  std::optional<QueueFile> queue_file(const std::string& message) {
    std::optional<QueueFile> file =
        test_support::committed_queue_file(queue_.path(), "alice@example.org", "bob@example.org", message);
    EXPECT_TRUE(file.has_value());
    return file;
  }

  MessageCopy copy(const QueueFile& file, std::string sender = "alice@example.org") {
    return MessageCopy{&file, std::move(sender), "bob@example.org", 1700000000};
  }

  MboxOptions options(uint64_t size_limit = 0) {
    MboxOptions o;
    o.expected_owner = 0;
    o.size_limit = size_limit;
    o.lock_timeout_ms = 2000;
    return o;
  }

  test_support::TempDir queue_{"mailbox_delivery_queue"};
  test_support::TempDir spool_{"mailbox_delivery_spool"};
  std::optional<QueueFile> file_;
};

TEST_F(MailboxDeliveryTest, MboxAppendByteForByte) {
  ASSERT_TRUE(file_);
  const std::string path = spool_.path() + "/bob";
  DeliveryOutcome outcome = append_to_mbox(copy(*file_), path, options());
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kSent) << outcome.reason;
  EXPECT_EQ(outcome.dsn, "2.0.0");
  EXPECT_EQ(read_file(path), kMboxText);
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_FALSE(fs::exists(path + ".lock"));  // the dotlock is gone again
  // A second message goes after the first.
  outcome = append_to_mbox(copy(*file_), path, options());
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kSent);
  EXPECT_EQ(read_file(path), std::string(kMboxText) + std::string(kMboxText));
}

TEST_F(MailboxDeliveryTest, NullSenderAndLastLineWithoutLineEnd) {
  std::optional<QueueFile> file = queue_file("Subject: y\r\n\r\nno line end");
  ASSERT_TRUE(file);
  const std::string path = spool_.path() + "/bob";
  DeliveryOutcome outcome = append_to_mbox(copy(*file, ""), path, options());
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kSent) << outcome.reason;
  EXPECT_EQ(read_file(path),
            "From MAILER-DAEMON Tue Nov 14 22:13:20 2023\nReturn-Path: <>\n"
            "Delivered-To: bob@example.org\nSubject: y\n\nno line end\n\n");
}

TEST_F(MailboxDeliveryTest, SizeLimitAtNAndNPlusOne) {
  ASSERT_TRUE(file_);
  const std::string path = spool_.path() + "/bob";
  const std::string existing = "From x Mon Jan  1 00:00:00 2024\nold\n\n";
  std::ofstream(path, std::ios::binary) << existing;
  ::chmod(path.c_str(), 0660);
  const uint64_t needed = existing.size() + kMboxText.size();
  DeliveryOutcome over = append_to_mbox(copy(*file_), path, options(needed - 1));
  EXPECT_EQ(over.kind, DeliveryOutcome::Kind::kBounced) << over.reason;
  EXPECT_EQ(over.dsn, "5.2.2");
  EXPECT_EQ(read_file(path), existing);  // cut back
  DeliveryOutcome at_limit = append_to_mbox(copy(*file_), path, options(needed));
  EXPECT_EQ(at_limit.kind, DeliveryOutcome::Kind::kSent) << at_limit.reason;
  EXPECT_EQ(read_file(path), existing + std::string(kMboxText));
}

TEST_F(MailboxDeliveryTest, SymlinkMailboxIsRefused) {
  ASSERT_TRUE(file_);
  const std::string target = spool_.path() + "/target";
  std::ofstream(target) << "victim\n";
  const std::string path = spool_.path() + "/bob";
  ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0);
  DeliveryOutcome outcome = append_to_mbox(copy(*file_), path, options());
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kDeferred);
  EXPECT_EQ(outcome.dsn, "4.2.0");
  EXPECT_EQ(read_file(target), "victim\n");
}

TEST_F(MailboxDeliveryTest, MailboxOfAnotherOwnerIsRefused) {
  ASSERT_TRUE(file_);
  const std::string path = spool_.path() + "/bob";
  std::ofstream(path) << "";
  ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
  DeliveryOutcome outcome = append_to_mbox(copy(*file_), path, options());
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kDeferred);
  EXPECT_EQ(outcome.dsn, "4.2.0");
  EXPECT_EQ(read_file(path), "");
  MboxOptions any_owner = options();
  any_owner.expected_owner = static_cast<uid_t>(-1);  // a "/file" target
  any_owner.what = "file";
  DeliveryOutcome to_file = append_to_mbox(copy(*file_), path, any_owner);
  EXPECT_EQ(to_file.kind, DeliveryOutcome::Kind::kSent);
  EXPECT_EQ(to_file.reason, "delivered to file");
  EXPECT_EQ(read_file(path), kMboxText);
}

TEST_F(MailboxDeliveryTest, MissingSpoolFolderDefers) {
  ASSERT_TRUE(file_);
  DeliveryOutcome outcome =
      append_to_mbox(copy(*file_), spool_.path() + "/no-such-dir/bob", options());
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kDeferred);
}

TEST_F(MailboxDeliveryTest, MaildirDelivery) {
  ASSERT_TRUE(file_);
  const std::string maildir = spool_.path() + "/Maildir";
  DeliveryOutcome outcome = deliver_to_maildir(copy(*file_), spool_.path(), maildir, "host");
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kSent) << outcome.reason;
  std::vector<fs::path> delivered;
  for (const auto& entry : fs::directory_iterator(maildir + "/new")) {
    delivered.push_back(entry.path());
  }
  ASSERT_EQ(delivered.size(), 1u);
  const std::string expected =
      "Return-Path: <alice@example.org>\nDelivered-To: bob@example.org\n"
      "Subject: x\n\nFrom here\n>From there\nFrom\nbody\n";
  EXPECT_EQ(read_file(delivered[0].string()), expected);
  const std::string name = delivered[0].filename().string();
  EXPECT_NE(name.find(",S=" + std::to_string(expected.size())), std::string::npos) << name;
  EXPECT_TRUE(fs::is_empty(maildir + "/tmp"));
  EXPECT_TRUE(fs::is_directory(maildir + "/cur"));
  EXPECT_EQ(delivery_header_lines(copy(*file_)),
            "Return-Path: <alice@example.org>\nDelivered-To: bob@example.org\n");
}

}  // namespace
}  // namespace postern::local
