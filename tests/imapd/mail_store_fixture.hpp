// The fixture of imapd's mail store tests (mail_store_test.cpp, mail_store_folders_test.cpp):
// a user's Maildir in a temporary directory with a real MailStore, registry, LMDB and libevent
// loop; helpers to deliver as delivery does, run the loop for a bounded time, and run work in a
// forked second imapd process.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "imapd/mail_store.hpp"
#include "lib/base/event_handles.hpp"

namespace postern::imapd {

using Clock = std::chrono::steady_clock;

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> out;
  DIR* d = opendir(path.c_str());
  if (!d) return out;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

class MailStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-mail-store-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    event_base_.reset(event_base_new());
    registry_ = std::make_unique<MailboxRegistry>(event_base_.get());
    auto store = MailStore::open(*registry_, base_, "alice@example.org");
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    root_ = store_->root();
  }
  void TearDown() override {
    store_.reset();
    registry_.reset();
    event_base_.reset();
    std::string cmd = "rm -rf '" + base_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }

  // A file as delivery writes it: tmp/ then renamed into new/.
  std::string deliver(const std::string& folder, int64_t seconds, const std::string& body,
                      int serial = 0) {
    std::string unique = std::to_string(seconds) + ".M" + std::to_string(serial) + "P1Q" +
                         std::to_string(serial) + ".testhost";
    std::string name = unique + ",S=" + std::to_string(body.size());
    std::string tmp = folder + "/tmp/" + unique;
    {
      std::ofstream out(tmp, std::ios::binary);
      out << body;
    }
    EXPECT_EQ(rename(tmp.c_str(), (folder + "/new/" + name).c_str()), 0);
    return name;
  }

  std::shared_ptr<Mailbox> open(const std::string& name) {
    auto mailbox = store_->open_mailbox(name);
    EXPECT_TRUE(mailbox.ok()) << (mailbox.ok() ? "" : mailbox.error().message);
    return mailbox.ok() ? *mailbox : nullptr;
  }

  // Runs work on INBOX in a forked child, as another imapd process would (its own registry, no
  // event loop). Its exit status: 0 when work returned true, 1 when false, 2-3 when INBOX would
  // not open there, -1 when the child did not exit.
  int in_other_process(const std::function<bool(Mailbox&)>& work) {
    pid_t child = fork();
    if (child < 0) return -1;
    if (child == 0) {
      MailboxRegistry registry(nullptr);
      auto store = MailStore::open(registry, base_, "alice@example.org");
      if (!store.ok()) _exit(2);
      auto box = (*store)->open_mailbox("INBOX");
      if (!box.ok()) _exit(3);
      _exit(work(**box) ? 0 : 1);
    }
    int status = 0;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
  }

  // Runs the event loop until done() or the deadline (bounded).
  bool run_until(const std::function<bool()>& done, int max_ms = 3000) {
    auto deadline = Clock::now() + std::chrono::milliseconds(max_ms);
    while (!done()) {
      if (Clock::now() > deadline) return false;
      struct timeval tick {
        0, 20000
      };
      event_base_loopexit(event_base_.get(), &tick);
      event_base_dispatch(event_base_.get());
    }
    return true;
  }

  std::string base_;
  std::string root_;
  EventBaseHandle event_base_;
  std::unique_ptr<MailboxRegistry> registry_;
  std::unique_ptr<MailStore> store_;
};

}  // namespace postern::imapd
