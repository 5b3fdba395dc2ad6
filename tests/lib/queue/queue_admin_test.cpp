// Tests for lib/queue/queue_admin.cpp on a real spool in a temporary directory: locate, remove
// (with defer/), moves that never replace a file, the hold flag cleared on release and on
// requeue from hold/, and apply_control's answers for each action (not found, not on hold,
// already on hold, no longer matching).
#include "lib/queue/queue_admin.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "lib/queue/queue_file.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern {
namespace {

class QueueAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    layout_.root = tmp_.path();
    for (const char* folder : {"incoming", "active", "deferred", "hold", "defer"}) {
      ::mkdir((tmp_.path() + "/" + folder).c_str(), 0700);
    }
  }

  std::string write_message(QueueFolder folder, const std::string& sender = "a@b.example",
                            uint32_t flags = 0) {
    QueueEnvelope env;
    env.queue_id = new_queue_id();
    env.arrival_time = 1700000000;
    env.sender = sender;
    env.schedule_flags = flags;
    QueueRecipient rcpt;
    rcpt.address = "rcpt@c.example";
    env.recipients.push_back(rcpt);
    Result<QueueFileWriter> writer =
        QueueFileWriter::create(queue_folder_path(layout_, folder), env);
    EXPECT_TRUE(writer.ok());
    EXPECT_TRUE(writer->append_message("Subject: x\r\n\r\nbody\r\n").ok());
    EXPECT_TRUE(writer->commit().ok());
    std::ofstream(layout_.defer() + "/" + env.queue_id) << "rcpt@c.example\t4.4.1\tdown\n";
    return env.queue_id;
  }

  bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

  uint32_t flags_of(QueueEditor& editor, QueueFolder folder, const std::string& queue_id) {
    Result<QueueFile> file = QueueFile::open(editor.path_of(folder, queue_id), false);
    EXPECT_TRUE(file.ok());
    return file ? file->envelope().schedule_flags : 0;
  }

  test_support::TempDir tmp_{"queue_admin_test"};
  QueueLayout layout_;
};

TEST_F(QueueAdminTest, LocateAndRemove) {
  QueueEditor editor(layout_);
  const std::string queue_id = write_message(QueueFolder::kDeferred);
  EXPECT_EQ(editor.locate(queue_id), QueueFolder::kDeferred);
  EXPECT_EQ(editor.locate("0000000000000000"), std::nullopt);
  EXPECT_EQ(editor.locate("../deferred/x"), std::nullopt);
  ASSERT_TRUE(editor.remove(QueueFolder::kDeferred, queue_id).ok());
  EXPECT_TRUE(editor.sync().ok());
  EXPECT_FALSE(exists(editor.path_of(QueueFolder::kDeferred, queue_id)));
  EXPECT_FALSE(exists(layout_.defer() + "/" + queue_id));
  Status again = editor.remove(QueueFolder::kDeferred, queue_id);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kNotFound);
}

TEST_F(QueueAdminTest, AMoveNeverReplacesAFile) {
  QueueEditor editor(layout_);
  const std::string queue_id = write_message(QueueFolder::kDeferred);
  // The same name in hold/ already (cannot happen with unique IDs; must still not be lost).
  ASSERT_EQ(::link(editor.path_of(QueueFolder::kDeferred, queue_id).c_str(),
                   editor.path_of(QueueFolder::kHold, queue_id).c_str()),
            0);
  EXPECT_FALSE(editor.move(QueueFolder::kDeferred, QueueFolder::kHold, queue_id).ok());
  EXPECT_TRUE(exists(editor.path_of(QueueFolder::kDeferred, queue_id)));
}

TEST_F(QueueAdminTest, MoveToIncomingDropsTheDeferFile) {
  QueueEditor editor(layout_);
  const std::string held = write_message(QueueFolder::kDeferred);
  ASSERT_TRUE(editor.move(QueueFolder::kDeferred, QueueFolder::kHold, held).ok());
  EXPECT_TRUE(exists(layout_.defer() + "/" + held));  // still informative in hold/
  ASSERT_TRUE(editor.move(QueueFolder::kHold, QueueFolder::kIncoming, held).ok());
  EXPECT_FALSE(exists(layout_.defer() + "/" + held));
  EXPECT_EQ(editor.locate(held), QueueFolder::kIncoming);
  EXPECT_TRUE(editor.sync().ok());
}

TEST_F(QueueAdminTest, ApplyEachAction) {
  QueueEditor editor(layout_);
  const QueueMatch any;
  const std::string deferred = write_message(QueueFolder::kDeferred);

  AppliedChange held = apply_control(editor, ControlAction::kHold, deferred, any);
  EXPECT_EQ(held.result.outcome, ControlOutcome::kDone);
  EXPECT_EQ(held.from, QueueFolder::kDeferred);
  EXPECT_EQ(held.done_text, "placed on hold");
  EXPECT_EQ(editor.locate(deferred), QueueFolder::kHold);
  AppliedChange twice = apply_control(editor, ControlAction::kHold, deferred, any);
  EXPECT_EQ(twice.result.outcome, ControlOutcome::kDone);
  EXPECT_EQ(twice.result.reason, "already on hold");

  AppliedChange released = apply_control(editor, ControlAction::kRelease, deferred, any);
  EXPECT_EQ(released.result.outcome, ControlOutcome::kDone);
  EXPECT_EQ(editor.locate(deferred), QueueFolder::kIncoming);
  AppliedChange not_held = apply_control(editor, ControlAction::kRelease, deferred, any);
  EXPECT_EQ(not_held.result.outcome, ControlOutcome::kNotFound);
  EXPECT_NE(not_held.result.reason.find("not on hold"), std::string::npos);

  const std::string active = write_message(QueueFolder::kActive);
  EXPECT_EQ(apply_control(editor, ControlAction::kRequeue, active, any).result.outcome,
            ControlOutcome::kDone);
  EXPECT_EQ(editor.locate(active), QueueFolder::kIncoming);
  EXPECT_EQ(apply_control(editor, ControlAction::kRequeue, active, any).result.reason,
            "already in incoming/");

  EXPECT_EQ(apply_control(editor, ControlAction::kDelete, active, any).done_text, "removed");
  EXPECT_EQ(editor.locate(active), std::nullopt);
  EXPECT_EQ(apply_control(editor, ControlAction::kDelete, active, any).result.outcome,
            ControlOutcome::kNotFound);
  EXPECT_TRUE(editor.sync().ok());
}

TEST_F(QueueAdminTest, ReleaseAndRequeueClearTheHoldFlag) {
  QueueEditor editor(layout_);
  const QueueMatch any;
  const uint32_t flags = kScheduleHoldRequested | kScheduleDelayWarned;
  const std::string released = write_message(QueueFolder::kHold, "a@b.example", flags);
  const std::string requeued = write_message(QueueFolder::kHold, "a@b.example", flags);
  ASSERT_EQ(apply_control(editor, ControlAction::kRelease, released, any).result.outcome,
            ControlOutcome::kDone);
  ASSERT_EQ(apply_control(editor, ControlAction::kRequeue, requeued, any).result.outcome,
            ControlOutcome::kDone);
  EXPECT_EQ(flags_of(editor, QueueFolder::kIncoming, released), kScheduleDelayWarned);
  EXPECT_EQ(flags_of(editor, QueueFolder::kIncoming, requeued), kScheduleDelayWarned);
}

TEST_F(QueueAdminTest, AMessageThatNoLongerMatchesIsSkipped) {
  QueueEditor editor(layout_);
  const std::string queue_id = write_message(QueueFolder::kDeferred, "someone@b.example");
  QueueMatch match;
  match.sender = "other@b.example";
  AppliedChange skipped = apply_control(editor, ControlAction::kDelete, queue_id, match);
  EXPECT_EQ(skipped.result.outcome, ControlOutcome::kSkipped);
  EXPECT_EQ(editor.locate(queue_id), QueueFolder::kDeferred);
  match.sender = "someone@B.EXAMPLE";
  EXPECT_EQ(apply_control(editor, ControlAction::kDelete, queue_id, match).result.outcome,
            ControlOutcome::kDone);
  EXPECT_EQ(editor.locate(queue_id), std::nullopt);
}

}  // namespace
}  // namespace postern
