// Mailbox writes: APPEND, STORE, COPY, MOVE, EXPUNGE (see mail_store.hpp for their order on
// disk: file first, fsynced, then the index). Limits: kMaxMessagesPerFolder,
// kMaxKeywordsPerMessage, kMaxKeywordBytes.
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
#include "lib/mailbox/maildir.hpp"

namespace postern::imapd {
namespace {

bool same_keyword(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

void normalize_keywords(std::vector<std::string>& keywords) {
  std::vector<std::string> out;
  for (std::string& keyword : keywords) {
    bool seen = std::any_of(out.begin(), out.end(),
                            [&](const std::string& k) { return same_keyword(k, keyword); });
    if (!seen) out.push_back(std::move(keyword));
  }
  std::sort(out.begin(), out.end());
  keywords = std::move(out);
}

Status check_keywords(const std::vector<std::string>& keywords) {
  if (keywords.size() > kMaxKeywordsPerMessage) {
    return store_error(ErrorKind::kLimit, "LIMIT", "too many keywords");
  }
  for (const std::string& keyword : keywords) {
    if (keyword.empty() || keyword.size() > kMaxKeywordBytes) {
      return store_error(ErrorKind::kLimit, "LIMIT", "keyword too long");
    }
  }
  return Status::success();
}

MessageFlags apply_change(const MessageFlags& old, const FlagChange& change) {
  MessageFlags out = old;
  switch (change.op) {
    case FlagOp::kReplace:
      out = change.flags;
      break;
    case FlagOp::kAdd:
      out.system |= change.flags.system;
      for (const std::string& k : change.flags.keywords) out.keywords.push_back(k);
      break;
    case FlagOp::kRemove:
      out.system &= static_cast<uint8_t>(~change.flags.system);
      std::erase_if(out.keywords, [&](const std::string& k) {
        return std::any_of(change.flags.keywords.begin(), change.flags.keywords.end(),
                           [&](const std::string& r) { return same_keyword(k, r); });
      });
      break;
  }
  normalize_keywords(out.keywords);
  return out;
}

}  // namespace

Result<uint32_t> Mailbox::append(std::string_view bytes, const MessageFlags& flags,
                                 int64_t internal_date, int32_t zone_minutes) {
  if (Status s = ensure_writable(); !s) return s.error();
  if (Status s = check_keywords(flags.keywords); !s) return s.error();
  if (auto synced = sync(); !synced) return synced.error();
  if (records_.size() >= kMaxMessagesPerFolder) {
    return store_error(ErrorKind::kLimit, "LIMIT", "mailbox is full");
  }
  std::string stored;
  CrlfToLf converter;
  converter.feed(bytes, stored);
  converter.finish(stored);
  auto tmp = write_tmp_file(path_, stored, internal_date);
  if (!tmp) return server_error(tmp.error());
  auto writer = IndexWriter::begin(*impl_->env, impl_->dbs, path_);
  if (!writer) {
    ::unlink(tmp->c_str());
    return server_error(writer.error());
  }
  if (auto caught = catch_up(writer->txn()); !caught) {
    ::unlink(tmp->c_str());
    return server_error(caught.error());
  }
  MessageRecord record;
  record.uid = writer->take_uid();
  record.flags = flags;
  normalize_keywords(record.flags.keywords);
  MaildirKeywords keywords = MaildirKeywords::load(path_);
  const std::string letters = keywords.letters_for(record.flags.keywords);
  if (Status s = keywords.save(path_); !s) {
    ::unlink(tmp->c_str());
    return server_error(s.error());
  }
  record.size = crlf_size(stored);
  record.internal_date = internal_date;
  record.internal_date_zone = zone_minutes;
  std::string unique = std::string(file_name_of(*tmp));
  std::string base = unique + ",S=" + std::to_string(stored.size()) +
                     ",W=" + std::to_string(record.size) + ",P=" + std::to_string(record.uid);
  std::string name = base + ":2," + info_for_flags(flags.system, letters, "");
  record.file = "cur/" + name;
  registry_.expect_event(impl_->wd_cur, name);
  if (::rename(tmp->c_str(), (path_ + "/" + record.file).c_str()) != 0) {
    Error e = Error::system("rename " + *tmp);
    ::unlink(tmp->c_str());
    return server_error(e);
  }
  Status s = fsync_dir(path_ + "/cur");
  if (s) s = writer->put_new(record, base);
  if (s) {
    auto done = writer->finish();
    if (!done) s = done.error();
  }
  if (!s) {
    // The file is in cur/ with a P= the index never committed: the next scan gives it a UID.
    impl_->cur_dirty = true;
    return server_error(s.error());
  }
  registry_.settle_own_changes();
  if (auto caught = catch_up_now(); !caught) return server_error(caught.error());
  return record.uid;
}

Result<StoreFlagsResult> Mailbox::store_flags(const std::vector<uint32_t>& uids,
                                              const FlagChange& change) {
  if (Status s = ensure_writable(); !s) return s.error();
  if (Status s = check_keywords(change.flags.keywords); !s) return s.error();
  if (auto synced = sync(); !synced) return synced.error();
  auto writer = IndexWriter::begin(*impl_->env, impl_->dbs, path_);
  if (!writer) return server_error(writer.error());
  if (auto caught = catch_up(writer->txn()); !caught) return server_error(caught.error());
  StoreFlagsResult result;
  struct Planned {
    const MessageRecord* old;
    MessageFlags flags;
  };
  std::vector<Planned> planned;
  for (uint32_t uid : uids) {
    const MessageRecord* record = find(uid);
    if (record == nullptr) continue;
    if (change.unchanged_since && record->modseq > *change.unchanged_since) {
      result.modified.push_back(uid);
      continue;
    }
    MessageFlags flags = apply_change(record->flags, change);
    if (flags == record->flags) continue;
    if (Status s = check_keywords(flags.keywords); !s) return s.error();
    planned.push_back(Planned{record, std::move(flags)});
  }
  MaildirKeywords keywords = MaildirKeywords::load(path_);
  std::vector<uint32_t> changed;
  for (Planned& plan : planned) {
    MessageRecord updated = *plan.old;
    updated.flags = plan.flags;
    std::string_view old_name = file_name_of(plan.old->file);
    MaildirName parts = split_maildir_name(old_name);
    const std::string letters = keywords.letters_for(plan.flags.keywords);
    // Saved even when the name keeps its letters: a letter a foreign tool left may just have
    // been given to this keyword.
    if (Status s = keywords.save(path_); !s) {
      impl_->cur_dirty = true;  // earlier renames: the rescan puts the index right
      return server_error(s.error());
    }
    if (plan.flags.system != plan.old->flags.system || letters != keyword_letters_of(parts.info)) {
      std::string name =
          std::string(parts.base) + ":2," + info_for_flags(plan.flags.system, letters, parts.info);
      updated.file = "cur/" + name;
      registry_.expect_event(in_new(*plan.old) ? impl_->wd_new : impl_->wd_cur,
                             std::string(old_name));
      registry_.expect_event(impl_->wd_cur, name);
      if (::rename((path_ + "/" + plan.old->file).c_str(), (path_ + "/" + updated.file).c_str()) !=
          0) {
        if (errno == ENOENT) {  // another tool renamed or removed it: the rescan will tell
          impl_->cur_dirty = impl_->new_dirty = true;
          continue;
        }
        return server_error(Error::system("rename " + plan.old->file));
      }
    }
    if (Status s = writer->update(*plan.old, updated, true); !s) return server_error(s.error());
    changed.push_back(updated.uid);
  }
  if (auto done = writer->finish(); !done) {
    impl_->cur_dirty = true;  // files may be renamed already: the rescan puts the index right
    return server_error(done.error());
  }
  registry_.settle_own_changes();
  if (auto caught = catch_up_now(); !caught) return server_error(caught.error());
  for (uint32_t uid : changed) {
    if (const MessageRecord* record = find(uid)) result.changed.push_back(*record);
  }
  return result;
}

Result<std::vector<UidPair>> Mailbox::copy(const std::vector<uint32_t>& uids,
                                           Mailbox& destination) {
  if (Status s = ensure_writable(); !s) return s.error();
  if (Status s = destination.ensure_writable(); !s) return s.error();
  if (auto synced = sync(); !synced) return synced.error();
  if (&destination != this) {
    if (auto synced = destination.sync(); !synced) return synced.error();
  }
  std::vector<MessageRecord> sources;
  for (uint32_t uid : uids) {
    if (const MessageRecord* record = find(uid)) sources.push_back(*record);
  }
  std::sort(sources.begin(), sources.end(),
            [](const MessageRecord& a, const MessageRecord& b) { return a.uid < b.uid; });
  if (destination.records_.size() + sources.size() > kMaxMessagesPerFolder) {
    return store_error(ErrorKind::kLimit, "LIMIT", "destination mailbox is full");
  }
  auto writer =
      IndexWriter::begin(*destination.impl_->env, destination.impl_->dbs, destination.path_);
  if (!writer) return server_error(writer.error());
  if (auto caught = destination.catch_up(writer->txn()); !caught) {
    return server_error(caught.error());
  }
  MaildirKeywords keywords = MaildirKeywords::load(destination.path_);
  std::vector<UidPair> pairs;
  std::vector<std::string> created;  // removed again if the index write fails
  auto fail = [&](const Error& error) -> Result<std::vector<UidPair>> {
    for (const std::string& file : created) ::unlink(file.c_str());
    return server_error(error);
  };
  for (const MessageRecord& source : sources) {
    MaildirName parts = split_maildir_name(file_name_of(source.file));
    MessageRecord record = source;
    record.uid = writer->take_uid();
    std::string base = new_unique_name();
    if (auto stored = base_field(parts.base, 'S')) base += ",S=" + std::to_string(*stored);
    base += ",W=" + std::to_string(source.size) + ",P=" + std::to_string(record.uid);
    const std::string letters = keywords.letters_for(source.flags.keywords);
    if (Status s = keywords.save(destination.path_); !s) return fail(s.error());
    std::string name = base + ":2," + info_for_flags(source.flags.system, letters, parts.info);
    record.file = "cur/" + name;
    std::string from = path_ + "/" + source.file;
    std::string to = destination.path_ + "/" + record.file;
    registry_.expect_event(destination.impl_->wd_cur, name);
    if (::link(from.c_str(), to.c_str()) != 0) {
      if (errno == ENOENT) continue;  // expunged by another tool meanwhile
      auto bytes = read_whole(from);
      if (!bytes) {
        if (bytes.error().sys_errno == ENOENT) continue;
        return fail(bytes.error());
      }
      auto tmp = write_tmp_file(destination.path_, *bytes, source.internal_date);
      if (!tmp) return fail(tmp.error());
      if (::rename(tmp->c_str(), to.c_str()) != 0) {
        Error e = Error::system("rename " + *tmp);
        ::unlink(tmp->c_str());
        return fail(e);
      }
    }
    created.push_back(to);
    if (Status s = writer->put_new(record, base); !s) return fail(s.error());
    pairs.push_back(UidPair{source.uid, record.uid});
  }
  Status s = fsync_dir(destination.path_ + "/cur");
  if (s) {
    auto done = writer->finish();
    if (!done) s = done.error();
  }
  if (!s) return fail(s.error());
  registry_.settle_own_changes();
  if (auto caught = destination.catch_up_now(); !caught) return server_error(caught.error());
  return pairs;
}

Result<std::vector<UidPair>> Mailbox::move(const std::vector<uint32_t>& uids,
                                           Mailbox& destination) {
  // Into the same folder too (RFC 6851 allows it): new UIDs, the old ones expunged.
  auto pairs = copy(uids, destination);
  if (!pairs) return pairs.error();
  std::vector<uint32_t> sources;
  for (const UidPair& pair : *pairs) sources.push_back(pair.source);
  if (auto expunged = expunge(sources); !expunged) return expunged.error();
  return pairs;
}

Result<std::vector<uint32_t>> Mailbox::expunge(const std::vector<uint32_t>& uids) {
  if (Status s = ensure_writable(); !s) return s.error();
  if (auto synced = sync(); !synced) return synced.error();
  auto writer = IndexWriter::begin(*impl_->env, impl_->dbs, path_);
  if (!writer) return server_error(writer.error());
  if (auto caught = catch_up(writer->txn()); !caught) return server_error(caught.error());
  std::vector<uint32_t> removed;
  std::vector<uint32_t> sorted = uids;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (uint32_t uid : sorted) {
    const MessageRecord* record = find(uid);
    if (record == nullptr) continue;
    registry_.expect_event(in_new(*record) ? impl_->wd_new : impl_->wd_cur,
                           std::string(file_name_of(record->file)));
    if (::unlink((path_ + "/" + record->file).c_str()) != 0 && errno != ENOENT) {
      return server_error(Error::system("unlink " + record->file));
    }
    if (Status s = writer->expunge(*record); !s) return server_error(s.error());
    removed.push_back(uid);
  }
  if (removed.empty()) return removed;
  if (auto done = writer->finish(); !done) {
    impl_->cur_dirty = impl_->new_dirty = true;
    return server_error(done.error());
  }
  registry_.settle_own_changes();
  if (auto caught = catch_up_now(); !caught) return server_error(caught.error());
  return removed;
}

}  // namespace postern::imapd
