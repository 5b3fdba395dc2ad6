// The bytes of one message while milters look at it: held in memory up to 64 KiB (most mail,
// which then costs no file at all), beyond that in an anonymous file (O_TMPFILE, never a name
// in any folder) beside the queue; written as the client sends, read back by offset when the
// header fields and body chunks go to each milter, and when the final queue file is written
// with the milters' edits. Memory stays bounded by the buffer however big the message.
// Used by smtpd, submission and pickup; the bytes are the client's (wire form, CRLF lines).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lib/base/result.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern::milter {

class MessageSpool {
 public:
  // A spool whose file, once needed, is an anonymous file in dir (a unique name unlinked at
  // once where the file system has no O_TMPFILE).
  static Result<MessageSpool> create(const std::string& dir);
  MessageSpool(MessageSpool&&) noexcept = default;
  MessageSpool& operator=(MessageSpool&&) noexcept = default;

  // Never fails: a write error is remembered and reported by error().
  void append(std::string_view bytes);
  const std::optional<Error>& error() const { return error_; }
  uint64_t size() const { return size_; }
  // Up to max bytes from offset into out (replaced); fewer only at the end. Flushes first.
  Status read(uint64_t offset, size_t max, std::string& out);

 private:
  MessageSpool() = default;
  Status open_file();
  Status flush();
  std::string dir_;
  UniqueFd fd_;  // opened by the first flush
  std::string buffer_;
  uint64_t size_ = 0;     // bytes appended (written + buffered)
  uint64_t written_ = 0;  // bytes in the file
  std::optional<Error> error_;
};

}  // namespace postern::milter
