// Tests for postdrop/maildrop_writer.cpp: a well-formed image becomes maildrop/<queue ID>
// (mode 0644, the bytes as given, no temporary left); garbage, a truncated image and one
// without its 'E' record are refused with nothing left behind; max_bytes at N and N+1, and 0
// as no limit. Input comes through a pipe (as from sendmail) or a file.
#include "postdrop/maildrop_writer.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "lib/queue/queue_dir.hpp"
#include "lib/queue/queue_file.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern::postdrop {
namespace {

namespace fs = std::filesystem;

std::string good_image(size_t message_bytes = 100) {
  QueueEnvelope envelope;
  envelope.queue_id = "0123456789ABCDEF";
  envelope.arrival_time = 1700000000;
  envelope.sender = "alice@example.org";
  envelope.recipients.resize(1);
  envelope.recipients[0].address = "bob@example.org";
  std::string message = "Subject: x\r\n\r\n";
  while (message.size() < message_bytes) message += "line of text\r\n";
  Result<std::string> image = encode_queue_file(envelope, message);
  EXPECT_TRUE(image.ok());
  return image.ok() ? *image : "";
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class MaildropWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    maildrop_ = dir_.path();
    ::signal(SIGPIPE, SIG_IGN);  // the pipe writer may outlive a refusal
  }

  // Through a pipe, written by a thread (the image may be larger than the pipe buffer).
  Result<std::string> write_through_pipe(const std::string& image, uint64_t max_bytes) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    std::thread writer([&] {
      size_t done = 0;
      while (done < image.size()) {
        ssize_t n = ::write(fds[1], image.data() + done, image.size() - done);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
      ::close(fds[1]);
    });
    Result<std::string> result = write_maildrop_file(maildrop_, fds[0], max_bytes);
    ::close(fds[0]);  // a refusal may come before the writer is done
    writer.join();
    return result;
  }

  // Through a file.
  Result<std::string> write_through_file(const std::string& image, uint64_t max_bytes) {
    std::string input = input_dir_.path() + "/input";
    std::ofstream(input, std::ios::binary) << image;
    int fd = ::open(input.c_str(), O_RDONLY);
    Result<std::string> result = write_maildrop_file(maildrop_, fd, max_bytes);
    ::close(fd);
    return result;
  }

  test_support::TempDir dir_{"maildrop_writer_test"};
  test_support::TempDir input_dir_{"maildrop_writer_input"};
  std::string maildrop_;
};

TEST_F(MaildropWriterTest, GoodImageBecomesMaildropFile) {
  const std::string image = good_image();
  ::umask(077);  // the mode is set explicitly, whatever the caller's umask
  Result<std::string> name = write_through_pipe(image, 1 << 20);
  ::umask(022);
  ASSERT_TRUE(name.ok()) << name.error().describe();
  EXPECT_TRUE(is_queue_id(*name)) << *name;
  EXPECT_EQ(list_dir(maildrop_), std::vector<std::string>{*name});
  const std::string path = maildrop_ + "/" + *name;
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ(read_file(path), image);
  Result<QueueFile> file = QueueFile::open(path, false);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->envelope().sender, "alice@example.org");
}

TEST_F(MaildropWriterTest, TwoSubmissionsGetTwoNames) {
  Result<std::string> first = write_through_pipe(good_image(), 0);
  Result<std::string> second = write_through_pipe(good_image(), 0);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(*first, *second);
  EXPECT_EQ(list_dir(maildrop_).size(), 2u);
}

TEST_F(MaildropWriterTest, GarbageIsRefusedAndNothingIsLeft) {
  for (const std::string& garbage :
       {std::string(), std::string("hello world\n"), std::string(5000, '\0')}) {
    Result<std::string> name = write_through_pipe(garbage, 1 << 20);
    ASSERT_FALSE(name.ok());
    EXPECT_EQ(name.error().kind, ErrorKind::kParse) << name.error().message;
    EXPECT_TRUE(list_dir(maildrop_).empty());
  }
}

TEST_F(MaildropWriterTest, TruncatedImageIsRefusedAndNothingIsLeft) {
  const std::string image = good_image();
  // Without the 'E' record (its 5 bytes), and cut anywhere before it.
  for (size_t cut : {image.size() - 5, image.size() - 1, image.size() / 2, size_t{1}}) {
    Result<std::string> name = write_through_file(image.substr(0, cut), 0);
    ASSERT_FALSE(name.ok()) << cut;
    EXPECT_EQ(name.error().kind, ErrorKind::kParse) << cut;
    EXPECT_TRUE(list_dir(maildrop_).empty()) << cut;
  }
  // Something after the 'E' record.
  Result<std::string> trailing = write_through_file(image + "x", 0);
  EXPECT_FALSE(trailing.ok());
  EXPECT_TRUE(list_dir(maildrop_).empty());
}

TEST_F(MaildropWriterTest, MaxBytesAtNAndNPlusOne) {
  const std::string image = good_image(200000);  // several reads of the copy loop
  Result<std::string> over = write_through_pipe(image, image.size() - 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
  EXPECT_TRUE(list_dir(maildrop_).empty());
  Result<std::string> at_limit = write_through_pipe(image, image.size());
  ASSERT_TRUE(at_limit.ok()) << at_limit.error().describe();
  EXPECT_EQ(read_file(maildrop_ + "/" + *at_limit), image);
}

TEST_F(MaildropWriterTest, MaxBytesZeroIsNoLimit) {
  const std::string image = good_image(3 << 20);
  Result<std::string> name = write_through_file(image, 0);
  ASSERT_TRUE(name.ok()) << name.error().describe();
  EXPECT_EQ(read_file(maildrop_ + "/" + *name), image);
}

TEST_F(MaildropWriterTest, MissingFolderIsASystemError) {
  maildrop_ = dir_.path() + "/absent";
  Result<std::string> name = write_through_file(good_image(), 0);
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.error().kind, ErrorKind::kSystem);
}

}  // namespace
}  // namespace postern::postdrop
