// The resinfo of an SPF result for an Authentication-Results header field (RFC 8601 2.7.2):
// "spf=pass smtp.mailfrom=user@example.org", or "spf=none smtp.helo=mail.example.org" for the
// HELO identity and MAIL FROM:<>. Used by postern-authmilter when it writes the field. The
// address and HELO are the client's (hostile): a value that is not a plain token or
// local@domain is written as a quoted-string, and control octets become '?', so nothing the
// client sent can end the header line or add a property.
#pragma once

#include <string>

#include "lib/spf/spf_evaluator.hpp"

namespace postern::spf {

std::string spf_resinfo(const SpfResult& result, const SpfRequest& request);

}  // namespace postern::spf
