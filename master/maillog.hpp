// maillog_file (as in Postfix 3.4+): when set, Postern logs to this file instead of syslog.
// Master opens it, as root, before any worker exists, and puts it on its own stderr; every
// worker inherits it as stderr (fd 2) and, started with -S, appends each line with one write(2)
// (the file is opened O_APPEND, so lines of different processes never overwrite or interleave).
// On SIGUSR1 (`postern log reopen`, after logrotate renamed the file) master opens the path again
// and hands the new descriptor to each worker over its watch socket (fd 4, SCM_RIGHTS), and the
// worker puts it on its stderr. Workers never open the file: they have dropped to mail_owner and
// could not open a root-owned file under /var/log, before or after a rotation.
// Process: master. Trusts main.cf, but keeps a root process from writing anywhere a single
// mistake in it names: maillog_file must lie under one of maillog_file_prefixes, and is opened
// without following a symbolic link, and only if it is a regular file.
#pragma once

#include <string>

#include "lib/base/result.hpp"
#include "lib/base/unique_fd.hpp"
#include "lib/config/main_cf.hpp"

namespace postern::master {

// Postfix's name for "the standard output master was started with" (a container's log).
inline constexpr const char* kMaillogStdout = "/dev/stdout";
inline constexpr unsigned kMaillogCreateMode = 0600;

// Empty maillog_file is fine (syslog). Otherwise it must be an absolute path without "." or
// ".." components, equal to or under (by whole path components) a maillog_file_prefixes entry.
Status check_maillog_file(const MainConfig& config);

// Opens path to append (O_APPEND, close-on-exec), creating it with kMaillogCreateMode; refuses
// a symbolic link (O_NOFOLLOW) and anything but a regular file. /dev/stdout: a duplicate of our
// standard output, whatever it is.
Result<UniqueFd> open_maillog_file(const std::string& path);

}  // namespace postern::master
