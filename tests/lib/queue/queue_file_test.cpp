// Tests for lib/queue/queue_file.cpp: the writer's durability steps (temporary name, commit, abort),
// a round trip with a 10 MB message and in-place status updates, and the reader's refusal of
// every kind of damage: truncation at every byte, trailing data, wrong version, records and
// counts at their limit N (accepted) and N+1 (rejected), duplicates and missing records.
#include "lib/queue/queue_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "lib/queue/queue_dir.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_files.hpp"

namespace postern {
namespace {

using test_support::list_dir;
using test_support::read_file;
using test_support::write_file;

namespace fs = std::filesystem;

// One fresh directory per test, named after this file.
class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("queue_file_test") {}
};




QueueEnvelope sample_envelope() {
  QueueEnvelope env;
  env.queue_id = new_queue_id();
  env.arrival_time = 1700000000;
  env.attempts = 0;
  env.next_attempt = 1700000000;
  env.sender = "alice@example.org";
  env.attributes = {{"client", "mx.example.net[192.0.2.1]"},
                    {"helo", "mx.example.net"},
                    {"auth", ""},
                    {"ret", "HDRS"}};
  env.recipients.resize(3);
  env.recipients[0].address = "bob@example.com";
  env.recipients[0].orcpt = "rfc822;bob@example.com";
  env.recipients[0].notify = "SUCCESS,FAILURE";
  env.recipients[1].address = "carol@example.com";
  env.recipients[2].address = "dave@example.net";
  env.recipients[2].notify = "NEVER";
  return env;
}

// A message of `size` bytes with CRLF lines, different on every call with a different seed.
std::string make_message(size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::string message;
  message.reserve(size);
  while (message.size() < size) {
    size_t line = 1 + rng() % 120;
    for (size_t i = 0; i < line && message.size() < size; ++i) {
      message.push_back(static_cast<char>('!' + rng() % 90));
    }
    if (message.size() + 2 <= size)
      message += "\r\n";
    else if (message.size() < size)
      message.push_back('x');
  }
  return message;
}

// Writes envelope + message through the real writer and returns the final path.
std::string write_queue_file(const std::string& dir, const QueueEnvelope& env,
                             std::string_view message, size_t piece_bytes) {
  Result<QueueFileWriter> writer = QueueFileWriter::create(dir, env);
  EXPECT_TRUE(writer.ok()) << writer.error().describe();
  if (!writer) return {};
  for (size_t pos = 0; pos < message.size(); pos += piece_bytes) {
    Status st = writer->append_message(message.substr(pos, piece_bytes));
    EXPECT_TRUE(st.ok()) << st.error().describe();
  }
  EXPECT_EQ(writer->message_bytes(), message.size());
  Status st = writer->commit();
  EXPECT_TRUE(st.ok()) << st.error().describe();
  return dir + "/" + env.queue_id;
}

// Hand-built images for the limit tests.
std::string record(char type, std::string_view payload) {
  std::string out(1, type);
  uint32_t n = static_cast<uint32_t>(payload.size());
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.append(payload);
  return out;
}

std::string schedule_payload() {
  return std::string(16, '\0');
}

std::string rcpt_payload(std::string_view address) {
  std::string p = "P";
  p.append(address);
  p.push_back('\0');
  p.push_back('\0');
  return p;
}

std::string minimal_head() {
  return record('V', "postern-queue 1") + record('T', "1700000000") +
         record('S', schedule_payload()) + record('F', "a@example.org");
}

std::string minimal_image() {
  return minimal_head() + record('R', rcpt_payload("b@example.org")) + record('M', "hi\r\n") +
         record('E', "");
}

TEST(QueueFileTest, RoundTripWithTenMegabyteMessageAndStatusUpdates) {
  TempDir dir;
  QueueEnvelope env = sample_envelope();
  const std::string message = make_message(10 * 1024 * 1024, 1);
  // Odd-sized pieces so that chunks and write buffers never line up with them.
  std::string path = write_queue_file(dir.path(), env, message, 7919);
  ASSERT_FALSE(path.empty());
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{env.queue_id});

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  {
    Result<QueueFile> file = QueueFile::open(path, true);
    ASSERT_TRUE(file.ok()) << file.error().describe();
    const QueueEnvelope& got = file->envelope();
    EXPECT_EQ(got.queue_id, env.queue_id);
    EXPECT_EQ(got.arrival_time, env.arrival_time);
    EXPECT_EQ(got.attempts, 0u);
    EXPECT_EQ(got.next_attempt, env.next_attempt);
    EXPECT_EQ(got.sender, env.sender);
    EXPECT_EQ(got.attributes, env.attributes);
    EXPECT_EQ(got.attribute("helo"), std::optional<std::string_view>("mx.example.net"));
    EXPECT_EQ(got.attribute("auth"), std::optional<std::string_view>(""));
    EXPECT_FALSE(got.attribute("missing").has_value());
    ASSERT_EQ(got.recipients.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(got.recipients[i].address, env.recipients[i].address);
      EXPECT_EQ(got.recipients[i].orcpt, env.recipients[i].orcpt);
      EXPECT_EQ(got.recipients[i].notify, env.recipients[i].notify);
      EXPECT_EQ(got.recipients[i].status, RecipientStatus::kPending);
    }
    EXPECT_EQ(got.message_bytes, message.size());
    Result<std::string> text = file->read_message();
    ASSERT_TRUE(text.ok()) << text.error().describe();
    EXPECT_TRUE(*text == message);

    ASSERT_TRUE(file->mark_recipient_done(1).ok());
    ASSERT_TRUE(file->update_schedule(3, 1700003600).ok());
    EXPECT_EQ(file->envelope().recipients[1].status, RecipientStatus::kDone);
    EXPECT_FALSE(file->mark_recipient_done(3).ok());
  }
  // Re-read from disk: the updates are there, everything else unchanged.
  Result<QueueFile> again = QueueFile::open(path, false);
  ASSERT_TRUE(again.ok()) << again.error().describe();
  EXPECT_EQ(again->envelope().recipients[0].status, RecipientStatus::kPending);
  EXPECT_EQ(again->envelope().recipients[1].status, RecipientStatus::kDone);
  EXPECT_EQ(again->envelope().recipients[2].status, RecipientStatus::kPending);
  EXPECT_EQ(again->envelope().attempts, 3u);
  EXPECT_EQ(again->envelope().next_attempt, 1700003600);
  Result<std::string> text = again->read_message();
  ASSERT_TRUE(text.ok());
  EXPECT_TRUE(*text == message);
  // Chunk by chunk (relay's way): the same bytes; past the last chunk is an error.
  std::string joined;
  std::string chunk;
  ASSERT_GT(again->message_chunk_count(), 1u);
  for (size_t i = 0; i < again->message_chunk_count(); ++i) {
    ASSERT_TRUE(again->read_message_chunk(i, chunk).ok());
    EXPECT_LE(chunk.size(), kMaxMessageChunkBytes);
    joined += chunk;
  }
  EXPECT_TRUE(joined == message);
  EXPECT_FALSE(again->read_message_chunk(again->message_chunk_count(), chunk).ok());

  // Chunks: every one within the limit, together the whole message.
  std::string image = read_file(path);
  std::vector<std::pair<uint64_t, uint32_t>> chunks;
  Result<QueueEnvelope> parsed = parse_queue_file(image, &chunks);
  ASSERT_TRUE(parsed.ok()) << parsed.error().describe();
  uint64_t total = 0;
  for (const auto& [offset, length] : chunks) {
    EXPECT_LE(length, kMaxMessageChunkBytes);
    EXPECT_GT(length, 0u);
    total += length;
  }
  EXPECT_EQ(total, message.size());
  // Small appends are coalesced: full chunks except the last.
  EXPECT_EQ(chunks.size(), (message.size() + kMaxMessageChunkBytes - 1) / kMaxMessageChunkBytes);
}

TEST(QueueFileTest, BatchMarkAndNegativeSchedule) {
  TempDir dir;
  QueueEnvelope env = sample_envelope();
  std::string path = write_queue_file(dir.path(), env, "Subject: x\r\n\r\nbody\r\n", 5);
  Result<QueueFile> file = QueueFile::open(path, true);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(file->mark_recipients_done({0, 2}).ok());
  ASSERT_TRUE(file->update_schedule(1, -1).ok());
  Result<QueueFile> again = QueueFile::open(path, false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->envelope().recipients[0].status, RecipientStatus::kDone);
  EXPECT_EQ(again->envelope().recipients[1].status, RecipientStatus::kPending);
  EXPECT_EQ(again->envelope().recipients[2].status, RecipientStatus::kDone);
  EXPECT_EQ(again->envelope().next_attempt, -1);
  // A read-only file cannot be updated.
  EXPECT_FALSE(again->mark_recipient_done(1).ok());
}

TEST(QueueFileTest, ScheduleFlagsAreKeptAndUpdatedInPlace) {
  TempDir dir;
  QueueEnvelope env = sample_envelope();
  std::string path = write_queue_file(dir.path(), env, "Subject: x\r\n\r\nbody\r\n", 5);
  const uintmax_t size_before = fs::file_size(path);
  {
    Result<QueueFile> file = QueueFile::open(path, true);
    ASSERT_TRUE(file.ok());
    EXPECT_EQ(file->envelope().schedule_flags, 0u);  // what every older file holds
    ASSERT_TRUE(file->update_schedule(2, 1700000600, kScheduleDelayWarned).ok());
    // The old signature keeps the flags.
    ASSERT_TRUE(file->update_schedule(3, 1700001200).ok());
    EXPECT_EQ(file->envelope().schedule_flags, kScheduleDelayWarned);
  }
  EXPECT_EQ(fs::file_size(path), size_before);
  Result<QueueFile> again = QueueFile::open(path, false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->envelope().attempts, 3u);
  EXPECT_EQ(again->envelope().next_attempt, 1700001200);
  EXPECT_EQ(again->envelope().schedule_flags, kScheduleDelayWarned);
  // A writer puts the envelope's flags in the new file.
  QueueEnvelope flagged = sample_envelope();
  flagged.schedule_flags = kScheduleDelayWarned;
  Result<QueueFile> copy =
      QueueFile::open(write_queue_file(dir.path(), flagged, "x\r\n", 1), false);
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(copy->envelope().schedule_flags, kScheduleDelayWarned);
}

TEST(DeferReasonsTest, RoundTripPrintableAndBounded) {
  std::vector<DeferReason> reasons = {
      {"a@remote.example", "4.4.1", "connection refused"},
      {"b@remote.example", "4.7.0", "bad\tbytes\r\nX\x01\xff here"},
      {std::string(kMaxDeferFieldBytes, 'x'), "4.0.0", std::string(kMaxDeferFieldBytes + 1, 'r')}};
  std::string text = format_defer_reasons(reasons);
  std::vector<DeferReason> back = parse_defer_reasons(text);
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[0].address, "a@remote.example");
  EXPECT_EQ(back[0].dsn, "4.4.1");
  EXPECT_EQ(back[0].reason, "connection refused");
  EXPECT_EQ(back[1].reason, "bad?bytes??X?? here");
  EXPECT_EQ(back[2].address.size(), kMaxDeferFieldBytes);  // N kept
  EXPECT_EQ(back[2].reason.size(), kMaxDeferFieldBytes);   // N+1 cut to N
  // Lines beyond kMaxDeferLines are dropped; a line without two tabs is skipped.
  std::vector<DeferReason> many(kMaxDeferLines + 1, DeferReason{"a@b", "4.0.0", "r"});
  EXPECT_EQ(parse_defer_reasons(format_defer_reasons(many)).size(), kMaxDeferLines);
  EXPECT_EQ(parse_defer_reasons("no tabs here\na@b\t4.0.0\tok\n").size(), 1u);
  EXPECT_TRUE(parse_defer_reasons("").empty());
}

TEST(DeferReasonsTest, WriteCreatesTheFolderAndReplacesTheFile) {
  TempDir dir;
  const std::string defer_dir = dir.path() + "/defer";
  ASSERT_TRUE(write_defer_reasons(defer_dir, "ABC", {{"a@b", "4.4.1", "first"}}).ok());
  ASSERT_TRUE(write_defer_reasons(defer_dir, "ABC", {{"a@b", "4.4.1", "second"}}).ok());
  EXPECT_EQ(list_dir(defer_dir), std::vector<std::string>{"ABC"});  // no temporary left
  EXPECT_EQ(read_file(defer_dir + "/ABC"), "a@b\t4.4.1\tsecond\n");
}

TEST(QueueFileTest, ManySmallAppendsMakeOneChunk) {
  TempDir dir;
  QueueEnvelope env = sample_envelope();
  std::string message = make_message(10000, 2);
  std::string path = write_queue_file(dir.path(), env, message, 10);
  std::vector<std::pair<uint64_t, uint32_t>> chunks;
  ASSERT_TRUE(parse_queue_file(read_file(path), &chunks).ok());
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].second, 10000u);
}

TEST(QueueFileTest, EmptyMessageAndLargeEnvelope) {
  TempDir dir;
  QueueEnvelope env = sample_envelope();
  env.recipients.clear();
  for (int i = 0; i < 20000; ++i) {
    QueueRecipient& r = env.recipients.emplace_back();
    r.address = "user" + std::to_string(i) + "@example.com";
  }
  std::string path = write_queue_file(dir.path(), env, "", 1);
  Result<QueueFile> file = QueueFile::open(path, false);
  ASSERT_TRUE(file.ok()) << file.error().describe();
  ASSERT_EQ(file->envelope().recipients.size(), 20000u);
  EXPECT_EQ(file->envelope().recipients[19999].address, "user19999@example.com");
  EXPECT_EQ(file->envelope().message_bytes, 0u);
  Result<std::string> text = file->read_message();
  ASSERT_TRUE(text.ok());
  EXPECT_TRUE(text->empty());
}

TEST(QueueFileTest, ChunkCallbackErrorStopsTheWalk) {
  TempDir dir;
  std::string path =
      write_queue_file(dir.path(), sample_envelope(), make_message(300000, 3), 100000);
  Result<QueueFile> file = QueueFile::open(path, false);
  ASSERT_TRUE(file.ok());
  int calls = 0;
  Status st = file->for_each_message_chunk([&calls](std::string_view) {
    ++calls;
    return calls == 2 ? Status(Error::limit("stop")) : Status::success();
  });
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "stop");
  EXPECT_EQ(calls, 2);
}

TEST(QueueFileTest, UncommittedWriterLeavesNothing) {
  TempDir dir;
  {
    Result<QueueFileWriter> writer = QueueFileWriter::create(dir.path(), sample_envelope());
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE(writer->append_message("hello\r\n").ok());
    EXPECT_EQ(list_dir(dir.path()).size(), 1u);  // the temporary file
    QueueFileWriter moved = std::move(writer).value();
    EXPECT_EQ(list_dir(dir.path()).size(), 1u);  // the move did not unlink it
  }
  EXPECT_TRUE(list_dir(dir.path()).empty());

  Result<QueueFileWriter> writer = QueueFileWriter::create(dir.path(), sample_envelope());
  ASSERT_TRUE(writer.ok());
  writer->abort();
  EXPECT_TRUE(list_dir(dir.path()).empty());
  EXPECT_FALSE(writer->append_message("x").ok());
  EXPECT_FALSE(writer->commit().ok());
}

TEST(QueueFileTest, WriterRefusesBadEnvelopes) {
  TempDir dir;
  QueueEnvelope env = sample_envelope();
  env.queue_id = "../escape";
  EXPECT_FALSE(QueueFileWriter::create(dir.path(), env).ok());
  env = sample_envelope();
  env.recipients[0].address = std::string("a\0b", 3);
  EXPECT_FALSE(QueueFileWriter::create(dir.path(), env).ok());
  env = sample_envelope();
  env.attributes.emplace_back("a=b", "c");
  EXPECT_FALSE(QueueFileWriter::create(dir.path(), env).ok());
  env = sample_envelope();
  env.sender.assign(kMaxEnvelopeRecordBytes + 1, 'x');
  EXPECT_FALSE(QueueFileWriter::create(dir.path(), env).ok());
  EXPECT_FALSE(QueueFileWriter::create(dir.path() + "/missing", sample_envelope()).ok());
  EXPECT_TRUE(list_dir(dir.path()).empty());
  // The same queue ID twice: O_EXCL on the temporary name.
  env = sample_envelope();
  Result<QueueFileWriter> first = QueueFileWriter::create(dir.path(), env);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(QueueFileWriter::create(dir.path(), env).ok());
}

TEST(QueueFileTest, CommitDoesNotReplaceAnExistingFile) {
  TempDir dir;
  QueueEnvelope env = sample_envelope();
  write_file(dir.path() + "/" + env.queue_id, "precious");
  Result<QueueFileWriter> writer = QueueFileWriter::create(dir.path(), env);
  ASSERT_TRUE(writer.ok());
  EXPECT_FALSE(writer->commit().ok());
  EXPECT_EQ(read_file(dir.path() + "/" + env.queue_id), "precious");
}

TEST(QueueFileTest, TruncationAtEveryByteIsRejected) {
  TempDir dir;
  std::string path = write_queue_file(dir.path(), sample_envelope(), "Subject: t\r\n\r\nx\r\n", 4);
  const std::string image = read_file(path);
  ASSERT_TRUE(parse_queue_file(image, nullptr).ok());
  const std::string cut_path = dir.path() + "/cut";
  for (size_t size = 0; size < image.size(); ++size) {
    std::string_view cut(image.data(), size);
    EXPECT_FALSE(parse_queue_file(cut, nullptr).ok()) << "accepted a cut at " << size;
    write_file(cut_path, cut);
    EXPECT_FALSE(QueueFile::open(cut_path, false).ok()) << "opened a cut at " << size;
  }
}

TEST(QueueFileTest, TrailingDataIsRejected) {
  std::string image = minimal_image();
  ASSERT_TRUE(parse_queue_file(image, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(image + "x", nullptr).ok());
  EXPECT_FALSE(parse_queue_file(image + record('E', ""), nullptr).ok());
  EXPECT_FALSE(parse_queue_file(image + std::string(1, '\0'), nullptr).ok());
}

TEST(QueueFileTest, VersionMustComeFirstAndMatch) {
  std::string rest = record('T', "1700000000") + record('S', schedule_payload()) + record('F', "") +
                     record('E', "");
  EXPECT_TRUE(parse_queue_file(record('V', "postern-queue 1") + rest, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(record('V', "postern-queue 2") + rest, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(record('V', "postern-queue 1 ") + rest, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(record('V', "") + rest, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(rest, nullptr).ok());
  EXPECT_FALSE(
      parse_queue_file(record('T', "1") + record('V', "postern-queue 1") + rest, nullptr).ok());
  EXPECT_FALSE(parse_queue_file("", nullptr).ok());
}

TEST(QueueFileTest, DuplicateAndMissingRecordsAreRejected) {
  const std::string v = record('V', "postern-queue 1");
  const std::string t = record('T', "1700000000");
  const std::string s = record('S', schedule_payload());
  const std::string f = record('F', "a@example.org");
  const std::string e = record('E', "");
  EXPECT_TRUE(parse_queue_file(v + t + s + f + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(v + t + t + s + f + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(v + t + s + s + f + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(v + t + s + f + f + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(v + v + t + s + f + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(v + s + f + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(v + t + f + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(v + t + s + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(v + t + s + f, nullptr).ok());
}

TEST(QueueFileTest, MalformedRecordsAreRejected) {
  const std::string head = minimal_head();
  const std::string e = record('E', "");
  EXPECT_TRUE(parse_queue_file(head + e, nullptr).ok());
  // Schedule must be exactly 16 bytes.
  std::string v = record('V', "postern-queue 1"), t = record('T', "1"), f = record('F', "");
  EXPECT_FALSE(parse_queue_file(v + t + record('S', std::string(15, '\0')) + f + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(v + t + record('S', std::string(17, '\0')) + f + e, nullptr).ok());
  // Arrival time: decimal digits only.
  const std::string s = record('S', schedule_payload());
  EXPECT_FALSE(parse_queue_file(v + record('T', "") + s + f + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(v + record('T', "-1") + s + f + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(v + record('T', "12a") + s + f + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(v + record('T', std::string(19, '9')) + s + f + e, nullptr).ok());
  // Recipients: status byte P or D, three NUL-separated fields, an address.
  EXPECT_TRUE(parse_queue_file(head + record('R', rcpt_payload("b@x")) + e, nullptr).ok());
  std::string done = rcpt_payload("b@x");
  done[0] = 'D';
  EXPECT_TRUE(parse_queue_file(head + record('R', done) + e, nullptr).ok());
  std::string bad_status = rcpt_payload("b@x");
  bad_status[0] = 'X';
  EXPECT_FALSE(parse_queue_file(head + record('R', bad_status) + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(head + record('R', "") + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(head + record('R', std::string("Pb@x\0", 5)) + e, nullptr).ok());
  EXPECT_FALSE(
      parse_queue_file(head + record('R', std::string("Pb@x\0\0\0", 7)) + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(head + record('R', std::string("P\0\0", 3)) + e, nullptr).ok());
  // Attributes: name=value with a name.
  EXPECT_TRUE(parse_queue_file(head + record('A', "a=") + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(head + record('A', "=b") + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(head + record('A', "ab") + e, nullptr).ok());
  // Unknown record, end record with a payload, empty message chunk, NUL in the sender.
  EXPECT_FALSE(parse_queue_file(head + record('Z', "") + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(head + record('E', "x"), nullptr).ok());
  EXPECT_FALSE(parse_queue_file(head + record('M', "") + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(v + t + s + record('F', std::string("a\0", 2)) + e, nullptr).ok());
  // A length that points past the end of the file.
  std::string lying = head + record('M', "abc") + e;
  lying[head.size() + 4] = 9;
  EXPECT_FALSE(parse_queue_file(lying, nullptr).ok());
}

TEST(QueueFileTest, EnvelopeRecordLimit) {
  const std::string head = minimal_head();
  const std::string e = record('E', "");
  std::string at_limit = "n=" + std::string(kMaxEnvelopeRecordBytes - 2, 'v');
  ASSERT_EQ(at_limit.size(), kMaxEnvelopeRecordBytes);
  Result<QueueEnvelope> ok = parse_queue_file(head + record('A', at_limit) + e, nullptr);
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  EXPECT_EQ(ok->attributes[0].second.size(), kMaxEnvelopeRecordBytes - 2);
  Result<QueueEnvelope> over = parse_queue_file(head + record('A', at_limit + "v") + e, nullptr);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

TEST(QueueFileTest, MessageChunkLimit) {
  const std::string head = minimal_head();
  const std::string e = record('E', "");
  std::vector<std::pair<uint64_t, uint32_t>> chunks;
  Result<QueueEnvelope> ok =
      parse_queue_file(head + record('M', std::string(kMaxMessageChunkBytes, 'm')) + e, &chunks);
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  EXPECT_EQ(ok->message_bytes, kMaxMessageChunkBytes);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].first, head.size() + 5);
  EXPECT_FALSE(
      parse_queue_file(head + record('M', std::string(kMaxMessageChunkBytes + 1, 'm')) + e, nullptr)
          .ok());
}

TEST(QueueFileTest, RecipientAndAttributeCountLimits) {
  const std::string head = minimal_head();
  const std::string e = record('E', "");
  std::string recipients;
  const std::string one = record('R', rcpt_payload("r@x"));
  for (size_t i = 0; i < kMaxQueueRecipients; ++i) recipients += one;
  Result<QueueEnvelope> ok = parse_queue_file(head + recipients + e, nullptr);
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  EXPECT_EQ(ok->recipients.size(), kMaxQueueRecipients);
  EXPECT_FALSE(parse_queue_file(head + recipients + one + e, nullptr).ok());

  std::string attributes;
  const std::string attr = record('A', "k=v");
  for (size_t i = 0; i < kMaxQueueAttributes; ++i) attributes += attr;
  EXPECT_TRUE(parse_queue_file(head + attributes + e, nullptr).ok());
  EXPECT_FALSE(parse_queue_file(head + attributes + attr + e, nullptr).ok());
}

TEST(QueueFileTest, ReaderRecordsStatusAndScheduleOffsets) {
  std::string image = minimal_image();
  Result<QueueEnvelope> env = parse_queue_file(image, nullptr);
  ASSERT_TRUE(env.ok());
  ASSERT_EQ(env->recipients.size(), 1u);
  EXPECT_EQ(image[env->recipients[0].status_offset], 'P');
  EXPECT_EQ(env->schedule_offset + 16 <= image.size(), true);
  image[env->recipients[0].status_offset] = 'D';
  image[env->schedule_offset + 3] = 7;  // attempts, big-endian
  Result<QueueEnvelope> changed = parse_queue_file(image, nullptr);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->recipients[0].status, RecipientStatus::kDone);
  EXPECT_EQ(changed->attempts, 7u);
}

TEST(QueueFileTest, OpenRefusesDirectoriesAndMissingFiles) {
  TempDir dir;
  EXPECT_FALSE(QueueFile::open(dir.path(), false).ok());
  Result<QueueFile> missing = QueueFile::open(dir.path() + "/nope", false);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kSystem);
  EXPECT_EQ(missing.error().sys_errno, ENOENT);
}

}  // namespace
}  // namespace postern
