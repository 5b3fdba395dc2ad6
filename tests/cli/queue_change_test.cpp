// Tests for cli/queue_change and cli/queue_json on a real spool in a temporary directory:
// selection by --all, --from and --to (each message once; requeue --all leaves hold/ alone; a
// damaged file never matches an address but is taken by --all), the change on the files when no
// qmgr listens (no socket; a socket nobody serves) with per-ID results and unknown IDs, and the
// JSON documents of list and show (fields, deferral reasons, unreadable entries).
#include "cli/queue_change.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>

#include "cli/queue_json.hpp"
#include "lib/base/unique_fd.hpp"
#include "lib/queue/queue_admin.hpp"
#include "lib/queue/queue_file.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern {
namespace {

class QueueChangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    layout_.root = tmp_.path();
    for (const char* folder : {"incoming", "active", "deferred", "hold", "defer", "private"}) {
      ::mkdir((tmp_.path() + "/" + folder).c_str(), 0700);
    }
  }

  std::string write_message(QueueFolder folder, const std::string& sender,
                            const std::vector<std::string>& recipients) {
    QueueEnvelope env;
    env.queue_id = new_queue_id();
    env.arrival_time = 1700000000;
    env.sender = sender;
    for (const std::string& address : recipients) {
      QueueRecipient rcpt;
      rcpt.address = address;
      env.recipients.push_back(rcpt);
    }
    Result<QueueFileWriter> writer =
        QueueFileWriter::create(queue_folder_path(layout_, folder), env);
    EXPECT_TRUE(writer.ok());
    EXPECT_TRUE(writer->append_message("Subject: x\r\n\r\nbody\r\n").ok());
    EXPECT_TRUE(writer->commit().ok());
    return env.queue_id;
  }

  std::vector<std::string> select(ControlAction action, QueueSelection selection) {
    Result<std::vector<std::string>> ids = select_messages(layout_, action, selection);
    EXPECT_TRUE(ids.ok());
    return ids ? *ids : std::vector<std::string>();
  }

  test_support::TempDir tmp_{"queue_change_test"};
  QueueLayout layout_;
};

TEST_F(QueueChangeTest, Selection) {
  const std::string a = write_message(QueueFolder::kDeferred, "Boss@Corp.example", {"x@y.example"});
  const std::string b = write_message(QueueFolder::kHold, "", {"Target@Y.example"});
  const std::string c = write_message(QueueFolder::kIncoming, "x@corp.example", {"z@y.example"});
  const std::string bad = "0000000000BADBAD";
  std::ofstream(layout_.deferred() + "/" + bad) << "not a queue file";

  QueueSelection all;
  all.all = true;
  std::vector<std::string> every = select(ControlAction::kDelete, all);
  EXPECT_EQ(every.size(), 4u);
  std::vector<std::string> requeued = select(ControlAction::kRequeue, all);
  EXPECT_EQ(std::count(requeued.begin(), requeued.end(), b), 0);
  EXPECT_EQ(requeued.size(), 3u);

  QueueSelection from;
  from.match.sender = "Boss@corp.EXAMPLE";
  EXPECT_EQ(select(ControlAction::kDelete, from), std::vector<std::string>{a});
  from.match.sender = "<>";
  EXPECT_EQ(select(ControlAction::kDelete, from), std::vector<std::string>{b});
  QueueSelection to;
  to.match.recipient = "Target@y.example";
  EXPECT_EQ(select(ControlAction::kDelete, to), std::vector<std::string>{b});

  QueueSelection named;
  named.queue_ids = {c, a, c};
  EXPECT_EQ(select(ControlAction::kHold, named), (std::vector<std::string>{c, a}));
}

TEST_F(QueueChangeTest, WithoutQmgrTheFilesChange) {
  const std::string a = write_message(QueueFolder::kDeferred, "s@x.example", {"r@y.example"});
  const std::string b = write_message(QueueFolder::kDeferred, "s@x.example", {"r@y.example"});
  const std::string unknown = "0000000000000000";
  QueueChange partial;
  // No socket at all.
  Result<QueueChange> held =
      change_queue(layout_, ControlAction::kHold, {a, unknown}, {}, &partial, 1000);
  ASSERT_TRUE(held.ok()) << held.error().describe();
  EXPECT_FALSE(held->qmgr_running);
  ASSERT_EQ(held->results.size(), 2u);
  EXPECT_EQ(held->results[0].outcome, ControlOutcome::kDone);
  EXPECT_EQ(held->results[1].outcome, ControlOutcome::kNotFound);
  EXPECT_EQ(QueueEditor(layout_).locate(a), QueueFolder::kHold);

  // A socket file that nobody listens on (qmgr and master gone): refused, same thing.
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = layout_.private_dir() + "/qmgr";
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::copy(path.begin(), path.end(), addr.sun_path);
  ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  fd = UniqueFd();
  Result<QueueChange> deleted = change_queue(layout_, ControlAction::kDelete, {b}, {}, &partial);
  ASSERT_TRUE(deleted.ok()) << deleted.error().describe();
  EXPECT_FALSE(deleted->qmgr_running);
  EXPECT_EQ(QueueEditor(layout_).locate(b), std::nullopt);
}

TEST_F(QueueChangeTest, JsonDocuments) {
  const std::string a =
      write_message(QueueFolder::kDeferred, "s@x.example", {"one@y.example", "two@y.example"});
  std::ofstream(layout_.defer() + "/" + a) << "one@y.example\t4.4.1\tconnection refused\n";
  std::ofstream(layout_.hold() + "/0000000000BADBAD") << "garbage";

  Result<nlohmann::json> list = queue_list_json(layout_);
  ASSERT_TRUE(list.ok());
  const nlohmann::json& messages = (*list)["messages"];
  ASSERT_EQ(messages.size(), 2u);
  const nlohmann::json& message = messages[0];
  EXPECT_EQ(message["queue_id"], a);
  EXPECT_EQ(message["folder"], "deferred");
  EXPECT_EQ(message["sender"], "s@x.example");
  EXPECT_EQ(message["arrival_time"], 1700000000);
  EXPECT_EQ(message["arrival_time_iso"], "2023-11-14T22:13:20Z");
  EXPECT_TRUE(message["next_attempt"].is_null());
  EXPECT_EQ(message["recipients"][0]["deferral"]["dsn"], "4.4.1");
  EXPECT_EQ(message["recipients"][0]["deferral"]["reason"], "connection refused");
  EXPECT_TRUE(message["recipients"][1]["deferral"].is_null());
  EXPECT_EQ(messages[1]["readable"], false);
  EXPECT_EQ(messages[1]["folder"], "hold");
  EXPECT_EQ((*list)["totals"]["messages"], 1);
  EXPECT_EQ((*list)["totals"]["unreadable"], 1);
  EXPECT_EQ((*list)["totals"]["by_folder"]["deferred"], 1);

  Result<nlohmann::json> shown = queue_show_json(layout_, a);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ((*shown)["message"], "Subject: x\n\nbody\n");
  EXPECT_EQ(queue_show_json(layout_, "0000000000000000").error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(queue_show_json(layout_, "../x").error().kind, ErrorKind::kParse);
  EXPECT_EQ(queue_show_json(layout_, "0000000000BADBAD").error().kind, ErrorKind::kParse);
}

}  // namespace
}  // namespace postern
