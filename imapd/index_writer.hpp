// IndexWriter: one write transaction on a folder's LMDB index (mailbox_index.hpp) with the
// counters it advances (UIDNEXT, HIGHESTMODSEQ), used by the mail store's scan and writes
// (mail_store_*.cpp). finish() writes the counters back, raising the UID reservation in
// "postern-uids" first when the UIDs reached it, and commits; dropping it unfinished aborts.
// Trusts its caller (records are ours); runs on imapd's event loop.
#pragma once

#include <cstdint>
#include <string>

#include "imapd/mail_store.hpp"
#include "imapd/mailbox_index.hpp"
#include "imapd/maildir_files.hpp"
#include "lib/store/lmdb.hpp"
#include "lib/base/result.hpp"

namespace postern::imapd {

class IndexWriter {
 public:
  IndexWriter(LmdbTxn txn, const IndexDbs& dbs, const std::string& folder, uint64_t modseq,
              uint32_t uidnext, uint64_t reserved, uint32_t uidvalidity)
      : txn_(std::move(txn)),
        dbs_(&dbs),
        folder_(&folder),
        modseq_(modseq),
        uidnext_(uidnext),
        first_uidnext_(uidnext),
        reserved_(reserved),
        uidvalidity_(uidvalidity) {}

  static Result<IndexWriter> begin(const LmdbEnv& env, const IndexDbs& dbs,
                                   const std::string& folder) {
    auto txn = LmdbTxn::begin(env, false);
    if (!txn) return txn.error();
    auto modseq = meta_get(*txn, dbs, kMetaHighestModseq, 1);
    auto uidnext = meta_get(*txn, dbs, kMetaUidnext, 1);
    auto reserved = meta_get(*txn, dbs, kMetaReserved, 1);
    auto uidvalidity = meta_get(*txn, dbs, kMetaUidvalidity, 0);
    if (!modseq) return modseq.error();
    if (!uidnext) return uidnext.error();
    if (!reserved) return reserved.error();
    if (!uidvalidity) return uidvalidity.error();
    return IndexWriter(std::move(*txn), dbs, folder, *modseq, static_cast<uint32_t>(*uidnext),
                       *reserved, static_cast<uint32_t>(*uidvalidity));
  }

  LmdbTxn& txn() { return txn_; }
  uint32_t uidnext() const { return uidnext_; }
  uint32_t take_uid() { return uidnext_++; }
  size_t writes() const { return writes_; }

  Status put_new(MessageRecord& record, const std::string& base) {
    record.modseq = ++modseq_;
    ++writes_;
    if (Status s = txn_.put(dbs_->uids, uid_key(record.uid), encode_record(record)); !s) return s;
    if (Status s = txn_.put(dbs_->names, base, uid_key(record.uid)); !s) return s;
    return txn_.put(dbs_->changes, modseq_key(record.modseq), encode_change(record.uid, false));
  }

  // record replaces old (same uid); bump: a new MODSEQ (flags changed).
  Status update(const MessageRecord& old, MessageRecord& record, bool bump) {
    ++writes_;
    std::string old_base = record_base(old);
    std::string base = record_base(record);
    if (old_base != base) {
      if (Status s = txn_.del(dbs_->names, old_base); !s) return s;
      if (Status s = txn_.put(dbs_->names, base, uid_key(record.uid)); !s) return s;
    }
    // A flag change (bump) gets a new MODSEQ. So does a moved file without one: other
    // processes must reload the record, and clients get no more than a FETCH of the same flags.
    if (bump || old_base != base) {
      if (Status s = txn_.del(dbs_->changes, modseq_key(old.modseq)); !s) return s;
      record.modseq = ++modseq_;
      if (Status s =
              txn_.put(dbs_->changes, modseq_key(record.modseq), encode_change(record.uid, false));
          !s) {
        return s;
      }
    }
    return txn_.put(dbs_->uids, uid_key(record.uid), encode_record(record));
  }

  Status expunge(const MessageRecord& old) {
    ++writes_;
    uint64_t modseq = ++modseq_;
    if (Status s = txn_.del(dbs_->uids, uid_key(old.uid)); !s) return s;
    if (Status s = txn_.del(dbs_->names, record_base(old)); !s) return s;
    for (CacheKind kind : kAllCacheKinds) {
      if (Status s = txn_.del(dbs_->cache, cache_key(old.uid, kind)); !s) return s;
    }
    if (Status s = txn_.del(dbs_->changes, modseq_key(old.modseq)); !s) return s;
    if (Status s = txn_.put(dbs_->changes, modseq_key(modseq), encode_change(old.uid, true)); !s) {
      return s;
    }
    return txn_.put(dbs_->expunged, uid_key(old.uid), encode_u64(modseq));
  }

  Result<bool> is_expunged(uint32_t uid) const {
    auto got = txn_.get(dbs_->expunged, uid_key(uid));
    if (!got) return got.error();
    return got->has_value();
  }

  // Writes the counters, raises the reservation (postern-uids) first when UIDs reached it.
  Result<uint64_t> finish() {
    if (writes_ == 0 && uidnext_ == first_uidnext_) return reserved_;  // nothing to commit
    if (uidnext_ >= reserved_) {
      uint64_t reserved = uint64_t{uidnext_} + kUidReserveStep;
      if (Status s = write_uids_file(*folder_, UidsFile{uidvalidity_, reserved}); !s) {
        return s.error();
      }
      reserved_ = reserved;
      if (Status s = meta_put(txn_, *dbs_, kMetaReserved, reserved_); !s) return s.error();
    }
    if (Status s = meta_put(txn_, *dbs_, kMetaUidnext, uidnext_); !s) return s.error();
    if (Status s = meta_put(txn_, *dbs_, kMetaHighestModseq, modseq_); !s) return s.error();
    if (Status s = txn_.commit(); !s) return s.error();
    return reserved_;
  }

 private:
  LmdbTxn txn_;
  const IndexDbs* dbs_;
  const std::string* folder_;
  uint64_t modseq_;
  uint32_t uidnext_;
  uint32_t first_uidnext_;
  uint64_t reserved_;
  uint32_t uidvalidity_;
  size_t writes_ = 0;
};

}  // namespace postern::imapd
