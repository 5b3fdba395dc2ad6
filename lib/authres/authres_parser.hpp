// Reads Authentication-Results (RFC 8601 2.2) and ARC-Authentication-Results (RFC 8617 4.1.1:
// the same payload after "i=N;") header values. postern-authmilter reads them to remove forged
// ones that claim our authserv-id, and the ARC code reads the AAR of each ARC set. Every such
// header comes from the message, so it is hostile: the value is bounded
// (kMaxAuthResValueBytes), comments are skipped with a bounded nesting depth
// (kMaxAuthResCommentDepth), and the resinfo count, property count and each item's length are
// bounded; past a limit the value does not parse (a kLimit error), as it does for any syntax
// error. Property values are read leniently (any run of visible characters but ; ( ) " \)
// because real verifiers write base64 in header.b without quoting it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/authres/authres_types.hpp"
#include "lib/base/result.hpp"

namespace postern {

inline constexpr size_t kMaxAuthResValueBytes = 16384;
inline constexpr size_t kMaxAuthResCommentDepth = 8;  // nested comments "(a (b (c)))"
inline constexpr size_t kMaxAuthResInfos = 64;        // resinfo clauses in one value
inline constexpr size_t kMaxAuthResProperties = 16;   // properties in one resinfo
inline constexpr size_t kMaxAuthResItemBytes = 1024;  // one id, keyword, reason or value
inline constexpr uint32_t kMaxArcInstance = 50;       // RFC 8617 4.2.1: i= is 1..50

enum class AuthResultsKind {
  kAuthenticationResults,     // "authserv-id [version]; resinfo; ..."
  kArcAuthenticationResults,  // "i=N; authserv-id [version]; resinfo; ..."
};

struct AuthResults {
  uint32_t arc_instance = 0;             // i= of an ARC-Authentication-Results, 0 otherwise
  std::string authserv_id;               // unquoted, as written (compare case-insensitively)
  std::string version;                   // digits, "" when absent
  std::vector<AuthResultsInfo> results;  // empty for "; none"
};

Result<AuthResults> parse_auth_results(
    std::string_view value, AuthResultsKind kind = AuthResultsKind::kAuthenticationResults);

// True when an Authentication-Results value claims to come from our_id (RFC 8601 5: such a
// header arriving from outside is forged and must be removed). Compared case-insensitively,
// with or without a version, after any leading CFWS. A value that does not parse is judged by
// its first token alone, so a broken header naming us is removed too.
bool claims_authserv_id(std::string_view header_value, std::string_view our_id);

}  // namespace postern
