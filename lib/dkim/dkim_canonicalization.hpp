// DKIM canonicalization (RFC 6376 3.4): header fields simple and relaxed, and the body simple
// and relaxed, streamed in chunks of any split with the l= cut. Run by the signer and verifier
// on message text (hostile). Bounded memory: the body canonicalizer keeps a few counters and
// an output buffer of kDkimCanonBufferBytes, never the body; header fields are bounded by the
// caller (the milter's header limits).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/dkim/dkim_signature.hpp"

namespace postern {

inline constexpr size_t kDkimCanonBufferBytes = 4096;

// One header field as the milter gives it: value is everything after the colon as received,
// folding line breaks "\n" or "\r\n", no final line break.
struct DkimHeader {
  std::string name;
  std::string value;
};

// The canonical form of one header field, ending in CRLF. Bare LF in the value becomes CRLF
// first (simple keeps the folding; relaxed lower-cases the name, unfolds, reduces each run of
// SP/TAB to one SP and trims it at both ends of the value).
std::string dkim_canonicalize_header(DkimCanon canon, std::string_view name,
                                     std::string_view value);

// The body, canonicalized incrementally. Lines end in CRLF (a bare LF is taken as a line end
// too); empty lines at the end are held back and dropped; simple gives CRLF for an empty body.
// Canonical bytes go to the sink in pieces; with a limit, only the first limit bytes do.
class DkimBodyCanonicalizer {
 public:
  using Sink = std::function<void(std::string_view)>;
  DkimBodyCanonicalizer(DkimCanon canon, std::optional<uint64_t> limit, Sink sink);

  void add(std::string_view chunk);
  void finish();

  // Canonical bytes the body has in all (counting those past the limit), after finish().
  uint64_t canonical_bytes() const { return produced_; }

 private:
  void content(char c);
  void line_end();
  void emit(std::string_view bytes);
  void flush();

  DkimCanon canon_;
  std::optional<uint64_t> limit_;
  Sink sink_;
  std::string buffer_;
  uint64_t produced_ = 0;
  uint64_t blank_lines_ = 0;  // empty lines held back
  bool line_started_ = false;
  bool pending_cr_ = false;
  bool pending_space_ = false;  // relaxed: SP/TAB seen and not yet written
};

// The bytes the header hash covers (RFC 6376 3.7): for each name of h=, the last not yet used
// instance of that field (searching from the bottom), canonicalized; a name with no instance
// left contributes nothing. Then the DKIM-Signature field itself, canonicalized, with its b=
// value blanked (signature_value already blanked by the caller) and no final CRLF.
std::string dkim_header_hash_input(DkimCanon canon, const std::vector<DkimHeader>& headers,
                                   const std::vector<std::string>& signed_headers,
                                   std::string_view signature_name,
                                   std::string_view signature_value);

}  // namespace postern
