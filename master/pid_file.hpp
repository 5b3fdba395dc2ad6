// $queue_directory/pid/master.pid: the lock that keeps a second master off the same queue, and
// the pid an admin or script reads. Process: master. Trusts the queue folder (created by us).
#pragma once

#include <sys/types.h>

#include <string>

#include "lib/base/result.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern::master {

class PidFile {
 public:
  // Opens (creating) path and takes an exclusive, non-blocking flock. When another master
  // holds it: an Error (kind kTemporary) saying "master already running (pid N)".
  static Result<PidFile> lock(const std::string& path);
  PidFile(PidFile&& other) noexcept;
  PidFile& operator=(PidFile&& other) noexcept;
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;
  // Removes the file (while still holding the lock), then closes it.
  ~PidFile();

  Status write_pid(pid_t pid);
  const std::string& path() const { return path_; }

 private:
  PidFile(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  UniqueFd fd_;
};

}  // namespace postern::master
