// Tests for the folder side of imapd's mail store (mail_store.cpp): creating, listing,
// naming, deleting and renaming folders, special-use folders, subscriptions and UIDVALIDITY of
// a re-created folder. Real Maildirs, LMDB and inotify (mail_store_fixture.hpp).
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/imapd/mail_store_fixture.hpp"

namespace postern::imapd {
namespace {

TEST_F(MailStoreTest, CreateListAndNames) {
  ASSERT_TRUE(store_->create("Work.Projects.Q1").ok());
  ASSERT_TRUE(store_->create("Work.").ok());  // trailing separator dropped
  EXPECT_EQ(store_->create("Work").error().message.rfind("[ALREADYEXISTS]", 0), 0u);
  EXPECT_EQ(store_->create("inbox").error().message.rfind("[ALREADYEXISTS]", 0), 0u);
  ASSERT_TRUE(store_->create("inbox.Sub").ok());
  EXPECT_TRUE(store_->exists("INBOX.Sub"));
  EXPECT_FALSE(store_->create("a..b").ok());
  EXPECT_FALSE(store_->create(".a").ok());
  EXPECT_FALSE(store_->create("a/b").ok());
  EXPECT_FALSE(store_->create("a\nb").ok());
  auto list = store_->list_folders();
  ASSERT_TRUE(list.ok());
  std::vector<std::string> names;
  for (const FolderInfo& f : *list) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"INBOX", "INBOX.Sub", "Work", "Work.Projects",
                                             "Work.Projects.Q1"}));
  EXPECT_TRUE((*list)[0].has_children);
  EXPECT_TRUE((*list)[2].exists);
  EXPECT_TRUE((*list)[2].has_children);
  EXPECT_FALSE((*list)[3].exists);  // \Noselect parent
  EXPECT_TRUE((*list)[3].has_children);
  EXPECT_FALSE((*list)[4].has_children);
  EXPECT_EQ(store_->open_mailbox("Work.Projects").error().message.rfind("[NONEXISTENT]", 0), 0u);
}

TEST_F(MailStoreTest, NameLimits) {
  std::string at_limit(kMaxFolderNameBytes, 'n');
  EXPECT_TRUE(check_folder_name(at_limit).ok());
  EXPECT_FALSE(check_folder_name(at_limit + "n").ok());
  ASSERT_TRUE(store_->create(at_limit).ok());
  EXPECT_FALSE(store_->create(at_limit + "n").ok());
  std::string deep = "a";
  for (size_t i = 1; i < kMaxFolderDepth; ++i) deep += ".a";
  EXPECT_TRUE(check_folder_name(deep).ok());
  EXPECT_FALSE(check_folder_name(deep + ".a").ok());
  EXPECT_FALSE(check_folder_name("").ok());
  EXPECT_FALSE(check_folder_name("a.").ok());
  EXPECT_FALSE(check_folder_name("caf\xc3\xa9").ok());  // raw 8-bit: not modified UTF-7
  EXPECT_TRUE(check_folder_name("caf&AOk-").ok());
}

TEST_F(MailStoreTest, DeleteRules) {
  EXPECT_EQ(store_->remove("INBOX").error().message.rfind("[CANNOT]", 0), 0u);
  EXPECT_EQ(store_->remove("Nope").error().message.rfind("[NONEXISTENT]", 0), 0u);
  ASSERT_TRUE(store_->create("A").ok());
  ASSERT_TRUE(store_->create("A.B").ok());
  ASSERT_TRUE(store_->create("X.Y").ok());
  EXPECT_EQ(store_->remove("X").error().message.rfind("[NONEXISTENT]", 0), 0u);  // \Noselect
  auto a = open("A");
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->append("m\n", {}, 1600000000, 0).ok());
  ASSERT_TRUE(store_->remove("A").ok());
  EXPECT_TRUE(a->deleted());
  EXPECT_FALSE(a->append("m\n", {}, 1600000000, 0).ok());
  EXPECT_FALSE(store_->exists("A"));
  EXPECT_TRUE(store_->exists("A.B"));
  auto list = store_->list_folders();
  ASSERT_TRUE(list.ok());
  bool found = false;
  for (const FolderInfo& f : *list) {
    if (f.name == "A") {
      found = true;
      EXPECT_FALSE(f.exists);
      EXPECT_TRUE(f.has_children);
    }
  }
  EXPECT_TRUE(found);
  for (const std::string& entry : list_dir(root_))
    EXPECT_EQ(entry.find("postern-deleted"), std::string::npos);
  // Re-created: a fresh, empty folder.
  ASSERT_TRUE(store_->create("A").ok());
  auto again = open("A");
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->records().empty());
}

TEST_F(MailStoreTest, RenameWithChildren) {
  ASSERT_TRUE(store_->create("Old").ok());
  ASSERT_TRUE(store_->create("Old.Kid").ok());
  ASSERT_TRUE(store_->create("Older").ok());  // not a child: stays
  auto kid = open("Old.Kid");
  ASSERT_TRUE(kid);
  auto uid = kid->append("kid\n", {}, 1600000000, 0);
  ASSERT_TRUE(uid.ok());
  EXPECT_EQ(store_->rename("Old", "Old.Kid.X").error().message.rfind("[CANNOT]", 0), 0u);
  EXPECT_EQ(store_->rename("Old", "Older").error().message.rfind("[ALREADYEXISTS]", 0), 0u);
  EXPECT_EQ(store_->rename("Gone", "New").error().message.rfind("[NONEXISTENT]", 0), 0u);
  ASSERT_TRUE(store_->rename("Old", "New").ok());
  EXPECT_FALSE(store_->exists("Old"));
  EXPECT_FALSE(store_->exists("Old.Kid"));
  EXPECT_TRUE(store_->exists("New"));
  EXPECT_TRUE(store_->exists("New.Kid"));
  EXPECT_TRUE(store_->exists("Older"));
  // The open Mailbox followed its folder.
  EXPECT_EQ(kid->path(), root_ + "/.New.Kid");
  auto bytes = kid->read_file(*uid);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, "kid\n");
  EXPECT_EQ(open("New.Kid").get(), kid.get());
}

TEST_F(MailStoreTest, RenameInboxMovesMessages) {
  deliver(root_, 1700000000, "one\n", 1);
  deliver(root_, 1700000001, "two\n", 2);
  ASSERT_TRUE(store_->rename("INBOX", "Old Mail").ok());
  auto inbox = open("INBOX");
  auto old = open("Old Mail");
  ASSERT_TRUE(inbox && old);
  EXPECT_TRUE(inbox->records().empty());
  EXPECT_EQ(old->records().size(), 2u);
}

TEST_F(MailStoreTest, SpecialUseAndSubscriptions) {
  ASSERT_TRUE(store_->ensure_special_use_folders().ok());
  ASSERT_TRUE(store_->ensure_special_use_folders().ok());
  auto subs = store_->subscriptions();
  ASSERT_TRUE(subs.ok());
  EXPECT_EQ(*subs, (std::vector<std::string>{"Drafts", "Sent", "Trash", "Junk", "Archive"}));
  auto list = store_->list_folders();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 6u);
  for (const FolderInfo& f : *list) {
    if (f.name == "INBOX") continue;
    EXPECT_TRUE(f.subscribed) << f.name;
    EXPECT_NE(f.special_use, SpecialUse::kNone) << f.name;
  }
  EXPECT_EQ(special_use_attribute(SpecialUse::kTrash), "\\Trash");
  ASSERT_TRUE(store_->subscribe("Later.Folder").ok());
  ASSERT_TRUE(store_->subscribe("Later.Folder").ok());
  ASSERT_TRUE(store_->unsubscribe("Sent").ok());
  ASSERT_TRUE(store_->unsubscribe("Sent").ok());
  subs = store_->subscriptions();
  ASSERT_TRUE(subs.ok());
  EXPECT_EQ(*subs,
            (std::vector<std::string>{"Drafts", "Trash", "Junk", "Archive", "Later.Folder"}));
  EXPECT_EQ(read_text(root_ + "/subscriptions"), "Drafts\nTrash\nJunk\nArchive\nLater.Folder\n");
}

TEST_F(MailStoreTest, RecreatedFolderGetsGreaterUidvalidity) {
  ASSERT_TRUE(store_->create("Again").ok());
  uint32_t before = 0;
  {
    auto box = open("Again");
    ASSERT_TRUE(box);
    before = box->uidvalidity();
    ASSERT_TRUE(box->append("x\n", {}, 1600000000, 0).ok());
  }
  ASSERT_TRUE(store_->remove("Again").ok());
  ASSERT_TRUE(store_->create("Again").ok());  // within the same second
  auto box = open("Again");
  ASSERT_TRUE(box);
  EXPECT_GT(box->uidvalidity(), before);
  EXPECT_TRUE(box->records().empty());
  // Two folders of one user never share a UIDVALIDITY.
  ASSERT_TRUE(store_->create("Other").ok());
  auto other = open("Other");
  ASSERT_TRUE(other);
  EXPECT_GT(other->uidvalidity(), box->uidvalidity());
}

}  // namespace
}  // namespace postern::imapd
