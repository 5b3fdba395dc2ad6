// Mailbox content: the message files as stored and as IMAP shows them, and the texts cached
// per message in the index (ENVELOPE, BODYSTRUCTURE, SEARCH's header fields), written in one
// transaction per command. Limits: kMaxMessageFileBytes, kMaxCachedBytes, the pending bounds
// in mail_store.hpp.
#include <cerrno>

#include "imapd/index_writer.hpp"
#include "imapd/mail_store_internal.hpp"
#include "imapd/maildir_files.hpp"
#include "lib/base/log.hpp"

namespace postern::imapd {

Result<std::string> Mailbox::read_file(uint32_t uid) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const MessageRecord* record = find(uid);
    if (record == nullptr) break;
    auto bytes = read_whole(path_ + "/" + record->file);
    if (bytes) return bytes;
    if (bytes.error().sys_errno != ENOENT) return server_error(bytes.error());
    // Renamed or removed by another tool: catch up once and look again.
    impl_->new_dirty = impl_->cur_dirty = true;
    if (auto synced = sync(); !synced) return synced.error();
  }
  return store_error(ErrorKind::kNotFound, "EXPUNGEISSUED", "message was expunged");
}

Result<std::string> Mailbox::message_bytes(uint32_t uid) {
  auto bytes = read_file(uid);
  if (!bytes) return bytes.error();
  std::string shown = lf_to_crlf(*bytes);
  const MessageRecord* record = find(uid);
  if (record != nullptr && record->size != shown.size()) {
    // A W= that lied (another tool's file): keep the index true to the file.
    log::warning("imapd: {}/{} size was {}, is {}", path_, record->file, record->size,
                 shown.size());
    auto writer = IndexWriter::begin(*impl_->env, impl_->dbs, path_);
    if (writer) {
      MessageRecord fixed = *record;
      fixed.size = shown.size();
      if (writer->update(*record, fixed, true) && writer->finish()) (void)catch_up_now();
    }
  }
  return shown;
}

std::optional<std::string> Mailbox::cached(uint32_t uid, CacheKind kind) {
  std::string key = cache_key(uid, kind);
  auto pending = impl_->cache_pending.find(key);
  if (pending != impl_->cache_pending.end()) {
    if (find(uid) == nullptr) return std::nullopt;  // expunged before the write
    return pending->second;
  }
  auto txn = LmdbTxn::begin(*impl_->env, true);
  if (!txn) return std::nullopt;
  auto got = txn->get(impl_->dbs.cache, key);
  if (!got || !*got) return std::nullopt;
  return std::string(**got);
}

Status Mailbox::store_cached(uint32_t uid, CacheKind kind, std::string_view text) {
  if (text.size() > kMaxCachedBytes || deleted_) return Status::success();
  auto [it, added] = impl_->cache_pending.try_emplace(cache_key(uid, kind), text);
  if (!added) return Status::success();
  impl_->cache_pending_bytes += it->first.size() + it->second.size();
  if (registry_.base_ == nullptr || impl_->cache_pending.size() >= kMaxPendingCacheEntries ||
      impl_->cache_pending_bytes >= kMaxPendingCacheBytes) {
    return flush_cache();
  }
  if (!impl_->cache_flush_event) {
    impl_->cache_flush_event.reset(
        event_new(registry_.base_, -1, 0, &Mailbox::on_cache_flush, this));
  }
  if (impl_->cache_flush_event &&
      !event_pending(impl_->cache_flush_event.get(), EV_TIMEOUT, nullptr)) {
    struct timeval now {};
    event_add(impl_->cache_flush_event.get(), &now);
  }
  return Status::success();
}

void Mailbox::on_cache_flush(int, short, void* arg) {
  auto* self = static_cast<Mailbox*>(arg);
  if (Status s = self->flush_cache(); !s) {
    log::warning("imapd: cache write failed in {}: {}", self->path_, s.error().describe());
  }
}

Status Mailbox::flush_cache() {
  std::map<std::string, std::string> pending;
  pending.swap(impl_->cache_pending);
  impl_->cache_pending_bytes = 0;
  if (pending.empty() || deleted_ || !impl_->env) return Status::success();
  auto txn = LmdbTxn::begin(*impl_->env, false);
  if (!txn) return server_error(txn.error());
  for (const auto& [key, text] : pending) {
    // Only for messages still present: an expunge may have come between.
    auto present = txn->get(impl_->dbs.uids, std::string_view(key).substr(0, 4));
    if (!present) return server_error(present.error());
    if (!*present) continue;
    if (Status s = txn->put(impl_->dbs.cache, key, text); !s) return server_error(s.error());
  }
  if (Status s = txn->commit(); !s) return server_error(s.error());
  return Status::success();
}

}  // namespace postern::imapd
