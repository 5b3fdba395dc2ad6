// The outcome of checking one DKIM signature, with RFC 8601 result names, and its
// Authentication-Results resinfo text ("dkim=pass header.d=example.org header.s=sel
// header.a=rsa-sha256 header.b=AbCdEfGh"). Built by the verifier; written into the header the
// milter adds. Fields come from a hostile signature: only text that passed the parser's checks
// is stored, and resinfo() writes a field only when it is safe as a token or quoted-string.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace postern {

inline constexpr size_t kDkimHeaderBChars = 12;  // header.b: at least 8 (RFC 6008 4)

enum class DkimStatus { kNone, kPass, kFail, kNeutral, kPolicy, kTemperror, kPermerror };

std::string_view dkim_status_name(DkimStatus status);  // "pass", "permerror", ...

struct DkimResult {
  DkimStatus status = DkimStatus::kNone;
  std::string reason;     // why, for everything but pass and none ("body hash did not verify")
  std::string domain;     // d= (lower-cased), empty when it could not be read
  std::string identity;   // i= decoded (or "@" + d=)
  std::string selector;   // s= (lower-cased)
  std::string algorithm;  // "rsa-sha256", "ed25519-sha256", "rsa-sha1"; empty when unknown
  std::string b_prefix;   // the first kDkimHeaderBChars characters of b=
  int key_bits = 0;       // size of the key used; 0 when no key was loaded
  bool testing = false;   // the key record says t=y

  // RFC 8601 resinfo: "dkim=<result>" [reason="..."] header.d= header.i= header.s= header.a=
  // header.b=, each present when known.
  std::string resinfo() const;
};

}  // namespace postern
