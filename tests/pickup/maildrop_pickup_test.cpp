// Tests for pickup/maildrop_pickup.cpp, as root in a temporary queue made by
// ensure_queue_directories: a good maildrop file becomes incoming/<same ID> with pickup's
// Received: header first, its owner as local_uid/local_user and every line end CRLF (also
// across a chunk boundary); corrupt or refused files and names that are no queue ID go to
// corrupt/maildrop-<name>; stale temporaries go, fresh ones stay; an already committed
// incoming/<ID> is kAlreadyQueued and the maildrop file still goes; a symlink or a hard-linked
// file is not taken; pick_up_maildrop honours max_files.
#include "pickup/maildrop_pickup.hpp"

#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "lib/queue/queue_file.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_files.hpp"

namespace postern::pickup {
namespace {

using test_support::list_dir;
using test_support::read_file;
using test_support::write_file;

namespace fs = std::filesystem;

constexpr uid_t kUser = 65534;




std::string encode(std::string_view message,
                   std::vector<std::pair<std::string, std::string>> attributes = {}) {
  QueueEnvelope envelope;
  envelope.queue_id = "0123456789ABCDEF";
  envelope.arrival_time = 1;
  envelope.sender = "alice";
  envelope.attributes = std::move(attributes);
  envelope.recipients.resize(1);
  envelope.recipients[0].address = "bob";
  Result<std::string> bytes = encode_queue_file(envelope, message);
  EXPECT_TRUE(bytes.ok());
  return bytes.ok() ? *bytes : "";
}

class MaildropPickupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (file owners)";
    settings_.queue = QueueLayout{dir_.path() + "/queue"};
    settings_.hostname = "host.example.org";
    settings_.policy = MaildropPolicy{"example.org", 10 << 20};
    ASSERT_TRUE(ensure_queue_directories(settings_.queue, 0, 0).ok());
  }

  // maildrop/<name> holding bytes, owned by kUser as postdrop would leave it.
  std::string drop(std::string_view bytes, std::string name = "") {
    if (name.empty()) name = new_queue_id();
    const std::string path = settings_.queue.maildrop() + "/" + name;
    write_file(path, bytes);
    EXPECT_EQ(::chown(path.c_str(), kUser, kUser), 0);
    return name;
  }

  std::string login() const {
    passwd* entry = ::getpwuid(kUser);
    return entry ? entry->pw_name : "uid65534";
  }

  // incoming/<name>'s message, after checking pickup's Received: header and removing it.
  std::string incoming_message(const std::string& name) {
    Result<QueueFile> file = QueueFile::open(settings_.queue.incoming() + "/" + name, false);
    EXPECT_TRUE(file.ok());
    if (!file) return "";
    Result<std::string> message = file->read_message();
    EXPECT_TRUE(message.ok());
    const std::string received =
        "Received: by host.example.org (Postern, from userid 65534)\r\n"
        "\tid " +
        name + "; ";
    EXPECT_EQ(message->rfind(received, 0), 0u) << *message;
    size_t end = message->find("\r\n", received.size());
    return end == std::string::npos ? "" : message->substr(end + 2);
  }

  test_support::TempDir dir_{"maildrop_pickup_test"};
  PickupSettings settings_;
};

TEST_F(MaildropPickupTest, GoodFileBecomesIncomingWithTheSameId) {
  const std::string name =
      drop(encode("Subject: x\nbare lf\r\ncrlf\r\nlast", {{"body", "8BITMIME"}}));
  EXPECT_EQ(pick_up_file(settings_, name), PickupOutcome::kQueued);
  EXPECT_TRUE(list_dir(settings_.queue.maildrop()).empty());
  EXPECT_EQ(list_dir(settings_.queue.incoming()), std::vector<std::string>{name});
  EXPECT_EQ(incoming_message(name), "Subject: x\r\nbare lf\r\ncrlf\r\nlast\r\n");
  Result<QueueFile> file = QueueFile::open(settings_.queue.incoming() + "/" + name, false);
  ASSERT_TRUE(file.ok());
  const QueueEnvelope& envelope = file->envelope();
  EXPECT_EQ(envelope.sender, "alice@example.org");
  ASSERT_EQ(envelope.recipients.size(), 1u);
  EXPECT_EQ(envelope.recipients[0].address, "bob@example.org");
  EXPECT_EQ(envelope.attribute("body"), "8BITMIME");
  EXPECT_EQ(envelope.attribute("local_uid"), "65534");
  EXPECT_EQ(envelope.attribute("local_user"), login());
  EXPECT_EQ(envelope.attempts, 0u);
}

TEST_F(MaildropPickupTest, CrAndLfSplitAcrossChunksStayOneLineEnd) {
  std::string message(kMaxMessageChunkBytes - 1, 'a');
  message += "\r\nnext\nend\r";  // CR the last byte of chunk 1, LF the first of chunk 2
  const std::string name = drop(encode(message));
  EXPECT_EQ(pick_up_file(settings_, name), PickupOutcome::kQueued);
  std::string expected(kMaxMessageChunkBytes - 1, 'a');
  expected += "\r\nnext\r\nend\r\n";
  EXPECT_EQ(incoming_message(name), expected);
}

TEST_F(MaildropPickupTest, CorruptFileGoesToCorrupt) {
  const std::string garbage = "not a queue file at all\n";
  const std::string name = drop(garbage);
  EXPECT_EQ(pick_up_file(settings_, name), PickupOutcome::kCorrupt);
  EXPECT_TRUE(list_dir(settings_.queue.maildrop()).empty());
  EXPECT_TRUE(list_dir(settings_.queue.incoming()).empty());
  EXPECT_EQ(read_file(settings_.queue.corrupt() + "/maildrop-" + name), garbage);
  // Cut before its 'E' record: corrupt too.
  std::string good = encode("Subject: x\r\n\r\nb\r\n");
  const std::string cut = drop(good.substr(0, good.size() - 5));
  EXPECT_EQ(pick_up_file(settings_, cut), PickupOutcome::kCorrupt);
  EXPECT_TRUE(fs::exists(settings_.queue.corrupt() + "/maildrop-" + cut));
}

TEST_F(MaildropPickupTest, RefusedEnvelopeGoesToCorrupt) {
  const std::string name = drop(encode("Subject: x\r\n\r\nb\r\n", {{"auth", "admin"}}));
  EXPECT_EQ(pick_up_file(settings_, name), PickupOutcome::kCorrupt);
  EXPECT_TRUE(list_dir(settings_.queue.incoming()).empty());
  EXPECT_TRUE(fs::exists(settings_.queue.corrupt() + "/maildrop-" + name));
}

TEST_F(MaildropPickupTest, NameThatIsNoQueueIdGoesToCorrupt) {
  const std::string good = encode("Subject: x\r\n\r\nb\r\n");
  drop(good, "hello");
  EXPECT_EQ(pick_up_file(settings_, "hello"), PickupOutcome::kCorrupt);
  EXPECT_TRUE(list_dir(settings_.queue.incoming()).empty());
  EXPECT_EQ(read_file(settings_.queue.corrupt() + "/maildrop-hello"), good);
}

TEST_F(MaildropPickupTest, StaleTemporaryIsRemovedFreshOneKept) {
  const std::string stale = drop("partial", ".0123456789ABCDEF.tmp");
  const std::string fresh = drop("partial", ".0123456789ABCDEG.tmp");
  const std::string dotfile = drop("x", ".other");
  const std::string old_path = settings_.queue.maildrop() + "/" + stale;
  timeval two_hours_ago[2] = {{::time(nullptr) - 7200, 0}, {::time(nullptr) - 7200, 0}};
  ASSERT_EQ(::utimes(old_path.c_str(), two_hours_ago), 0);
  ASSERT_EQ(::utimes((settings_.queue.maildrop() + "/" + dotfile).c_str(), two_hours_ago), 0);
  EXPECT_EQ(pick_up_file(settings_, stale), PickupOutcome::kSkipped);
  EXPECT_EQ(pick_up_file(settings_, fresh), PickupOutcome::kSkipped);
  EXPECT_EQ(pick_up_file(settings_, dotfile), PickupOutcome::kSkipped);
  EXPECT_EQ(list_dir(settings_.queue.maildrop()), (std::vector<std::string>{fresh, dotfile}));
  EXPECT_TRUE(list_dir(settings_.queue.corrupt()).empty());
}

TEST_F(MaildropPickupTest, AlreadyQueuedStillUnlinksTheMaildropFile) {
  const std::string name = drop(encode("Subject: x\r\n\r\nb\r\n"));
  const std::string committed = settings_.queue.incoming() + "/" + name;
  write_file(committed, "committed by an earlier pickup");
  EXPECT_EQ(pick_up_file(settings_, name), PickupOutcome::kAlreadyQueued);
  EXPECT_TRUE(list_dir(settings_.queue.maildrop()).empty());
  EXPECT_EQ(list_dir(settings_.queue.incoming()), std::vector<std::string>{name});
  EXPECT_EQ(read_file(committed), "committed by an earlier pickup");
}

TEST_F(MaildropPickupTest, SymlinkIsNotFollowed) {
  const std::string target = dir_.path() + "/elsewhere";
  const std::string good = encode("Subject: secret\r\n\r\nb\r\n");
  write_file(target, good);
  ASSERT_EQ(::chown(target.c_str(), kUser, kUser), 0);
  const std::string name = new_queue_id();
  ASSERT_EQ(::symlink(target.c_str(), (settings_.queue.maildrop() + "/" + name).c_str()), 0);
  EXPECT_EQ(pick_up_file(settings_, name), PickupOutcome::kCorrupt);
  EXPECT_TRUE(list_dir(settings_.queue.incoming()).empty());
  EXPECT_TRUE(list_dir(settings_.queue.maildrop()).empty());
  EXPECT_EQ(read_file(target), good);
}

TEST_F(MaildropPickupTest, HardLinkedFileIsNotTaken) {
  const std::string name = drop(encode("Subject: x\r\n\r\nb\r\n"));
  const std::string other = dir_.path() + "/second-link";
  ASSERT_EQ(::link((settings_.queue.maildrop() + "/" + name).c_str(), other.c_str()), 0);
  EXPECT_EQ(pick_up_file(settings_, name), PickupOutcome::kCorrupt);
  EXPECT_TRUE(list_dir(settings_.queue.incoming()).empty());
}

TEST_F(MaildropPickupTest, VanishedFileIsSkipped) {
  EXPECT_EQ(pick_up_file(settings_, new_queue_id()), PickupOutcome::kSkipped);
  EXPECT_TRUE(list_dir(settings_.queue.corrupt()).empty());
}

TEST_F(MaildropPickupTest, PickUpMaildropHonoursMaxFiles) {
  std::vector<std::string> names;
  for (int i = 0; i < 3; ++i) names.push_back(drop(encode("Subject: x\r\n\r\nb\r\n")));
  drop("garbage", "zzz-not-an-id");
  bool more_left = false;
  EXPECT_EQ(pick_up_maildrop(settings_, 2, &more_left), 2u);
  EXPECT_TRUE(more_left);
  EXPECT_EQ(pick_up_maildrop(settings_, 10, &more_left), 1u);  // the last one; garbage is no count
  EXPECT_FALSE(more_left);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(list_dir(settings_.queue.incoming()), names);
  EXPECT_TRUE(list_dir(settings_.queue.maildrop()).empty());
  EXPECT_EQ(list_dir(settings_.queue.corrupt()),
            std::vector<std::string>{"maildrop-zzz-not-an-id"});
}

}  // namespace
}  // namespace postern::pickup
