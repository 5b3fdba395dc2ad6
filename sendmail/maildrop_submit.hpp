// Handing a message to the queue from sendmail(1): the envelope is checked and built here, then
// written as a queue-file image to postern-postdrop's stdin; postdrop (setgid setgid_group)
// stores it in maildrop/ durably and exits 0 only then, so sendmail's exit 0 means "on disk".
// Run by sendmail(1) as the calling user. Addresses come from that user: each must parse as an
// RFC 5321 mailbox once $myorigin is appended to a bare name; at most kMaxSendmailRecipients.
// Exit codes follow sysexits.h (EX_DATAERR for a bad address, EX_TEMPFAIL when postdrop cannot
// be run or dies, postdrop's own code otherwise).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/queue/queue_file.hpp"

namespace postern::sendmail {

inline constexpr size_t kMaxSendmailRecipients = 10000;

struct LocalEnvelopeInput {
  std::string queue_id;
  int64_t now = 0;
  std::string sender;                   // "" = null sender; bare names get the origin
  std::vector<std::string> recipients;  // bare names get the origin
  std::string origin;                   // mail_origin()
  std::string notify, ret, envid, body_type;
};

// The envelope postdrop will store: addresses qualified and checked, duplicates (compared
// case-insensitively) dropped, the DSN options and body type as attributes, smtputf8=yes when
// an address is not ASCII. Errors (kParse/kLimit) name the address.
Result<QueueEnvelope> build_local_envelope(const LocalEnvelopeInput& input);

// Runs postdrop_path with "-c config_dir" and the image on its stdin; returns its exit status
// (a sysexits code), or EX_TEMPFAIL when it could not run or was killed. Its stderr is ours.
int run_postdrop(const std::string& postdrop_path, const std::string& config_dir,
                 const std::string& image);

}  // namespace postern::sendmail
