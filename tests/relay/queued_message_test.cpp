// Tests relay/queued_message: chunks located in a queue file written by lib/queue/queue_file's writer
// read back to the exact message, 8-bit detection in any chunk, and files that are not queue
// files refused.
#include "relay/queued_message.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "lib/queue/queue_dir.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern::relay {
namespace {

class QueuedMessageTest : public ::testing::Test {
 protected:
  std::string write(const std::string& message) {
    QueueEnvelope envelope;
    envelope.queue_id = new_queue_id();
    envelope.arrival_time = 1700000000;
    envelope.sender = "alice@example.test";
    envelope.attributes = {{"dsn_ret", "FULL"}};
    QueueRecipient rcpt;
    rcpt.address = "bob@example.org";
    rcpt.orcpt = "rfc822;bob@example.org";
    rcpt.notify = "FAILURE";
    envelope.recipients.push_back(rcpt);
    Result<QueueFileWriter> writer = QueueFileWriter::create(dir_.path(), envelope);
    EXPECT_TRUE(writer.ok());
    EXPECT_TRUE(writer->append_message(message).ok());
    EXPECT_TRUE(writer->commit().ok());
    return dir_.path() + "/" + envelope.queue_id;
  }
  static std::string read_all(const QueuedMessage& message) {
    std::string out;
    std::string chunk;
    for (size_t i = 0; i < message.chunk_count(); ++i) {
      EXPECT_TRUE(message.read_chunk(i, chunk).ok());
      out += chunk;
    }
    return out;
  }
  test_support::TempDir dir_{"queued_message_test"};
};

TEST_F(QueuedMessageTest, SmallMessageOneChunk) {
  const std::string text = "Subject: x\r\n\r\nbody\r\n";
  Result<std::shared_ptr<QueuedMessage>> message = QueuedMessage::open(write(text));
  ASSERT_TRUE(message.ok()) << message.error().message;
  EXPECT_EQ((*message)->chunk_count(), 1u);
  EXPECT_EQ(read_all(**message), text);
  EXPECT_EQ((*message)->message_bytes(), text.size());
  EXPECT_FALSE((*message)->eight_bit());
  EXPECT_EQ((*message)->envelope().recipients.at(0).notify, "FAILURE");
  EXPECT_EQ((*message)->envelope().attribute("dsn_ret"), "FULL");
}

TEST_F(QueuedMessageTest, LargeMessageManyChunksByteExact) {
  std::string text;
  for (int i = 0; text.size() < 3 * kMaxMessageChunkBytes + 100; ++i) {
    text += "line " + std::to_string(i) + " ....................................\r\n";
  }
  Result<std::shared_ptr<QueuedMessage>> message = QueuedMessage::open(write(text));
  ASSERT_TRUE(message.ok());
  EXPECT_GE((*message)->chunk_count(), 4u);
  EXPECT_EQ(read_all(**message), text);
  EXPECT_FALSE((*message)->eight_bit());
}

TEST_F(QueuedMessageTest, EightBitFoundInALaterChunk) {
  std::string text(2 * kMaxMessageChunkBytes, 'a');
  text += "\xe9\r\n";
  Result<std::shared_ptr<QueuedMessage>> message = QueuedMessage::open(write(text));
  ASSERT_TRUE(message.ok());
  EXPECT_TRUE((*message)->eight_bit());
}

TEST_F(QueuedMessageTest, ChunkIndexOutOfRange) {
  Result<std::shared_ptr<QueuedMessage>> message = QueuedMessage::open(write("x\r\n"));
  ASSERT_TRUE(message.ok());
  std::string chunk;
  EXPECT_FALSE((*message)->read_chunk(1, chunk).ok());
}

TEST_F(QueuedMessageTest, RefusesWhatIsNotAQueueFile) {
  EXPECT_FALSE(QueuedMessage::open(dir_.path() + "/missing").ok());
  const std::string junk = dir_.path() + "/JUNK";
  std::ofstream(junk) << "not a queue file";
  EXPECT_FALSE(QueuedMessage::open(junk).ok());
  // A truncated copy of a good file: the end record is missing.
  const std::string good = write("Subject: x\r\n\r\nbody\r\n");
  std::ifstream in(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string cut = dir_.path() + "/CUT";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 7);
  EXPECT_FALSE(QueuedMessage::open(cut).ok());
}

}  // namespace
}  // namespace postern::relay
