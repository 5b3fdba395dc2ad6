// The checking half of postern-authmilter, for mail from strangers (port 25): SPF for MAIL FROM
// (and HELO when MAIL FROM is empty), every DKIM signature, the ARC chain (RFC 8617), DMARC for
// the From: domain, all through one DnsLookup session per connection so that a message's
// questions are asked once.
// The result is one Authentication-Results value with our authserv-id, and the DMARC
// disposition that dmarc_enforcement may turn into a 550 5.7.1.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/auth_session.hpp"

namespace postern::authmilter {

struct MessageFacts {
  std::string client_address;
  std::string helo_name;
  std::string sender;  // MAIL FROM, "" for <>
  std::string queue_id;
};

struct CheckOutcome {
  std::string authentication_results;  // the header value, beginning with a space
  bool dmarc_reject = false;           // the policy says reject (after pct)
  bool from_unusable = false;          // no single author domain (RFC 7489 6.6.1)
  std::string from_problem;            // why, when from_unusable
  std::string dmarc_domain;            // the From: domain, for the reply text
  std::string summary;                 // "spf=pass dkim=pass dmarc=pass" for the log
};

class MessageCheck {
 public:
  static std::unique_ptr<MessageCheck> start(const AuthServices& services, MessageFacts facts,
                                             const std::vector<HeaderField>& headers);
  virtual ~MessageCheck() = default;
  virtual void body(std::string_view chunk) = 0;
  virtual CheckOutcome finish(DnsLookup& dns) = 0;
};

}  // namespace postern::authmilter
