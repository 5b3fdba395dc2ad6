// The RFC5322.From domain of a message, as DKIM signing and DMARC need it: the message's one
// From: field holding exactly one address (RFC 7489 6.6.1), its domain lower-cased. Anything
// else gives "" and why. The header is the client's: parse_address_list bounds it.
#pragma once

#include <string>
#include <vector>

#include "authmilter/auth_session.hpp"

namespace postern::authmilter {

std::string author_domain(const std::vector<HeaderField>& headers, std::string& why);

}  // namespace postern::authmilter
