// Message files and per-folder files of imapd's Maildirs, for the mail store
// (mail_store_*.cpp): reading a message whole or counting its CRLF size, writing tmp/ files
// fsynced, unique names, and the two small files beside a folder's index: "postern-uids"
// (UIDVALIDITY and the UID reservation) and the user's "postern-uidvalidity" counter, and the
// atomic replacement they (and dovecot-keywords) are written with. File
// names and contents are hostile (another tool may have written them): sizes are bounded and
// parses checked. Runs on imapd's event loop (one thread: read buffers are reused).
#pragma once

#include <sys/stat.h>
#include <time.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "imapd/mailbox_types.hpp"
#include "lib/base/result.hpp"

namespace postern::imapd {

inline constexpr uint64_t kMaxMessageFileBytes = uint64_t{512} << 20;  // a message read whole
inline constexpr mode_t kFileMode = 0600;
inline constexpr mode_t kDirMode = 0700;

std::string_view file_name_of(std::string_view file);  // "cur/x" -> "x"
std::string record_base(const MessageRecord& record);   // its file's base name (before ":2,")
bool in_new(const MessageRecord& record);                // its file is in new/
int32_t zone_minutes_at(int64_t seconds);                // local UTC offset then, in minutes
std::string new_unique_name();                           // a Maildir unique name for tmp/
int64_t timespec_nanos(const struct timespec& ts);
bool same_time(const struct timespec& a, const struct timespec& b);

struct CountedFile {
  uint64_t crlf_size = 0;
  int64_t mtime = 0;
};
// The CRLF size and mtime of a message file, reading it once.
Result<CountedFile> count_file(const std::string& path);
// The whole file ([LIMIT] past kMaxMessageFileBytes).
Result<std::string> read_whole(const std::string& path);
Status write_all(int fd, std::string_view bytes, const std::string& path);
// Writes bytes to "<folder>/tmp/<unique>", mtime = mtime_seconds, fsynced. Returns the tmp path.
Result<std::string> write_tmp_file(const std::string& folder, std::string_view bytes,
                                   int64_t mtime_seconds);

// A new folder's UIDVALIDITY: the time, but always above the last one given out in this
// user's Maildir ("<root>/postern-uidvalidity", under flock), so a folder deleted and created
// again within a second still gets a greater value (RFC 3501 2.3.1.1), and no two folders of
// a user share one.
Result<uint32_t> next_uidvalidity(const std::string& folder);

// "<folder>/postern-uids": the folder's UIDVALIDITY and the UIDs reserved so far.
struct UidsFile {
  uint32_t uidvalidity = 0;
  uint64_t reserved = 0;
};
Result<UidsFile> read_uids_file(const std::string& folder);
Status write_uids_file(const std::string& folder, const UidsFile& uids);  // replace_file

// "<folder>/<name>" replaced by text: written to a tmp name, fsynced, renamed over it, and the
// folder fsynced.
Status replace_file(const std::string& folder, std::string_view name, std::string_view text);

}  // namespace postern::imapd
