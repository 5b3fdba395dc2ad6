// Bare names in the address fields of a locally submitted message get $myorigin, as Postfix's
// cleanup and exim do for mail from sendmail: "To: alice" becomes "To: alice@host.example",
// "From: root (Cron Daemon)" becomes "From: root@host.example (Cron Daemon)", so that a reply
// reaches the right place. Only the addresses change: display names, comments, quoted strings,
// groups and folding are kept as written. Fields: From, Sender, Reply-To, To, Cc, Bcc and
// their Resent- forms. Run by sendmail(1) on its caller's header section (hostile only to the
// caller; bounded by header_size_limit): text that does not look like an address list is left
// as it is.
#pragma once

#include <string>
#include <string_view>

namespace postern::sendmail {

// True for the fields whose addresses are qualified.
bool is_address_field(std::string_view name);

// value: the field's text after the colon (folding kept). Returns it with every bare
// local part (an address element with no '@' outside quotes and comments) followed by
// "@origin".
std::string qualify_address_list(std::string_view value, std::string_view origin);

}  // namespace postern::sendmail
