// The tag=value lists of DKIM (RFC 6376 3.2): the DKIM-Signature header field's value and the
// key record published in DNS. Run by the DKIM signer and verifier (postern-authmilter). The
// text comes from a message or a DNS answer and is hostile: the tag count, a tag name and a
// value are bounded (kMaxDkimTags, kMaxDkimTagNameBytes, kMaxDkimTagValueBytes), only the
// characters of the grammar are accepted, and a tag given twice is an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern {

inline constexpr size_t kMaxDkimTags = 64;
inline constexpr size_t kMaxDkimTagNameBytes = 32;
inline constexpr size_t kMaxDkimTagValueBytes = 16384;

struct DkimTag {
  std::string name;   // case-sensitive, as written ("v", "bh")
  std::string value;  // without the whitespace around it; inner folding whitespace kept
  // Where the raw value lies in the parsed text: from just after '=' to just before the ';'
  // that ends the tag (or the end), surrounding whitespace included. The verifier blanks this
  // span of b= (RFC 6376 3.7 step 2).
  size_t raw_begin = 0;
  size_t raw_end = 0;
};

class DkimTagList {
 public:
  // Parses tag-list = tag-spec *( ";" tag-spec ) [ ";" ]. Whitespace (SP, TAB, CRLF or LF
  // folding) may surround names, '=' and values. An empty text is an empty list.
  static Result<DkimTagList> parse(std::string_view text);

  const std::vector<DkimTag>& tags() const { return tags_; }
  const DkimTag* find(std::string_view name) const;

 private:
  std::vector<DkimTag> tags_;
};

// The value with every whitespace character (SP, TAB, CR, LF) removed: base64 values (b=, bh=,
// p=) may be folded anywhere.
std::string dkim_strip_whitespace(std::string_view value);

// A tag value of decimal digits (t=, x=, l=, i=): at most max_digits of them, named tag in the
// error. Shared by DKIM-Signature and the ARC headers.
Result<uint64_t> dkim_parse_digits(std::string_view text, size_t max_digits, const char* tag);

// Splits a colon-separated value (h=, q=, the key's h= s= t=) into its items, each trimmed of
// whitespace. "a : b" gives {"a", "b"}; an empty item is kept as "".
std::vector<std::string> dkim_split_colon_list(std::string_view value);

}  // namespace postern
