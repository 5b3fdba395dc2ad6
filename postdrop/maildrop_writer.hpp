// Storing one submission in maildrop/: what postern-postdrop (setgid setgid_group, run by
// sendmail(1) for any local user) does with the queue-file image on its stdin. The bytes are the
// user's: bounded by max_bytes while they are copied, then walked by the queue-file reader
// (every record typed and bounded, 'E' last); only a complete, well-formed file is fsynced and
// renamed to maildrop/<queue ID>, and the folder fsynced, before success is returned. Anything
// else leaves nothing behind (the temporary ".<ID>.tmp" is removed; pickup removes one left by a
// killed postdrop). The file is created mode 0644 and owned by the caller: pickup reads who
// submitted it from the owner. What the records say is checked again by pickup, which trusts
// none of it.
#pragma once

#include <cstdint>
#include <string>

#include "lib/base/result.hpp"

namespace postern::postdrop {

// The room an envelope may take beside the message (recipients, attributes).
inline constexpr uint64_t kMaildropEnvelopeAllowance = 8u << 20;

// Copies input_fd to EOF into maildrop_dir; returns the new file's name (a queue ID). max_bytes
// 0 = no limit. Errors: kLimit (too big), kParse (not a complete queue file), kSystem.
Result<std::string> write_maildrop_file(const std::string& maildrop_dir, int input_fd,
                                        uint64_t max_bytes);

}  // namespace postern::postdrop
