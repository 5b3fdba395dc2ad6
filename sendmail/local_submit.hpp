// One message from a local program to maildrop/: sendmail(1)'s common path for -bm (stdin) and
// -bs (SMTP on stdin). Completes the header section (local_message), works out the envelope
// (maildrop_submit: -f or the caller's login name, the recipients of the command line or SMTP
// plus, with -t, those of the header), and runs postdrop. Run by sendmail(1) as the calling
// user; the caller's identity comes from getuid(), never from the environment.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/config/main_cf.hpp"
#include "sendmail/sendmail_options.hpp"

namespace postern::sendmail {

struct Caller {
  std::string login;      // getpwuid(getuid()), or "uid<N>" when the user has no entry
  std::string full_name;  // the GECOS field up to its first ','
};
Caller current_caller();

class LocalSubmitter {
 public:
  LocalSubmitter(const MainConfig& config, std::string config_dir, Caller caller);

  // Queues wire (CRLF lines, no dot-stuffing). recipients: addresses as given (bare names
  // allowed). Returns a sysexits code; on failure the reason went to stderr as "sendmail: ...".
  int submit(const SendmailOptions& options, const std::optional<std::string>& sender,
             std::vector<std::string> recipients, std::string_view wire) const;

  const std::string& origin() const { return origin_; }
  std::string default_sender() const { return caller_.login; }

 private:
  const MainConfig& config_;
  std::string config_dir_;
  Caller caller_;
  std::string origin_;
};

}  // namespace postern::sendmail
