// Tests lib/queue/expansion_file: the ORCPT given to each target (xtext of the original address, or
// the original ORCPT), and the new queue file: same sender, arrival time, attributes and
// message, the targets as recipients, the expansion marker, the delay-warning flag carried over.
#include "lib/queue/expansion_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "tests/support/temp_dir.hpp"

namespace postern {
namespace {

TEST(OrcptFor, XtextOfTheOriginalAddressOrItsOwnOrcpt) {
  EXPECT_EQ(orcpt_for("team@example.test", ""), "rfc822;team@example.test");
  EXPECT_EQ(orcpt_for("a+b=c d@example.test", ""), "rfc822;a+2Bb+3Dc+20d@example.test");
  EXPECT_EQ(orcpt_for("team@example.test", "rfc822;Team@Example.test"), "rfc822;Team@Example.test");
}

TEST(WriteExpansion, NewQueueFileWithTheTargets) {
  test_support::TempDir tmp("expansion_file_test");
  QueueLayout layout{tmp.path()};
  ASSERT_EQ(::mkdir(layout.incoming().c_str(), 0700), 0);

  QueueEnvelope env;
  env.queue_id = new_queue_id();
  env.arrival_time = 1700000000;
  env.sender = "alice@remote.example";
  env.schedule_flags = kScheduleDelayWarned;
  env.attributes = {{"ret", "HDRS"}, {"envid", "abc"}};
  QueueRecipient rcpt;
  rcpt.address = "team@example.test";
  env.recipients.push_back(rcpt);
  std::string message(3 * kMaxMessageChunkBytes + 7, 'x');
  message.insert(0, "Subject: hi\r\n\r\n");
  Result<QueueFileWriter> writer = QueueFileWriter::create(layout.incoming(), env);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE(writer->append_message(message).ok());
  ASSERT_TRUE(writer->commit().ok());
  Result<QueueFile> original = QueueFile::open(layout.incoming() + "/" + env.queue_id, false);
  ASSERT_TRUE(original.ok());

  std::vector<ExpandedTarget> targets = {
      {"demo@example.test", "rfc822;team@example.test", "FAILURE"},
      {"someone@elsewhere.example", "rfc822;team@example.test", "FAILURE"}};
  Result<std::string> id = write_expansion(layout, *original, targets, 1700000100);
  ASSERT_TRUE(id.ok()) << id.error().describe();
  EXPECT_NE(*id, env.queue_id);
  Result<QueueFile> copy = QueueFile::open(layout.incoming() + "/" + *id, false);
  ASSERT_TRUE(copy.ok());
  const QueueEnvelope& out = copy->envelope();
  EXPECT_EQ(out.sender, "alice@remote.example");
  EXPECT_EQ(out.arrival_time, 1700000000);
  EXPECT_EQ(out.schedule_flags, kScheduleDelayWarned);
  EXPECT_EQ(out.attribute("ret"), std::optional<std::string_view>("HDRS"));
  EXPECT_EQ(out.attribute(kExpandedFromAttribute), std::optional<std::string_view>(env.queue_id));
  ASSERT_EQ(out.recipients.size(), 2u);
  EXPECT_EQ(out.recipients[1].address, "someone@elsewhere.example");
  EXPECT_EQ(out.recipients[1].orcpt, "rfc822;team@example.test");
  EXPECT_EQ(out.recipients[1].notify, "FAILURE");
  EXPECT_EQ(out.recipients[1].status, RecipientStatus::kPending);
  Result<std::string> text = copy->read_message();
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, message);

  EXPECT_FALSE(write_expansion(layout, *original, {}, 1700000100).ok());
}

}  // namespace
}  // namespace postern
