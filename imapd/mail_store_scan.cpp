// Mailbox::scan: new/ and cur/ against the folder's index (see mail_store.hpp for the UID
// rules). File names are hostile (checked by maildir_names). Limits: kScanBatch files per index
// transaction.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <unordered_set>

#include "imapd/index_writer.hpp"
#include "imapd/mail_store_internal.hpp"
#include "imapd/maildir_files.hpp"
#include "imapd/maildir_keywords.hpp"
#include "imapd/maildir_names.hpp"
#include "lib/base/log.hpp"

namespace postern::imapd {
namespace {

constexpr size_t kScanBatch = 5000;

}  // namespace

// Rescans new/ and/or cur/ against the index: new files get UIDs (arrival order, P= trusted by
// the rule in mail_store.hpp) and move into cur/ with P= and W= in their names; renamed files
// update flags; vanished files are expunged. The folders are listed before the write
// transaction begins, so another imapd process may have renamed, added or removed files in
// between and committed that to the index: a record whose file still exists under the name
// the index has is never changed or expunged on the word of the older listing.
Status Mailbox::scan(bool scan_new, bool scan_cur) {
  impl_->new_dirty = impl_->new_dirty && !scan_new;
  impl_->cur_dirty = impl_->cur_dirty && !scan_cur;
  auto file_exists = [this](const std::string& file) {
    return ::access((path_ + "/" + file).c_str(), F_OK) == 0;
  };
  struct Entry {
    bool in_new;
    std::string name;
  };
  std::vector<Entry> listed;
  struct timespec now {};
  clock_gettime(CLOCK_REALTIME, &now);
  for (bool dir_new : {true, false}) {
    if (dir_new ? !scan_new : !scan_cur) continue;
    std::string dir = path_ + (dir_new ? "/new" : "/cur");
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
      (dir_new ? impl_->new_mtime : impl_->cur_mtime) = st.st_mtim;
      (dir_new ? impl_->new_scanned_at : impl_->cur_scanned_at) = now;
    }
    DIR* handle = ::opendir(dir.c_str());
    if (handle == nullptr) {
      if (errno == ENOENT && ::mkdir(dir.c_str(), kDirMode) == 0) continue;
      return Error::system("opendir " + dir);
    }
    std::unique_ptr<DIR, int (*)(DIR*)> closer(handle, ::closedir);
    size_t count = 0;
    while (struct dirent* entry = ::readdir(handle)) {
      std::string_view name(entry->d_name);
      if (!plausible_message_name(name) || entry->d_type == DT_DIR) continue;
      if (++count > kMaxMessagesPerFolder) {
        log::warning("imapd: folder {} holds over {} files, the rest is not indexed", dir,
                     kMaxMessagesPerFolder);
        break;
      }
      listed.push_back(Entry{dir_new, std::string(name)});
    }
  }

  if (impl_->after_listing) impl_->after_listing();
  auto writer = IndexWriter::begin(*impl_->env, impl_->dbs, path_);
  if (!writer) return writer.error();
  if (auto caught = catch_up(writer->txn()); !caught) return caught.error();
  const MaildirKeywords keywords = MaildirKeywords::load(path_);

  std::unordered_set<uint32_t> seen;
  std::vector<Entry> candidates;
  for (Entry& entry : listed) {
    MaildirName name = split_maildir_name(entry.name);
    auto known = impl_->uid_of_base.find(std::string(name.base));
    if (known == impl_->uid_of_base.end() || seen.count(known->second)) {
      candidates.push_back(std::move(entry));
      continue;
    }
    seen.insert(known->second);
    const MessageRecord* record = find(known->second);
    if (record == nullptr) continue;
    std::string file = (entry.in_new ? "new/" : "cur/") + entry.name;
    if (record->file == file || file_exists(record->file)) continue;
    MessageRecord updated = *record;
    updated.file = file;
    updated.flags.system = flags_from_info(name.info);
    // Another tool renamed it: its letters now say which lettered keywords it has.
    std::vector<std::string>& words = updated.flags.keywords;
    std::erase_if(words, [&](const std::string& k) { return keywords.has_letter(k); });
    for (std::string& k : keywords.keywords_in(name.info)) words.push_back(std::move(k));
    std::sort(words.begin(), words.end());
    bool bump = updated.flags != record->flags;
    if (Status s = writer->update(*record, updated, bump); !s) return s;
  }
  for (const MessageRecord& record : records_) {
    if ((in_new(record) ? scan_new : scan_cur) && !seen.count(record.uid) &&
        !file_exists(record.file)) {
      if (Status s = writer->expunge(record); !s) return s;
    }
  }

  std::sort(candidates.begin(), candidates.end(), [](const Entry& a, const Entry& b) {
    ArrivalKey ka = arrival_key(a.name), kb = arrival_key(b.name);
    if (ka.seconds != kb.seconds) return ka.seconds < kb.seconds;
    if (ka.micros != kb.micros) return ka.micros < kb.micros;
    return a.name < b.name;
  });
  std::unordered_set<uint32_t> taken;
  std::unordered_set<std::string> new_bases;
  bool renamed = false;
  for (const Entry& entry : candidates) {
    if (writer->writes() >= kScanBatch) {
      auto done = writer->finish();
      if (!done) return done.error();
      writer = IndexWriter::begin(*impl_->env, impl_->dbs, path_);
      if (!writer) return writer.error();
    }
    MaildirName name = split_maildir_name(entry.name);
    std::string source = path_ + (entry.in_new ? "/new/" : "/cur/") + entry.name;
    std::optional<uint64_t> given = base_field(name.base, 'P');
    uint32_t uid = 0;
    if (given && *given >= 1 && *given < writer->uidnext() &&
        find(static_cast<uint32_t>(*given)) == nullptr &&
        !taken.count(static_cast<uint32_t>(*given))) {
      auto expunged = writer->is_expunged(static_cast<uint32_t>(*given));
      if (!expunged) return expunged.error();
      if (!*expunged) uid = static_cast<uint32_t>(*given);
    }
    MessageRecord record;
    std::optional<uint64_t> crlf = base_field(name.base, 'W');
    if (crlf) {
      struct stat st {};
      if (::stat(source.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;  // gone meanwhile
      record.size = *crlf;
      record.internal_date = st.st_mtim.tv_sec;
    } else {
      auto counted = count_file(source);
      if (!counted) {
        if (counted.error().sys_errno != ENOENT) {
          log::warning("imapd: cannot index {}: {}", source, counted.error().describe());
        }
        continue;
      }
      record.size = counted->crlf_size;
      record.internal_date = counted->mtime;
    }
    if (uid == 0) uid = writer->take_uid();
    std::string base = with_base_field(name.base, 'P', uid);
    if (!crlf) base = with_base_field(base, 'W', record.size);
    std::string target = base + ":2," + std::string(name.info);
    if (target.size() > kMaxMaildirNameBytes || new_bases.count(base) ||
        impl_->uid_of_base.count(base)) {
      // Cannot carry P= (too long): the UID lives in the index only.
      base = std::string(name.base);
      if (new_bases.count(base) || impl_->uid_of_base.count(base)) {
        log::warning("imapd: {} duplicates another message's name, not indexed", source);
        continue;
      }
      record.file = (entry.in_new ? "new/" : "cur/") + entry.name;
    } else {
      std::string destination = path_ + "/cur/" + target;
      registry_.expect_event(entry.in_new ? impl_->wd_new : impl_->wd_cur, entry.name);
      registry_.expect_event(impl_->wd_cur, target);
      if (::rename(source.c_str(), destination.c_str()) != 0) {
        if (errno == ENOENT) continue;  // taken away meanwhile
        return Error::system("rename " + source);
      }
      renamed = true;
      record.file = "cur/" + target;
    }
    record.uid = uid;
    record.flags.system = flags_from_info(name.info);
    record.flags.keywords = keywords.keywords_in(name.info);
    record.internal_date_zone = zone_minutes_at(record.internal_date);
    taken.insert(uid);
    new_bases.insert(base);
    if (Status s = writer->put_new(record, base); !s) return s;
  }
  auto done = writer->finish();
  if (!done) return done.error();
  if (renamed) {
    if (Status s = fsync_dir(path_ + "/cur"); !s) return s;
  }
  registry_.settle_own_changes();
  auto caught = catch_up_now();
  if (!caught) return caught.error();
  return Status::success();
}

void Mailbox::set_after_listing_for_tests(std::function<void()> hook) {
  impl_->after_listing = std::move(hook);
}

}  // namespace postern::imapd
