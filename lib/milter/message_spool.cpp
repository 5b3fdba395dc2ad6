// The spool of a message under milter inspection (see message_spool.hpp).
#include "lib/milter/message_spool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace postern::milter {
namespace {
constexpr size_t kBufferBytes = 64 * 1024;
}

Result<MessageSpool> MessageSpool::create(const std::string& dir) {
  MessageSpool spool;
  spool.dir_ = dir;
  return spool;
}

Status MessageSpool::open_file() {
  fd_.reset(::open(dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd_) return Status::success();
  std::string path = dir_ + "/.milter-spool.XXXXXX";
  int fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) return Error::system("create a spool file in " + dir_);
  ::unlink(path.c_str());
  fd_.reset(fd);
  return Status::success();
}

void MessageSpool::append(std::string_view bytes) {
  size_ += bytes.size();
  if (error_) return;
  buffer_.append(bytes);
  if (buffer_.size() >= kBufferBytes) {
    if (Status st = flush(); !st) error_ = st.error();
  }
}

Status MessageSpool::flush() {
  if (!fd_) {
    if (Status st = open_file(); !st) return st;
  }
  size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = ::pwrite(fd_.get(), buffer_.data() + done, buffer_.size() - done,
                         static_cast<off_t>(written_ + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::system("write the milter spool file");
    }
    done += static_cast<size_t>(n);
  }
  written_ += buffer_.size();
  buffer_.clear();
  return Status::success();
}

Status MessageSpool::read(uint64_t offset, size_t max, std::string& out) {
  out.clear();
  if (error_) return *error_;
  if (!fd_) {  // all of it is still in memory
    if (offset < buffer_.size()) {
      out.assign(buffer_, static_cast<size_t>(offset),
                 std::min<size_t>(max, buffer_.size() - static_cast<size_t>(offset)));
    }
    return Status::success();
  }
  if (!buffer_.empty()) {
    if (Status st = flush(); !st) {
      error_ = st.error();
      return st;
    }
  }
  if (offset >= written_) return Status::success();
  size_t want = static_cast<size_t>(std::min<uint64_t>(max, written_ - offset));
  out.resize(want);
  size_t got = 0;
  while (got < want) {
    ssize_t n = ::pread(fd_.get(), out.data() + got, want - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::system("read the milter spool file");
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return Status::success();
}

}  // namespace postern::milter
