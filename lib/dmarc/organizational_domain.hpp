// The organizational domain of a DNS name (RFC 7489 3.2): the public suffix that matches the
// most labels, plus one label. DMARC uses it for relaxed alignment and to find a policy when the
// From: domain publishes none. Run by postern-authmilter for every From:, SPF and DKIM domain
// of a message; the names come from the message and DNS and are hostile: a name longer than
// kMaxDnsNameBytes or with an empty label has no organizational domain.
//
// The Public Suffix List comes from libpsl (psl_latest: the newest of its built-in list and the
// Debian publicsuffix package's /usr/share/publicsuffix list), loaded once per process on first
// use or by preload_public_suffix_list(), which a daemon calls before it chroots. libpsl
// applies the list's implicit "*" rule, so a name under a TLD the list does not name has the
// TLD as its suffix: a.b.good.test -> good.test.
#pragma once

#include <string>
#include <string_view>

#include "lib/base/result.hpp"

namespace postern {

// Loads the list now; an error when libpsl has none (no built-in list and no file).
Status preload_public_suffix_list();

// Lower-cased, without a trailing dot. A name that is itself a public suffix ("co.uk") is its
// own organizational domain. Errors: a malformed name, or no list.
Result<std::string> organizational_domain(std::string_view domain);

// The lower-cased name without one trailing dot, or an error when it is not a usable domain
// (empty, an empty label, over the DNS length limits).
Result<std::string> normalize_dmarc_domain(std::string_view domain);

}  // namespace postern
