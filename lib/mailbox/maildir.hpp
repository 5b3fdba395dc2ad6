// Maildir++ storage: where a mailbox lives ($virtual_mailbox_base/<domain>/<user>/), unique
// file names, and the write protocol (tmp/, fsync, rename into new/, fsync new/). Used by
// delivery (writes) and later imapd (same layout, folders as ".Sent", ".Trash"...).
// Mailbox names come from our own accounts db, but are still checked defensively: no "/", no
// NUL, no leading '.', no "..": a name can never leave the mail base. Writes are buffered up to
// kMaildirWriteBufferBytes; CRLF -> LF conversion is streaming and keeps a CR split across
// chunks.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "lib/base/result.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern {

inline constexpr size_t kMaildirWriteBufferBytes = 64 * 1024;
inline constexpr size_t kMaxMailboxNameBytes = 255;

// "$base/<domain>/<user>" for mailbox "user@domain" (domain lower-cased). Error (kPermanent)
// when either part is empty, too long, or could escape the base ("/", NUL, leading '.').
Result<std::string> maildir_path(std::string_view base, std::string_view mailbox);

// Creates the Maildir (and its <domain>/ parent) with tmp/ new/ cur/, mode 0700, and fsyncs
// each parent whose entries changed. The base itself must exist.
Status create_maildir(const std::string& base, const std::string& maildir);

// Streaming CRLF -> LF. A CR at the end of one chunk is held until the next one shows whether
// an LF follows; a CR not followed by LF is kept as it is.
class CrlfToLf {
 public:
  void feed(std::string_view chunk, std::string& out);
  void finish(std::string& out);

 private:
  bool held_cr_ = false;
};

// The unique part of a Maildir file name: "<sec>.M<usec>P<pid>Q<counter>.<host>" (host with
// '/' and ':' escaped as the Maildir spec asks).
std::string maildir_unique_name(int64_t seconds, int64_t micros, int64_t pid, uint64_t counter,
                                std::string_view host);

// One message being written into one Maildir. Move-only; the tmp/ file is unlinked unless
// commit() succeeded.
class MaildirMessage {
 public:
  // Opens "<maildir>/tmp/<unique>" (O_EXCL). When the Maildir does not exist yet, creates it
  // under base (see create_maildir) and tries again.
  static Result<MaildirMessage> create(const std::string& base, const std::string& maildir,
                                       std::string_view host);
  MaildirMessage(MaildirMessage&& other) noexcept;
  MaildirMessage& operator=(MaildirMessage&& other) noexcept;
  MaildirMessage(const MaildirMessage&) = delete;
  MaildirMessage& operator=(const MaildirMessage&) = delete;
  ~MaildirMessage();

  Status write(std::string_view bytes);
  uint64_t size() const { return size_; }
  // Flushes, fsyncs, renames to "new/<unique>,S=<size>". The caller fsyncs new/ (once per
  // folder for a batch: see new_dir()). Returns the final path.
  Result<std::string> commit();
  std::string new_dir() const { return maildir_ + "/new"; }

 private:
  MaildirMessage() = default;
  Status write_all(std::string_view bytes);
  Status flush();
  void discard();
  std::string base_;
  std::string maildir_;
  std::string unique_;
  std::string tmp_path_;
  UniqueFd fd_;
  std::string buffer_;
  uint64_t size_ = 0;
  bool committed_ = false;
};

}  // namespace postern
