// DKIM signing (RFC 6376 5, RFC 8463): one DKIM-Signature per signing identity over a message
// the milter streams in, the body hashed as it arrives (never kept). Run by postern-authmilter
// for mail our users submit, so the message is the user's (trusted to be mail, not to be
// well-formed: a message without From is refused, RFC 6376 5.4). Keys are loaded by the caller
// (dkim_private_key); the signer borrows them. Bounded by kMaxDkimSigningIdentities.
//
// Signed header fields: each name of signed_headers is listed as many times as it occurs;
// then each name of oversigned_headers is listed once more, so that a field of that name added
// later breaks the signature (RFC 6376 8.15). Tags are written v a c d [i] [q] s t [x] h bh b,
// folded below 78 columns with CRLF and a TAB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/dkim/dkim_body_hash.hpp"
#include "lib/dkim/dkim_canonicalization.hpp"
#include "lib/dkim/dkim_private_key.hpp"

namespace postern {

inline constexpr size_t kMaxDkimSigningIdentities = 8;
inline constexpr size_t kDkimFoldColumns = 78;  // lines stay shorter than this

struct DkimSigningIdentity {
  std::string domain;    // d=
  std::string selector;  // s=
  const DkimPrivateKey* key = nullptr;
  std::string identity;  // i=, written only when not empty (must be within d=)
};

std::vector<std::string> dkim_default_signed_headers();      // From, To, Subject, Date, ...
std::vector<std::string> dkim_default_oversigned_headers();  // From To Subject Date Message-ID
                                                             // Reply-To

struct DkimSignOptions {
  DkimCanon header_canon = DkimCanon::kRelaxed;
  DkimCanon body_canon = DkimCanon::kRelaxed;
  std::vector<std::string> signed_headers = dkim_default_signed_headers();
  std::vector<std::string> oversigned_headers = dkim_default_oversigned_headers();
  int64_t timestamp = 0;                    // t=, seconds since the epoch (the caller's clock)
  int64_t expiry_seconds = 0;               // x= = t= + this; 0 writes no x=
  bool write_query_method = false;          // q=dns/txt (the default; RFC 8463 A.3 writes it)
  std::string header_list_separator = ":";  // ":" or " : " (RFC 8463 A.3's form)
};

class DkimSigner {
 public:
  DkimSigner(std::vector<DkimSigningIdentity> identities, DkimSignOptions options);

  void add_body(std::string_view chunk);
  // The DKIM-Signature header VALUES (each beginning with a space, folded with CRLF TAB), RSA
  // keys first, then Ed25519, each group in the order given. Fails when the message has no
  // From or the options would not sign it, when there is no identity, an identity has no key
  // or a bad domain/selector, or a key cannot sign.
  Result<std::vector<std::string>> finish(const std::vector<DkimHeader>& headers);

 private:
  std::vector<DkimSigningIdentity> identities_;
  DkimSignOptions options_;
  DkimBodyHash body_hash_;
};

}  // namespace postern
