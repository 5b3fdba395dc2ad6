// The question submission asks before it takes a sender: does this authenticated login own this
// address? Asked at MAIL FROM and for every From: address. The session engine (smtpd/) only
// asks; the rules are submission's own (submission/sender_policy.*: accounts, aliases, send_as,
// smtpd_sender_login_maps), handed to SmtpServer by postern-submission's main(). postern-smtpd
// has none (port 25 does not authenticate). The address comes from the client: hostile.
#pragma once

#include <string_view>

#include "lib/base/result.hpp"

namespace postern::smtpd {

class SenderOwnership {
 public:
  virtual ~SenderOwnership() = default;
  // login: the authenticated identity ("user@domain", lower-case). address: "local@domain" as
  // the client wrote it (MAIL FROM path or From: addr-spec). An error is a lookup failure
  // (answered with a temporary refusal), never a yes.
  virtual Result<bool> owns(std::string_view login, std::string_view address) const = 0;
};

}  // namespace postern::smtpd
