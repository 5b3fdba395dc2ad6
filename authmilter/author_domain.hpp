// The RFC5322.From domain of a message, as DKIM signing and DMARC need it. The header is the
// sender's, and a From: that a strict parser refuses but a mail reader still shows would let a
// forger step around DMARC, so the reading is lenient, as OpenDMARC's is: the strict address
// list first (parse_address_list); when that fails, every addr-spec that can be picked out of
// the text outside quoted strings and comments ("Mail From:<joe@joe.com>", "<<<><a@b.c>>>").
// Exactly one From: field is required, and all its addresses must share one domain (RFC 7489
// 6.6.1: several domains may be refused; we give no author domain, which dmarc_enforcement
// turns into a refusal). Anything else gives "" and why. Bounded by the header size limit of
// the caller and by kMaxFromAddresses.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "authmilter/auth_session.hpp"

namespace postern::authmilter {

inline constexpr size_t kMaxFromAddresses = 100;

std::string author_domain(const std::vector<HeaderField>& headers, std::string& why);

// The addr-specs the lenient reading picks out of one From: value (exposed for tests).
std::vector<std::string> lenient_from_addresses(std::string_view value);

}  // namespace postern::authmilter
