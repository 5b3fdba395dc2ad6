// The LMDB index of one imapd folder ("<folder>/postern-index", MDB_NOSUBDIR): the databases
// and the binary forms of what they hold. Used by imapd's Mailbox (mail_store_*.cpp,
// index_writer.hpp) in postern-imapd; several imapd processes may open the same file (LMDB
// serialises writers).
// The file is ours but may be damaged or from a later version: every decode checks lengths
// and the version byte and fails with an Error rather than reading past a value.
//
// Databases: meta (uidvalidity, uidnext, highestmodseq, firstrecent, reserved: u64 values),
// uids (uid BE32 -> record), names (file base name -> uid BE32), changes (modseq BE64 -> uid
// BE32 + state byte: one entry per UID, its last change), expunged (uid BE32 -> modseq BE64),
// cache (uid BE32 + kind byte -> text).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "imapd/mailbox_types.hpp"
#include "lib/store/lmdb.hpp"
#include "lib/base/result.hpp"

namespace postern::imapd {

// Keys of the meta database.
inline constexpr std::string_view kMetaUidvalidity = "uidvalidity";
inline constexpr std::string_view kMetaUidnext = "uidnext";
inline constexpr std::string_view kMetaHighestModseq = "highestmodseq";
inline constexpr std::string_view kMetaFirstRecent = "firstrecent";
inline constexpr std::string_view kMetaReserved = "reserved";

inline constexpr size_t kIndexMapBytes = size_t{4} << 30;  // address space; the file grows as used

struct IndexDbs {
  MDB_dbi meta = 0;
  MDB_dbi uids = 0;
  MDB_dbi names = 0;
  MDB_dbi changes = 0;
  MDB_dbi expunged = 0;
  MDB_dbi cache = 0;
};

// Opens (creating) the environment and its databases.
Result<LmdbEnv> open_index(const std::string& file, IndexDbs* dbs);

std::string uid_key(uint32_t uid);        // 4 bytes big-endian
std::string modseq_key(uint64_t modseq);  // 8 bytes big-endian
Result<uint32_t> decode_uid(std::string_view bytes);
Result<uint64_t> decode_modseq(std::string_view bytes);
std::string cache_key(uint32_t uid, CacheKind kind);

std::string encode_u64(uint64_t value);
Result<uint64_t> decode_u64(std::string_view bytes);

// A change log value: the UID and whether it was expunged.
std::string encode_change(uint32_t uid, bool expunged);
Result<std::pair<uint32_t, bool>> decode_change(std::string_view bytes);

std::string encode_record(const MessageRecord& record);
Result<MessageRecord> decode_record(uint32_t uid, std::string_view bytes);

// meta value as u64, fallback when absent.
Result<uint64_t> meta_get(const LmdbTxn& txn, const IndexDbs& dbs, std::string_view key,
                          uint64_t fallback);
Status meta_put(LmdbTxn& txn, const IndexDbs& dbs, std::string_view key, uint64_t value);

}  // namespace postern::imapd
