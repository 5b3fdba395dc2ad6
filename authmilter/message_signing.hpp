// The signing half of postern-authmilter: for a message that is ours (message_role.hpp), the
// DKIM-Signature header(s) to add — one per key held for the signing domain, so a domain with
// an RSA and an Ed25519 key is dual-signed. The signing domain is the From: domain when we hold
// a key for it or for a parent domain (relaxed alignment, RFC 7489 3.1.1), else the domain of
// the authenticated login. Mail whose From: is missing, repeated or unparseable, or whose domain
// has no key, goes out unsigned with a log line saying why. The body is hashed as it arrives.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/auth_session.hpp"
#include "lib/base/result.hpp"

namespace postern::authmilter {

class MessageSigning {
 public:
  // Null, with why_not set, when there is nothing to sign with.
  static std::unique_ptr<MessageSigning> start(const AuthServices& services,
                                               const std::vector<HeaderField>& headers,
                                               const ClientFacts& client, std::string& why_not);
  virtual ~MessageSigning() = default;
  virtual void body(std::string_view chunk) = 0;
  // The DKIM-Signature values, in the order to insert them at the top.
  virtual Result<std::vector<std::string>> finish(const std::vector<HeaderField>& headers) = 0;
  virtual const std::string& domain() const = 0;
};

}  // namespace postern::authmilter
