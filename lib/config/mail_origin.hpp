// The domain that local mail gets when an address has none: $myorigin, where a value that
// starts with '/' names a file whose first line is the domain (Debian's myorigin = /etc/mailname,
// as Postfix reads it). Used by sendmail(1) and pickup for bare addresses such as "root" and
// for the default sender. The file is the admin's; only its first line is read (bounded), and a
// missing or empty file falls back to $myhostname.
#pragma once

#include <string>

#include "lib/config/main_cf.hpp"

namespace postern {

inline constexpr size_t kMaxMailOriginFileBytes = 4096;

// Lower-cased, surrounding white space removed.
std::string mail_origin(const MainConfig& config);

}  // namespace postern
