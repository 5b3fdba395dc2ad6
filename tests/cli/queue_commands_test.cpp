// Tests cli/queue_commands: the listing (folders and their marks, pending recipients only, the
// defer/ reason above its recipients, totals), damaged input (a file that does not parse, a
// defer/ file of garbage, hostile bytes in addresses) and the recipient limit at N and N+1;
// show (envelope, CRLF as LF, no control bytes, not found); flush without a qmgr. Queue files
// are real ones written with QueueFileWriter in a temporary spool.
#include "cli/queue_commands.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "lib/queue/queue_file.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern {
namespace {

class QueueCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    layout_.root = tmp_.path();
    for (const char* folder : {"incoming", "active", "deferred", "hold", "defer", "private"}) {
      ::mkdir((tmp_.path() + "/" + folder).c_str(), 0700);
    }
  }

  std::string write_message(const std::string& folder, const std::string& sender,
                            const std::vector<std::string>& recipients,
                            std::string_view message = "Subject: hi\r\n\r\nbody\r\n",
                            const std::vector<size_t>& done = {}) {
    QueueEnvelope env;
    env.queue_id = new_queue_id();
    env.arrival_time = 1700000000;
    env.sender = sender;
    for (const std::string& address : recipients) {
      QueueRecipient rcpt;
      rcpt.address = address;
      env.recipients.push_back(rcpt);
    }
    Result<QueueFileWriter> writer = QueueFileWriter::create(layout_.root + "/" + folder, env);
    EXPECT_TRUE(writer.ok());
    EXPECT_TRUE(writer->append_message(message).ok());
    EXPECT_TRUE(writer->commit().ok());
    if (!done.empty()) {
      Result<QueueFile> file =
          QueueFile::open(layout_.root + "/" + folder + "/" + env.queue_id, true);
      EXPECT_TRUE(file.ok());
      EXPECT_TRUE(file->mark_recipients_done(done).ok());
    }
    return env.queue_id;
  }

  std::string list(QueueListTotals* totals = nullptr) {
    std::string out;
    Result<QueueListTotals> t =
        list_queue(layout_, [&](std::string_view text) { out.append(text); });
    EXPECT_TRUE(t.ok()) << t.error().describe();
    if (totals && t) *totals = *t;
    return out;
  }

  std::string show(std::string_view queue_id, Status* status) {
    std::string out;
    *status =
        show_queue_message(layout_, queue_id, [&](std::string_view text) { out.append(text); });
    return out;
  }

  void write_raw(const std::string& path, std::string_view bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  test_support::TempDir tmp_{"queue_commands_test"};
  QueueLayout layout_;
};

TEST_F(QueueCommandsTest, AnUnreadableFolderIsAnErrorNotAnEmptyQueue) {
  // Root reads any mode, so the folder is made unreadable by being a file (ENOTDIR); a user
  // without permission gets EACCES through the same path.
  ASSERT_EQ(::rmdir((tmp_.path() + "/deferred").c_str()), 0);
  write_raw(tmp_.path() + "/deferred", "not a folder");
  write_message("incoming", "a@example.org", {"b@example.net"});
  std::string out;
  Result<QueueListTotals> listed =
      list_queue(layout_, [&](std::string_view text) { out.append(text); });
  ASSERT_FALSE(listed.ok());
  EXPECT_NE(listed.error().describe().find(tmp_.path() + "/deferred"), std::string::npos)
      << listed.error().describe();
  EXPECT_EQ(out, "");
  // A folder that does not exist (a queue not made yet) is simply empty.
  ASSERT_EQ(::unlink((tmp_.path() + "/deferred").c_str()), 0);
  EXPECT_NE(list().find("-- 1 Kbytes in 1 Request."), std::string::npos);
}

TEST_F(QueueCommandsTest, EmptyQueue) {
  QueueListTotals totals;
  EXPECT_EQ(list(&totals), "Mail queue is empty\n");
  EXPECT_EQ(totals.messages, 0u);
}

TEST_F(QueueCommandsTest, ListsEachFolderWithItsMarkAndPendingRecipientsOnly) {
  std::string deferred =
      write_message("deferred", "alice@example.test",
                    {"a@remote.example", "done@remote.example", "b@remote.example"},
                    "Subject: hi\r\n\r\nbody\r\n", {1});
  std::string active = write_message("active", "", {"x@remote.example"});
  std::string held = write_message("hold", "bob@example.test", {"y@remote.example"});
  ASSERT_TRUE(write_defer_reasons(layout_.defer(), deferred,
                                  {{"a@remote.example", "4.4.1", "connection refused"},
                                   {"b@remote.example", "4.4.1", "connection refused"}})
                  .ok());
  QueueListTotals totals;
  std::string out = list(&totals);
  EXPECT_EQ(totals.messages, 3u);
  EXPECT_EQ(totals.unreadable, 0u);
  EXPECT_EQ(out.rfind("-Queue ID-", 0), 0u) << out;
  EXPECT_NE(out.find(active + "*"), std::string::npos) << out;
  EXPECT_NE(out.find(held + "!"), std::string::npos) << out;
  EXPECT_NE(out.find(deferred + " "), std::string::npos) << out;
  EXPECT_NE(out.find("MAILER-DAEMON"), std::string::npos) << out;  // the null sender
  EXPECT_EQ(out.find("done@remote.example"), std::string::npos) << out;
  // One reason line for the two recipients that share it, above them.
  size_t reason = out.find("(connection refused (4.4.1))\n");
  ASSERT_NE(reason, std::string::npos) << out;
  EXPECT_EQ(out.find("(connection refused", reason + 1), std::string::npos) << out;
  EXPECT_LT(reason, out.find("a@remote.example"));
  EXPECT_LT(out.find("a@remote.example"), out.find("b@remote.example"));
  EXPECT_NE(out.find("-- 1 Kbytes in 3 Requests.\n"), std::string::npos) << out;
}

TEST_F(QueueCommandsTest, DamagedFilesAreListedAsUnreadable) {
  write_raw(layout_.root + "/deferred/0000000000BADBAD", "\x01\x02garbage\x1b[2J");
  std::string good = write_message("deferred", "alice@example.test", {"a@remote.example"});
  write_raw(layout_.defer() + "/" + good, "no tabs at all\n\x1b[2J\t\t\n");
  QueueListTotals totals;
  std::string out = list(&totals);
  EXPECT_EQ(totals.unreadable, 1u);
  EXPECT_EQ(totals.messages, 1u);
  EXPECT_NE(out.find("0000000000BADBAD  (unreadable: "), std::string::npos) << out;
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_NE(out.find("1 unreadable."), std::string::npos);
  EXPECT_NE(out.find("a@remote.example"), std::string::npos);
  // Temporary files are not queue files.
  write_raw(layout_.root + "/incoming/.0000000000TMPTMP.tmp", "half written");
  EXPECT_EQ(list().find("TMPTMP"), std::string::npos);
}

TEST_F(QueueCommandsTest, HostileBytesAreMadePrintableAndCut) {
  std::string long_address(kMaxShownFieldBytes + 1, 'x');
  write_message("deferred", "evil\x1b[31m@remote.example", {long_address});
  std::string out = list();
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_NE(out.find("evil?[31m@remote.example"), std::string::npos) << out;
  EXPECT_NE(out.find(std::string(kMaxShownFieldBytes, 'x') + "...\n"), std::string::npos);
  EXPECT_EQ(out.find(long_address), std::string::npos);
}

TEST_F(QueueCommandsTest, RecipientLimit) {
  std::vector<std::string> rcpts;
  for (size_t i = 0; i < kMaxShownRecipients; ++i) rcpts.push_back("r" + std::to_string(i) + "@x");
  write_message("deferred", "a@b", rcpts);
  std::string at_limit = list();
  EXPECT_EQ(at_limit.find("more recipients"), std::string::npos);
  EXPECT_NE(at_limit.find("r999@x"), std::string::npos);
  rcpts.push_back("last@x");
  write_message("hold", "a@b", rcpts);
  std::string over = list();
  EXPECT_NE(over.find("... and 1 more recipients\n"), std::string::npos);
  EXPECT_EQ(over.find("last@x"), std::string::npos);
}

TEST_F(QueueCommandsTest, ShowPrintsEnvelopeAndMessage) {
  std::string id =
      write_message("deferred", "alice@example.test", {"a@remote.example", "gone@remote.example"},
                    "Subject: hi\r\nX-Evil: \x1b[2J\r\n\r\nline\rbare\r\n", {1});
  ASSERT_TRUE(
      write_defer_reasons(layout_.defer(), id, {{"a@remote.example", "4.4.1", "refused"}}).ok());
  Status status = Status::success();
  std::string out = show(id, &status);
  ASSERT_TRUE(status.ok()) << status.error().describe();
  EXPECT_NE(out.find("*** ENVELOPE RECORDS deferred/" + id + " ***\n"), std::string::npos);
  EXPECT_NE(out.find("sender: alice@example.test\n"), std::string::npos);
  EXPECT_NE(out.find("recipient: a@remote.example (4.4.1 refused)\n"), std::string::npos) << out;
  EXPECT_NE(out.find("done_recipient: gone@remote.example\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Subject: hi\nX-Evil: ?[2J\n\nline?bare\n*** END OF MESSAGE ***\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find('\r'), std::string::npos);
}

TEST_F(QueueCommandsTest, ShowRefusesWhatIsNotThere) {
  Status status = Status::success();
  show("0000000000000000", &status);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind, ErrorKind::kNotFound);
  show("../deferred/x", &status);
  EXPECT_FALSE(status.ok());
  write_raw(layout_.root + "/active/0000000000BADBAD", "junk");
  show("0000000000BADBAD", &status);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().describe().find("unreadable"), std::string::npos);
}

TEST_F(QueueCommandsTest, FlushWithoutQmgrFails) {
  Result<int64_t> count = flush_queue(layout_, 1000);
  EXPECT_FALSE(count.ok());
}

TEST(QueueTimeText, MailqShape) {
  std::string text = queue_time_text(1700000000);
  EXPECT_EQ(text.size(), 19u) << text;  // "Tue Nov 14 22:13:20" (local time)
}

}  // namespace
}  // namespace postern
