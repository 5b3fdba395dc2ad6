// Unit tests for imapd/selected_mailbox_impl.cpp on a real MailStore in a temporary mail base:
// two sessions' views of one folder, the EXPUNGE numbers (highest first) and VANISHED with
// QRESYNC, EXISTS/RECENT for new messages, \Recent for one session only, FETCH FLAGS for
// another session's STORE (with MODSEQ under CONDSTORE) and none for one's own, and no EXPUNGE
// when the command may not carry it, and FLAGS/PERMANENTFLAGS before the first FETCH or EXISTS
// that brings a keyword new to the session. The context records the untagged lines it is given.
#include "imapd/selected_mailbox_impl.hpp"

#include <event2/event.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "imapd/command_context.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern::imapd {
namespace {

// Records what a handler writes; the rest of the session is not needed here.
class RecordingContext : public CommandContext {
 public:
  void untagged(std::string_view line) override { lines.emplace_back(line); }
  void raw(std::string_view) override {}
  SessionState state() const override { return SessionState::kSelected; }
  const std::string& user() const override { return user_; }
  MailStore& store() override { return *store_; }
  SelectedMailbox* selected() override { return nullptr; }
  void set_selected(std::unique_ptr<SelectedMailbox>) override {}
  bool enabled(std::string_view extension) const override {
    return extensions.count(std::string(extension)) != 0;
  }
  void enable(std::string_view extension) override { extensions.emplace(extension); }
  const ImapdSettings& settings() const override { return *settings_; }

  std::vector<std::string> take() { return std::exchange(lines, {}); }
  std::vector<std::string> lines;
  std::set<std::string> extensions;
  MailStore* store_ = nullptr;

 private:
  std::string user_ = "demo@example.test";
  const ImapdSettings* settings_ = nullptr;
};

class SelectedMailboxImplTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = event_base_new();
    registry_ = std::make_unique<MailboxRegistry>(base_);
    auto store = MailStore::open(*registry_, dir_.path(), "demo@example.test");
    ASSERT_TRUE(store.ok()) << store.error().describe();
    store_ = std::move(*store);
    context_.store_ = store_.get();
    auto inbox = store_->open_mailbox("INBOX");
    ASSERT_TRUE(inbox.ok()) << inbox.error().describe();
    inbox_ = *inbox;
    for (int i = 0; i < 5; ++i) append();
  }
  void TearDown() override {
    inbox_.reset();
    store_.reset();
    registry_.reset();
    event_base_free(base_);
  }
  uint32_t append(const MessageFlags& flags = {}) {
    auto uid = inbox_->append("Subject: x\r\n\r\nbody\r\n", flags, 1700000000, 0);
    EXPECT_TRUE(uid.ok());
    return uid.ok() ? *uid : 0;
  }

  test_support::TempDir dir_{"selected_mailbox_impl_test"};
  event_base* base_ = nullptr;
  std::unique_ptr<MailboxRegistry> registry_;
  std::unique_ptr<MailStore> store_;
  std::shared_ptr<Mailbox> inbox_;
  RecordingContext context_;
};

TEST_F(SelectedMailboxImplTest, ViewsAndRecent) {
  SelectedMailboxImpl first("INBOX", inbox_, false);
  SelectedMailboxImpl second("INBOX", inbox_, false);
  EXPECT_EQ(first.count(), 5u);
  EXPECT_EQ(first.recent_count(), 5u);  // the first read-write session takes \Recent
  EXPECT_EQ(second.recent_count(), 0u);
  EXPECT_EQ(first.first_unseen(), 1u);
  EXPECT_EQ(first.seq_of_uid(first.uid(3)), 3u);
  EXPECT_FALSE(first.seq_of_uid(9999).has_value());
}

TEST_F(SelectedMailboxImplTest, ExpungeNumbersAndVanished) {
  SelectedMailboxImpl a("INBOX", inbox_, false);
  SelectedMailboxImpl b("INBOX", inbox_, false);
  const uint32_t uid2 = a.uid(2), uid4 = a.uid(4);
  ASSERT_TRUE(inbox_->expunge({uid2, uid4}).ok());
  // A command that may not carry EXPUNGE: the view keeps its numbers.
  a.report_changes(context_, false);
  EXPECT_TRUE(context_.take().empty());
  EXPECT_EQ(a.count(), 5u);
  EXPECT_EQ(a.record(2).uid, uid2);  // still named by its number
  a.report_changes(context_, true);
  EXPECT_EQ(context_.take(), (std::vector<std::string>{"4 EXPUNGE", "2 EXPUNGE"}));
  EXPECT_EQ(a.count(), 3u);
  context_.enable("QRESYNC");
  b.report_changes(context_, true);
  EXPECT_EQ(context_.take(), std::vector<std::string>{"VANISHED " + std::to_string(uid2) + "," +
                                                      std::to_string(uid4)});
}

TEST_F(SelectedMailboxImplTest, NewMessagesAndOthersFlags) {
  SelectedMailboxImpl a("INBOX", inbox_, false);
  SelectedMailboxImpl b("INBOX", inbox_, false);
  append();
  a.report_changes(context_, false);
  EXPECT_EQ(context_.take(), (std::vector<std::string>{"6 EXISTS", "6 RECENT"}));
  b.report_changes(context_, true);
  EXPECT_EQ(context_.take(), (std::vector<std::string>{"6 EXISTS", "0 RECENT"}));

  FlagChange change;
  change.op = FlagOp::kAdd;
  change.flags.system = kFlagFlagged;
  auto outcome = a.store_flags({2}, change);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->changed, std::vector<uint32_t>{2});
  a.report_changes(context_, false);
  EXPECT_TRUE(context_.take().empty());  // its own change: the STORE reply said it
  context_.enable("CONDSTORE");
  b.report_changes(context_, false);
  const auto lines = context_.take();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "2 FETCH (UID " + std::to_string(b.uid(2)) + " FLAGS (\\Flagged) MODSEQ (" +
                          std::to_string(b.record(2).modseq) + "))");
}

const std::string kFlagsPrefix = "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft";
const std::string kPermanentPrefix =
    "OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft";

TEST_F(SelectedMailboxImplTest, KeywordNewToTheFolderIsAnnouncedBeforeItsFetch) {
  MessageFlags work;
  work.keywords = {"$Work"};
  FlagChange add_work{FlagOp::kAdd, work, std::nullopt};
  ASSERT_TRUE(SelectedMailboxImpl("INBOX", inbox_, false).store_flags({1}, add_work).ok());
  SelectedMailboxImpl a("INBOX", inbox_, false);
  SelectedMailboxImpl b("INBOX", inbox_, false);
  SelectedMailboxImpl examine("INBOX", inbox_, true);
  a.send_flags(context_);  // as SELECT: the keywords in use then
  EXPECT_EQ(context_.take(),
            (std::vector<std::string>{kFlagsPrefix + " $Work)",
                                      kPermanentPrefix + " $Work \\*)] Flags permitted."}));

  // a stores a keyword the folder did not have: a itself announces it before its FETCH (the
  // STORE handler calls announce_keywords), b at its next report, before the FETCH FLAGS.
  MessageFlags label;
  label.keywords = {"$Label4"};
  ASSERT_TRUE(a.store_flags({2}, FlagChange{FlagOp::kAdd, label, std::nullopt}).ok());
  a.announce_keywords(context_, a.record(2).flags);
  EXPECT_EQ(context_.take(),
            (std::vector<std::string>{
                kFlagsPrefix + " $Label4 $Work)",
                kPermanentPrefix + " $Label4 $Work \\*)] Flags permitted."}));
  a.announce_keywords(context_, a.record(2).flags);  // told once
  a.announce_keywords(context_, a.record(1).flags);
  EXPECT_TRUE(context_.take().empty());
  b.report_changes(context_, true);
  EXPECT_EQ(context_.take(), (std::vector<std::string>{
                                 kFlagsPrefix + " $Label4 $Work)",
                                 kPermanentPrefix + " $Label4 $Work \\*)] Flags permitted.",
                                 "2 FETCH (UID " + std::to_string(b.uid(2)) +
                                     " FLAGS ($Label4))"}));
  b.report_changes(context_, true);
  EXPECT_TRUE(context_.take().empty());
  // A read-only view is told too; its PERMANENTFLAGS stay empty.
  examine.report_changes(context_, true);
  auto lines = context_.take();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], kFlagsPrefix + " $Label4 $Work)");
  EXPECT_EQ(lines[1], "OK [PERMANENTFLAGS ()] Read-only mailbox.");

  // A new message with a new keyword (APPEND, COPY, another process): FLAGS before EXISTS.
  MessageFlags junk;
  junk.keywords = {"$Junk"};
  append(junk);
  b.report_changes(context_, true);
  lines = context_.take();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], kFlagsPrefix + " $Junk $Label4 $Work)");
  EXPECT_EQ(lines[2], "6 EXISTS");
  // A keyword removed from every message stays in FLAGS (it is still a flag of the folder).
  ASSERT_TRUE(a.store_flags({2}, FlagChange{FlagOp::kRemove, label, std::nullopt}).ok());
  a.report_changes(context_, true);  // a learns of $Junk and the new message
  EXPECT_EQ(context_.take()[0], kFlagsPrefix + " $Junk $Label4 $Work)");
  b.report_changes(context_, true);
  EXPECT_EQ(context_.take(), std::vector<std::string>{"2 FETCH (UID " + std::to_string(b.uid(2)) +
                                                      " FLAGS ())"});
}

TEST_F(SelectedMailboxImplTest, AnnouncedKeywordsAreBounded) {
  SelectedMailboxImpl a("INBOX", inbox_, false);
  MessageFlags many;
  for (size_t i = 0; i < SelectedMailboxImpl::kMaxListedKeywords + 10; ++i) {
    many.keywords.push_back("k" + std::to_string(i));
  }
  a.announce_keywords(context_, many);
  auto lines = context_.take();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(std::count(lines[0].begin(), lines[0].end(), ' '),
            static_cast<long>(5 + SelectedMailboxImpl::kMaxListedKeywords));
  a.announce_keywords(context_, many);  // past the bound: not told again and again
  EXPECT_TRUE(context_.take().empty());
}

TEST_F(SelectedMailboxImplTest, ReadOnlyRefusesStore) {
  SelectedMailboxImpl view("INBOX", inbox_, true);
  FlagChange change;
  change.flags.system = kFlagSeen;
  EXPECT_FALSE(view.store_flags({1}, change).ok());
  EXPECT_TRUE(view.mark_seen(1).ok());
  EXPECT_EQ(view.record(1).flags.system & kFlagSeen, 0);
}

}  // namespace
}  // namespace postern::imapd
