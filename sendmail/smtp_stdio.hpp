// sendmail -bs: SMTP on stdin/stdout, as a local program (or inetd-style wrapper) speaks it.
// Each accepted message goes through LocalSubmitter (maildrop/, postdrop), so 250 after DATA
// means the message is on disk. Run by sendmail(1) as the calling user, who is trusted no more
// than with -bm: no AUTH, no relay decision here (the queue routes as for any local mail).
// Bounds: command lines kMaxStdioLineBytes (then 500), message_size_limit (then 552), the
// recipients of maildrop_submit, kMaxStdioErrors bad commands (then 421 and exit). Bare names
// ("<root>") get $myorigin as with -bm.
#pragma once

#include <cstdio>

#include "sendmail/local_submit.hpp"

namespace postern::sendmail {

inline constexpr size_t kMaxStdioLineBytes = 2048;
inline constexpr int kMaxStdioErrors = 20;

// Returns the exit status: 0 after QUIT or EOF, EX_PROTOCOL after too many errors.
int run_smtp_stdio(std::FILE* in, std::FILE* out, const LocalSubmitter& submitter,
                   const SendmailOptions& options, const MainConfig& config);

}  // namespace postern::sendmail
