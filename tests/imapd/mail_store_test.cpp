// Tests for imapd's mail store (mail_store, mail_store_mailbox, mailbox_registry,
// mailbox_index): real Maildirs in a temporary directory, real LMDB, a real libevent loop and
// inotify; a forked child plays the second imapd process. Event-loop waits are bounded. Folder
// operations are in mail_store_folders_test.cpp; the fixture is mail_store_fixture.hpp.
#include <set>

#include "imapd/mailbox_index.hpp"
#include "imapd/maildir_names.hpp"
#include "tests/imapd/mail_store_fixture.hpp"

namespace postern::imapd {
namespace {

TEST_F(MailStoreTest, DeliveredFilesGetUidsInArrivalOrder) {
  deliver(root_, 1700000300, "Subject: c\n\nthree\n", 3);
  deliver(root_, 1700000100, "Subject: a\n\none\n", 1);
  deliver(root_, 1700000200, "Subject: b\n\ntwo\n", 2);
  auto inbox = open("INBOX");
  ASSERT_TRUE(inbox);
  ASSERT_EQ(inbox->records().size(), 3u);
  EXPECT_EQ(inbox->uidnext(), 4u);
  EXPECT_NE(inbox->uidvalidity(), 0u);
  const char* subjects[] = {"Subject: a", "Subject: b", "Subject: c"};
  for (uint32_t i = 0; i < 3; ++i) {
    const MessageRecord& r = inbox->records()[i];
    EXPECT_EQ(r.uid, i + 1);
    EXPECT_EQ(r.file.rfind("cur/", 0), 0u) << r.file;
    EXPECT_EQ(base_field(split_maildir_name(r.file.substr(4)).base, 'P'), r.uid);
    auto bytes = inbox->message_bytes(r.uid);
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ(bytes->rfind(subjects[i], 0), 0u);
    EXPECT_EQ(bytes->size(), r.size);
    EXPECT_NE(bytes->find("\r\n\r\n"), std::string::npos);
  }
  EXPECT_TRUE(list_dir(root_ + "/new").empty());
  // Nothing changed: sync reports nothing.
  auto again = inbox->sync();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
}

TEST_F(MailStoreTest, LaterDeliveryAndForeignFlagRenameAndRemoval) {
  auto inbox = open("INBOX");
  ASSERT_TRUE(inbox);
  EXPECT_TRUE(inbox->records().empty());
  deliver(root_, 1700000000, "Subject: x\n\nbody\n");
  auto synced = inbox->sync();
  ASSERT_TRUE(synced.ok());
  EXPECT_TRUE(*synced);
  ASSERT_EQ(inbox->records().size(), 1u);
  MessageRecord before = inbox->records()[0];
  EXPECT_EQ(before.flags.system, 0);
  // mutt marks it seen and flagged by renaming.
  std::string renamed = before.file.substr(0, before.file.find(":2,")) + ":2,FS";
  ASSERT_EQ(
      rename((inbox->path() + "/" + before.file).c_str(), (inbox->path() + "/" + renamed).c_str()),
      0);
  ASSERT_TRUE(inbox->sync().ok());
  ASSERT_EQ(inbox->records().size(), 1u);
  EXPECT_EQ(inbox->records()[0].uid, before.uid);
  EXPECT_EQ(inbox->records()[0].flags.system, kFlagSeen | kFlagFlagged);
  EXPECT_GT(inbox->records()[0].modseq, before.modseq);
  EXPECT_EQ(inbox->records()[0].file, renamed);
  uint64_t modseq = inbox->highest_modseq();
  // Removed by another tool: expunged, and QRESYNC sees it.
  ASSERT_EQ(unlink((inbox->path() + "/" + renamed).c_str()), 0);
  ASSERT_TRUE(inbox->sync().ok());
  EXPECT_TRUE(inbox->records().empty());
  auto vanished = inbox->expunged_since(modseq);
  ASSERT_TRUE(vanished.ok());
  EXPECT_EQ(*vanished, std::vector<uint32_t>{before.uid});
}

TEST_F(MailStoreTest, AppendStoresLfAndShowsCrlf) {
  auto inbox = open("INBOX");
  ASSERT_TRUE(inbox);
  std::string message = "Subject: hi\r\nFrom: a@b\r\n\r\nline one\r\nline two\r\n";
  MessageFlags flags;
  flags.system = kFlagSeen | kFlagDraft;
  flags.keywords = {"$Forwarded"};
  auto uid = inbox->append(message, flags, 1600000000, 120);
  ASSERT_TRUE(uid.ok()) << uid.error().message;
  const MessageRecord* r = inbox->find(*uid);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->size, message.size());
  EXPECT_EQ(r->internal_date, 1600000000);
  EXPECT_EQ(r->internal_date_zone, 120);
  EXPECT_EQ(r->flags.system, kFlagSeen | kFlagDraft);
  EXPECT_EQ(r->flags.keywords, std::vector<std::string>{"$Forwarded"});
  EXPECT_NE(r->file.find(":2,DS"), std::string::npos);
  std::string path = inbox->path() + "/" + r->file;
  EXPECT_EQ(read_text(path).find('\r'), std::string::npos);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, 1600000000);
  auto shown = inbox->message_bytes(*uid);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(*shown, message);
}

TEST_F(MailStoreTest, StoreFlagsRenamesAndBumpsModseq) {
  auto inbox = open("INBOX");
  ASSERT_TRUE(inbox);
  auto a = inbox->append("A\n", {}, 1600000000, 0);
  auto b = inbox->append("B\n", {}, 1600000001, 0);
  ASSERT_TRUE(a.ok() && b.ok());
  uint64_t b_modseq = inbox->find(*b)->modseq;
  FlagChange add;
  add.op = FlagOp::kAdd;
  add.flags.system = kFlagDeleted;
  add.flags.keywords = {"$Junk"};
  auto result = inbox->store_flags({*a, *b, 999}, add);
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(result->changed.size(), 2u);
  EXPECT_TRUE(result->modified.empty());
  for (const MessageRecord& r : result->changed) {
    EXPECT_EQ(r.flags.system, kFlagDeleted);
    EXPECT_NE(r.file.find(":2,T"), std::string::npos);
    EXPECT_EQ(access((inbox->path() + "/" + r.file).c_str(), F_OK), 0);
  }
  EXPECT_GT(inbox->find(*b)->modseq, b_modseq);
  // Same flags again: nothing changes, no new MODSEQ.
  uint64_t highest = inbox->highest_modseq();
  auto same = inbox->store_flags({*a}, add);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->changed.empty());
  EXPECT_EQ(inbox->highest_modseq(), highest);
  // UNCHANGEDSINCE older than the message's MODSEQ: refused for it.
  FlagChange conditional;
  conditional.op = FlagOp::kRemove;
  conditional.flags.system = kFlagDeleted;
  conditional.unchanged_since = b_modseq;
  auto cond = inbox->store_flags({*a, *b}, conditional);
  ASSERT_TRUE(cond.ok());
  EXPECT_EQ(cond->modified, (std::vector<uint32_t>{*a, *b}));
  conditional.unchanged_since = inbox->highest_modseq();
  cond = inbox->store_flags({*a}, conditional);
  ASSERT_TRUE(cond.ok());
  ASSERT_EQ(cond->changed.size(), 1u);
  EXPECT_EQ(cond->changed[0].flags.system, 0);
  // Keyword limit.
  FlagChange many;
  many.op = FlagOp::kAdd;
  for (size_t i = 0; i <= kMaxKeywordsPerMessage; ++i)
    many.flags.keywords.push_back("k" + std::to_string(i));
  EXPECT_FALSE(inbox->store_flags({*a}, many).ok());
  many.flags.keywords.pop_back();
  many.op = FlagOp::kReplace;  // exactly kMaxKeywordsPerMessage
  auto at_limit = inbox->store_flags({*a}, many);
  ASSERT_TRUE(at_limit.ok());
  ASSERT_EQ(at_limit->changed.size(), 1u);
  EXPECT_EQ(at_limit->changed[0].flags.keywords.size(), kMaxKeywordsPerMessage);
}

TEST_F(MailStoreTest, IndexDeletedKeepsUidvalidityAndUids) {
  deliver(root_, 1700000001, "one\n", 1);
  deliver(root_, 1700000002, "two\n", 2);
  deliver(root_, 1700000003, "three\n", 3);
  uint32_t uidvalidity = 0, uidnext = 0;
  std::map<std::string, uint32_t> uid_by_body;
  {
    auto inbox = open("INBOX");
    ASSERT_TRUE(inbox);
    uidvalidity = inbox->uidvalidity();
    auto expunged = inbox->expunge({3});  // the highest UID: must never come back
    ASSERT_TRUE(expunged.ok());
    EXPECT_EQ(*expunged, std::vector<uint32_t>{3});
    uidnext = inbox->uidnext();
    for (const MessageRecord& r : inbox->records()) uid_by_body[*inbox->read_file(r.uid)] = r.uid;
  }
  ASSERT_EQ(registry_->open_count(), 0u);
  ASSERT_EQ(unlink((root_ + "/postern-index").c_str()), 0);
  unlink((root_ + "/postern-index-lock").c_str());
  deliver(root_, 1700000004, "four\n", 4);
  auto inbox = open("INBOX");
  ASSERT_TRUE(inbox);
  EXPECT_EQ(inbox->uidvalidity(), uidvalidity);
  ASSERT_EQ(inbox->records().size(), 3u);
  for (const MessageRecord& r : inbox->records()) {
    std::string body = *inbox->read_file(r.uid);
    if (body == "four\n") {
      EXPECT_GE(r.uid, uidnext);  // new mail after the rebuild: above every old UID
    } else {
      EXPECT_EQ(r.uid, uid_by_body[body]) << body;
    }
  }
  EXPECT_EQ(inbox->find(3), nullptr);
}

// Keywords go into the file names as Dovecot's letters (dovecot-keywords), so a rebuilt index
// keeps them and a foreign rename that adds or drops a letter is seen; COPY uses the
// destination folder's letters.
TEST_F(MailStoreTest, KeywordLettersSurviveARebuiltIndex) {
  ASSERT_TRUE(store_->create("Archive").ok());
  // Archive already gave "b" to $Other: the copy's $Label1 needs a letter of its own there.
  { std::ofstream(root_ + "/.Archive/dovecot-keywords") << "1 $Other\n"; }
  uint32_t uid = 0;
  {
    auto inbox = open("INBOX");
    ASSERT_TRUE(inbox);
    MessageFlags flags;
    flags.system = kFlagSeen;
    flags.keywords = {"$Label1", "$Forwarded"};
    auto appended = inbox->append("Subject: k\n\nbody\n", flags, 1600000000, 0);
    ASSERT_TRUE(appended.ok()) << appended.error().message;
    uid = *appended;
    EXPECT_EQ(read_text(root_ + "/dovecot-keywords"), "0 $Forwarded\n1 $Label1\n");
    EXPECT_TRUE(inbox->find(uid)->file.ends_with(":2,Sab")) << inbox->find(uid)->file;
    FlagChange change;
    change.op = FlagOp::kRemove;
    change.flags.keywords = {"$Forwarded"};
    ASSERT_TRUE(inbox->store_flags({uid}, change).ok());
    change.op = FlagOp::kAdd;
    change.flags.keywords = {"$Junk"};
    ASSERT_TRUE(inbox->store_flags({uid}, change).ok());
    EXPECT_TRUE(inbox->find(uid)->file.ends_with(":2,Sbc")) << inbox->find(uid)->file;
    EXPECT_EQ(read_text(root_ + "/dovecot-keywords"), "0 $Forwarded\n1 $Label1\n2 $Junk\n");

    auto archive = open("Archive");
    ASSERT_TRUE(archive);
    auto copied = inbox->copy({uid}, *archive);
    ASSERT_TRUE(copied.ok());
    const MessageRecord* copy = archive->find((*copied)[0].destination);
    ASSERT_NE(copy, nullptr);
    EXPECT_EQ(copy->flags.keywords, (std::vector<std::string>{"$Junk", "$Label1"}));
    EXPECT_TRUE(copy->file.ends_with(":2,Sac")) << copy->file;
    EXPECT_EQ(read_text(root_ + "/.Archive/dovecot-keywords"), "0 $Junk\n1 $Other\n2 $Label1\n");

    // mutt-like rename by another tool: "a" ($Forwarded) added, "c" ($Junk) dropped.
    std::string file = inbox->find(uid)->file;
    std::string renamed = file.substr(0, file.find(":2,")) + ":2,Sab";
    ASSERT_EQ(rename((root_ + "/" + file).c_str(), (root_ + "/" + renamed).c_str()), 0);
    ASSERT_TRUE(inbox->sync().ok());
    EXPECT_EQ(inbox->find(uid)->flags.keywords,
              (std::vector<std::string>{"$Forwarded", "$Label1"}));
  }
  ASSERT_EQ(registry_->open_count(), 0u);
  ASSERT_EQ(unlink((root_ + "/postern-index").c_str()), 0);
  auto inbox = open("INBOX");
  ASSERT_TRUE(inbox);
  const MessageRecord* rebuilt = inbox->find(uid);
  ASSERT_NE(rebuilt, nullptr);
  EXPECT_EQ(rebuilt->flags.system, kFlagSeen);
  EXPECT_EQ(rebuilt->flags.keywords, (std::vector<std::string>{"$Forwarded", "$Label1"}));
}

TEST_F(MailStoreTest, IndexAndUidsFileDeletedRenumbers) {
  deliver(root_, 1700000001, "one\n", 1);
  {
    auto inbox = open("INBOX");
    ASSERT_TRUE(inbox);
  }
  ASSERT_EQ(unlink((root_ + "/postern-index").c_str()), 0);
  ASSERT_EQ(unlink((root_ + "/postern-uids").c_str()), 0);
  auto inbox = open("INBOX");
  ASSERT_TRUE(inbox);
  ASSERT_EQ(inbox->records().size(), 1u);
  EXPECT_EQ(inbox->records()[0].uid, 1u);
  EXPECT_EQ(access((root_ + "/postern-uids").c_str(), F_OK), 0);
}

TEST_F(MailStoreTest, CopyMoveAndExpungedSince) {
  ASSERT_TRUE(store_->create("Archive").ok());
  auto inbox = open("INBOX");
  auto archive = open("Archive");
  ASSERT_TRUE(inbox && archive);
  MessageFlags seen;
  seen.system = kFlagSeen;
  seen.keywords = {"$Label1"};
  auto a = inbox->append("Subject: a\n\nA\n", seen, 1600000000, 0);
  auto b = inbox->append("Subject: b\n\nB\n", {}, 1600000100, 0);
  ASSERT_TRUE(a.ok() && b.ok());
  auto copied = inbox->copy({*b, *a}, *archive);
  ASSERT_TRUE(copied.ok()) << copied.error().message;
  ASSERT_EQ(copied->size(), 2u);
  EXPECT_EQ((*copied)[0].source, *a);
  EXPECT_EQ((*copied)[1].source, *b);
  const MessageRecord* ca = archive->find((*copied)[0].destination);
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(ca->flags, inbox->find(*a)->flags);
  EXPECT_EQ(ca->internal_date, 1600000000);
  EXPECT_EQ(*archive->read_file(ca->uid), "Subject: a\n\nA\n");
  EXPECT_EQ(inbox->records().size(), 2u);
  uint64_t modseq = inbox->highest_modseq();
  auto moved = inbox->move({*a}, *archive);
  ASSERT_TRUE(moved.ok());
  ASSERT_EQ(moved->size(), 1u);
  EXPECT_EQ(inbox->find(*a), nullptr);
  EXPECT_EQ(archive->records().size(), 3u);
  auto vanished = inbox->expunged_since(modseq);
  ASSERT_TRUE(vanished.ok());
  EXPECT_EQ(*vanished, std::vector<uint32_t>{*a});
  auto changes = inbox->changes_since(0);
  ASSERT_TRUE(changes.ok());
  EXPECT_EQ(changes->size(), 2u);  // b arrived, a expunged
  // COPY into the same folder duplicates.
  auto self = inbox->copy({*b}, *inbox);
  ASSERT_TRUE(self.ok());
  EXPECT_EQ(inbox->records().size(), 2u);
}

TEST_F(MailStoreTest, CacheAndRecent) {
  auto inbox = open("INBOX");
  ASSERT_TRUE(inbox);
  auto a = inbox->append("A\n", {}, 1600000000, 0);
  auto b = inbox->append("B\n", {}, 1600000000, 0);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(inbox->cached(*a, CacheKind::kEnvelope).has_value());
  ASSERT_TRUE(inbox->store_cached(*a, CacheKind::kEnvelope, "(NIL)").ok());
  EXPECT_EQ(inbox->cached(*a, CacheKind::kEnvelope), "(NIL)");
  EXPECT_FALSE(inbox->cached(*a, CacheKind::kBodyStructure).has_value());
  ASSERT_TRUE(
      inbox->store_cached(*b, CacheKind::kBody, std::string(kMaxCachedBytes + 1, 'x')).ok());
  EXPECT_FALSE(inbox->cached(*b, CacheKind::kBody).has_value());
  ASSERT_TRUE(inbox->store_cached(*b, CacheKind::kBody, std::string(kMaxCachedBytes, 'x')).ok());
  EXPECT_TRUE(inbox->cached(*b, CacheKind::kBody).has_value());
  ASSERT_TRUE(inbox->expunge({*a}).ok());
  EXPECT_FALSE(inbox->cached(*a, CacheKind::kEnvelope).has_value());
  // \Recent: the first session claims both, the second none.
  uint32_t first = inbox->first_recent_uid();
  auto claimed = inbox->claim_recent(inbox->uidnext());
  ASSERT_TRUE(claimed.ok());
  EXPECT_EQ(*claimed, first);
  EXPECT_LE(*claimed, *a);
  auto second = inbox->claim_recent(inbox->uidnext());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, inbox->uidnext());
}

// Whether another process sees a cached text in inbox's postern-index file (a forked child
// opens the file itself: LMDB allows one environment per file per process).
bool on_disk(const std::string& folder, uint32_t uid, CacheKind kind) {
  pid_t child = fork();
  if (child == 0) {
    IndexDbs dbs;
    auto env = open_index(folder + "/postern-index", &dbs);
    if (!env) _exit(2);
    auto txn = LmdbTxn::begin(*env, true);
    if (!txn) _exit(2);
    auto got = txn->get(dbs.cache, cache_key(uid, kind));
    _exit(got && *got ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 2);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST_F(MailStoreTest, CacheTextsOfOneCommandAreWrittenTogether) {
  constexpr int kMessages = Mailbox::kMaxPendingCacheEntries / 4 + 10;
  for (int i = 0; i < kMessages; ++i) {
    deliver(root_, 1700000000, "Subject: " + std::to_string(i) + "\n\nx\n", i);
  }
  auto inbox = open("INBOX");
  ASSERT_TRUE(inbox);
  ASSERT_TRUE(inbox->sync().ok());
  std::vector<uint32_t> uids;
  for (const MessageRecord& record : inbox->records()) uids.push_back(record.uid);
  ASSERT_EQ(uids.size(), static_cast<size_t>(kMessages));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(inbox->store_cached(uids[i], CacheKind::kSearchFields, "Subject: s\r\n\r\n").ok());
  }
  // Seen at once in this process, on disk once the loop has turned.
  EXPECT_EQ(inbox->cached(uids[0], CacheKind::kSearchFields), "Subject: s\r\n\r\n");
  EXPECT_FALSE(on_disk(inbox->path(), uids[0], CacheKind::kSearchFields));
  run_until([] { return false; }, 50);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(on_disk(inbox->path(), uids[i], CacheKind::kSearchFields));
  // Past the bound on pending texts the write does not wait for the loop.
  for (size_t i = 0; i < Mailbox::kMaxPendingCacheEntries; ++i) {
    ASSERT_TRUE(inbox
                    ->store_cached(uids[3 + i / 4], static_cast<CacheKind>(i % 4),
                                   "(text " + std::to_string(i) + ")")
                    .ok());
  }
  EXPECT_TRUE(on_disk(inbox->path(), uids[3], CacheKind::kEnvelope));
  // An expunge takes every kind of cached text with the message.
  ASSERT_TRUE(inbox->expunge({uids[0], uids[3]}).ok());
  EXPECT_FALSE(on_disk(inbox->path(), uids[0], CacheKind::kSearchFields));
  for (CacheKind kind : kAllCacheKinds) EXPECT_FALSE(on_disk(inbox->path(), uids[3], kind));
}

TEST_F(MailStoreTest, InotifyCallbackFiresOnDelivery) {
  auto inbox = open("INBOX");
  ASSERT_TRUE(inbox);
  int calls = 0;
  ChangeSubscription subscription = inbox->subscribe([&] { ++calls; });
  ASSERT_TRUE(run_until([] { return false; }, 100) == false);  // settle
  calls = 0;
  deliver(root_, 1700000000, "Subject: push\n\nhello\n");
  auto start = Clock::now();
  ASSERT_TRUE(run_until([&] { return calls > 0; }, 3000));
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  EXPECT_LT(elapsed.count(), 1000);
  ASSERT_EQ(inbox->records().size(), 1u);
  // Our own writes notify too (other sessions of this process).
  calls = 0;
  ASSERT_TRUE(inbox->append("x\n", {}, 1600000000, 0).ok());
  ASSERT_TRUE(run_until([&] { return calls > 0; }, 3000));
  // Unsubscribed: no more calls.
  subscription.reset();
  calls = 0;
  deliver(root_, 1700000001, "again\n", 1);
  run_until([] { return false; }, 200);
  EXPECT_EQ(calls, 0);
}

// Without inotify (none left for the user, or a watch failed), the registry checks open
// folders by mtime once a second: a delivery still reaches a subscriber (IDLE) soon.
TEST_F(MailStoreTest, WithoutInotifyAPollStillReportsDelivery) {
  store_.reset();
  registry_ = std::make_unique<MailboxRegistry>(event_base_.get(), false);
  auto store = MailStore::open(*registry_, base_, "alice@example.org");
  ASSERT_TRUE(store.ok()) << store.error().message;
  store_ = std::move(*store);
  auto inbox = open("INBOX");
  ASSERT_TRUE(inbox);
  int calls = 0;
  ChangeSubscription subscription = inbox->subscribe([&] { ++calls; });
  run_until([] { return false; }, 100);  // settle
  calls = 0;
  deliver(root_, 1700000000, "Subject: polled\n\nhello\n");
  auto start = Clock::now();
  ASSERT_TRUE(run_until([&] { return calls > 0; }, 5000));
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  // One poll period, plus the mtime settle time when the delivery fell in the same second.
  EXPECT_LT(elapsed.count(), 2 * MailboxRegistry::kPollMilliseconds + 1000);
  ASSERT_EQ(inbox->records().size(), 1u);
}

TEST_F(MailStoreTest, TwoProcessesSeeEachOthersChanges) {
  auto inbox = open("INBOX");
  ASSERT_TRUE(inbox);
  auto mine = inbox->append("Subject: parent\n\n", {}, 1600000000, 0);
  ASSERT_TRUE(mine.ok());
  int calls = 0;
  ChangeSubscription subscription = inbox->subscribe([&] { ++calls; });
  run_until([] { return false; }, 50);
  calls = 0;
  ASSERT_EQ(in_other_process([&](Mailbox& box) {
              if (box.records().size() != 1) return false;
              if (!box.append("Subject: child\n\n", {}, 1600000001, 0).ok()) return false;
              FlagChange seen;
              seen.op = FlagOp::kAdd;
              seen.flags.system = kFlagSeen;
              auto stored = box.store_flags({*mine}, seen);
              return stored.ok() && stored->changed.size() == 1;
            }),
            0);
  ASSERT_TRUE(run_until([&] { return calls > 0; }, 3000));
  ASSERT_EQ(inbox->records().size(), 2u);
  EXPECT_EQ(inbox->find(*mine)->flags.system, kFlagSeen);
  auto theirs = inbox->message_bytes(inbox->records()[1].uid);
  ASSERT_TRUE(theirs.ok());
  EXPECT_EQ(*theirs, "Subject: child\r\n\r\n");
  // And the other way: the parent's change is in the index the child reads next time.
  FlagChange flagged;
  flagged.op = FlagOp::kAdd;
  flagged.flags.system = kFlagFlagged;
  ASSERT_TRUE(inbox->store_flags({*mine}, flagged).ok());
  EXPECT_EQ(in_other_process([&](Mailbox& box) {
              const MessageRecord* r = box.find(*mine);
              return r != nullptr && r->flags.system == (kFlagSeen | kFlagFlagged);
            }),
            0);
}

// The race CI's parallel runs found (test_imap_multisession): this process lists cur/, another
// imapd process renames a file (STORE \Deleted) and commits, then this process takes the write
// lock. The older listing must not move the record back to the old name: the EXPUNGE that
// follows would unlink a name that is gone, and the file would come back as a new message.
TEST_F(MailStoreTest, AStaleListingDoesNotUndoAnotherProcessesRename) {
  auto inbox = open("INBOX");
  ASSERT_TRUE(inbox);
  auto target = inbox->append("Subject: to delete\n\n", {}, 1600000000, 0);
  auto other = inbox->append("Subject: to keep\n\n", {}, 1600000001, 0);
  ASSERT_TRUE(target.ok() && other.ok());
  const std::string old_file = inbox->find(*target)->file;
  bool raced = false;
  inbox->set_after_listing_for_tests([&] {
    if (raced) return;
    raced = true;
    ASSERT_EQ(in_other_process([&](Mailbox& box) {
                FlagChange deleted;
                deleted.op = FlagOp::kAdd;
                deleted.flags.system = kFlagDeleted;
                auto stored = box.store_flags({*target}, deleted);
                return stored.ok() && stored->changed.size() == 1;
              }),
              0);
    // Back from the loop before it reads the child's inotify events: like an imapd process
    // whose client sends EXPUNGE before those events are read.
    event_base_loopbreak(event_base_.get());
  });
  // A file dropped into cur/ by another tool makes the next sync rescan cur/.
  std::ofstream(inbox->path() + "/cur/1600000002.M1P1.othertool:2,") << "Subject: x\n\n";
  ASSERT_TRUE(run_until([&] { return raced; }, 3000));
  const MessageRecord* record = inbox->find(*target);
  ASSERT_NE(record, nullptr);
  EXPECT_NE(record->file, old_file);
  EXPECT_EQ(record->flags.system, kFlagDeleted);
  inbox->set_after_listing_for_tests(nullptr);

  auto expunged = inbox->expunge({*target});
  ASSERT_TRUE(expunged.ok());
  run_until([] { return false; }, 200);  // let every inotify event in
  ASSERT_TRUE(inbox->sync().ok());
  ASSERT_EQ(inbox->records().size(), 2u);  // the kept one and the other tool's
  for (const MessageRecord& r : inbox->records()) {
    EXPECT_NE(*inbox->read_file(r.uid), "Subject: to delete\n\n") << r.file;
  }
}

TEST_F(MailStoreTest, SharedMailboxPerFolder) {
  auto one = open("INBOX");
  auto two = open("inbox");
  EXPECT_EQ(one.get(), two.get());
  EXPECT_EQ(registry_->open_count(), 1u);
  one.reset();
  two.reset();
  EXPECT_EQ(registry_->open_count(), 0u);
}

TEST_F(MailStoreTest, ForeignFileWithUsedUidGetsFreshUid) {
  ASSERT_TRUE(store_->create("Other").ok());
  auto inbox = open("INBOX");
  auto other = open("Other");
  ASSERT_TRUE(inbox && other);
  auto first = inbox->append("first\n", {}, 1600000000, 0);
  auto second = inbox->append("second\n", {}, 1600000001, 0);
  auto elsewhere = other->append("elsewhere\n", {}, 1600000002, 0);
  ASSERT_TRUE(first.ok() && second.ok() && elsewhere.ok());
  ASSERT_EQ(*first, *elsewhere);  // both folders gave out UID 1
  ASSERT_TRUE(inbox->expunge({*first}).ok());
  // Another tool moves Other's message (P=1 in its name) into INBOX: UID 1 was used here.
  std::string file = other->find(*elsewhere)->file;
  ASSERT_EQ(rename((other->path() + "/" + file).c_str(), (inbox->path() + "/" + file).c_str()), 0);
  // And copies INBOX's second message under another name with the same P=.
  std::string second_file = inbox->find(*second)->file;
  std::string copy_name = "cur/1700000000.M1P1Q1.copy" + second_file.substr(second_file.find(','));
  ASSERT_EQ(
      link((inbox->path() + "/" + second_file).c_str(), (inbox->path() + "/" + copy_name).c_str()),
      0);
  ASSERT_TRUE(inbox->sync().ok());
  ASSERT_EQ(inbox->records().size(), 3u);
  EXPECT_EQ(inbox->find(*first), nullptr);  // never reused
  EXPECT_EQ(*inbox->read_file(*second), "second\n");
  std::set<uint32_t> uids;
  for (const MessageRecord& r : inbox->records()) {
    uids.insert(r.uid);
    EXPECT_EQ(base_field(split_maildir_name(r.file.substr(4)).base, 'P'), r.uid) << r.file;
  }
  EXPECT_EQ(uids.size(), 3u);
  EXPECT_GT(*uids.rbegin(), *second);
  ASSERT_TRUE(other->sync().ok());
  EXPECT_TRUE(other->records().empty());
}

TEST_F(MailStoreTest, IndexDeletedWhileOpenIsRebuilt) {
  auto inbox = open("INBOX");
  ASSERT_TRUE(inbox);
  auto uid = inbox->append("kept\n", {}, 1600000000, 0);
  ASSERT_TRUE(uid.ok());
  uint32_t uidvalidity = inbox->uidvalidity();
  ASSERT_EQ(unlink((root_ + "/postern-index").c_str()), 0);
  ASSERT_TRUE(inbox->sync().ok());
  EXPECT_EQ(access((root_ + "/postern-index").c_str(), F_OK), 0);
  EXPECT_EQ(inbox->uidvalidity(), uidvalidity);
  ASSERT_EQ(inbox->records().size(), 1u);
  EXPECT_EQ(inbox->records()[0].uid, *uid);
  auto next = inbox->append("new\n", {}, 1600000000, 0);
  ASSERT_TRUE(next.ok());
  EXPECT_GT(*next, *uid);
}

TEST_F(MailStoreTest, MoveIntoSameFolderGivesNewUids) {
  auto inbox = open("INBOX");
  ASSERT_TRUE(inbox);
  auto uid = inbox->append("same\n", {}, 1600000000, 0);
  ASSERT_TRUE(uid.ok());
  auto moved = inbox->move({*uid}, *inbox);
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  ASSERT_EQ(moved->size(), 1u);
  EXPECT_GT((*moved)[0].destination, *uid);
  EXPECT_EQ(inbox->find(*uid), nullptr);
  ASSERT_EQ(inbox->records().size(), 1u);
  EXPECT_EQ(*inbox->read_file((*moved)[0].destination), "same\n");
}

TEST_F(MailStoreTest, FiftyThousandMessages) {
  constexpr int kCount = 50000;
  std::string body = "From: a@example.org\nSubject: bulk\n\nhello\n";
  std::string folder = root_;
  for (int i = 0; i < kCount; ++i) {
    std::string name = std::to_string(1700000000 + i) + ".M" + std::to_string(i) + "P1Q" +
                       std::to_string(i) + ".bulk,S=" + std::to_string(body.size());
    int fd = ::open((folder + "/new/" + name).c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, body.data(), body.size()), static_cast<ssize_t>(body.size()));
    close(fd);
  }
  auto start = Clock::now();
  auto inbox = open("INBOX");
  ASSERT_TRUE(inbox);
  auto build_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  ASSERT_EQ(inbox->records().size(), static_cast<size_t>(kCount));
  EXPECT_EQ(inbox->records().back().uid, static_cast<uint32_t>(kCount));
  ASSERT_TRUE(inbox->sync().ok());  // events of the build (queue overflow) settled
  start = Clock::now();
  constexpr int kSyncs = 100;
  for (int i = 0; i < kSyncs; ++i) {
    auto synced = inbox->sync();
    ASSERT_TRUE(synced.ok());
    EXPECT_FALSE(*synced);
  }
  auto sync_us =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count() / kSyncs;
  // Reopen from the index alone (no scan of unchanged files beyond one readdir).
  inbox.reset();
  start = Clock::now();
  inbox = open("INBOX");
  ASSERT_TRUE(inbox);
  auto reopen_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  std::printf(
      "[ timing ] 50,000 messages: first index build %lld ms, no-change sync %lld us, "
      "reopen %lld ms\n",
      static_cast<long long>(build_ms), static_cast<long long>(sync_us),
      static_cast<long long>(reopen_ms));
}

}  // namespace
}  // namespace postern::imapd
