// MIME structure of one message (RFC 2045, 2046, 2231; RFC 6532 message/global): the parts, as
// byte offsets into the message as IMAP shows it (CRLF line ends; a bare LF is accepted too), with
// the Content-* fields each part's BODYSTRUCTURE needs. No body is copied. Used by imapd (FETCH
// BODYSTRUCTURE/BODY[...]/BINARY, SEARCH) and later by the milters. The message is hostile: the
// parser never fails, it degrades. Limits (MimeLimits): nesting depth, number of parts and header
// fields read per part; past them the rest is kept as an opaque leaf body. One pass over the
// lines, boundaries matched against a bounded stack: linear in the message size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern {

struct MimeLimits {
  uint32_t max_depth = 50;            // nesting (multipart and message/rfc822 levels); root is 0
  uint32_t max_parts = 10000;         // parts in the whole tree, root included
  uint32_t max_header_fields = 1000;  // fields looked at per header (the rest stay bytes only)
};

struct MimeParameter {
  std::string name;   // as written, RFC 2231 "*<n>" continuation suffixes merged away
  std::string value;  // quoted strings unquoted; an RFC 2231 extended value stays "name*" with
                      // the raw charset'lang'%XX text (as IMAP servers send it)
};

inline constexpr uint32_t kNoMimePart = UINT32_MAX;

struct MimePart {
  uint32_t parent = kNoMimePart;
  uint32_t depth = 0;
  // multipart: its parts (at least one: a multipart without any gets one empty text/plain
  // part, as Dovecot shows it); message/rfc822|global: one (the embedded message).
  std::vector<uint32_t> children;

  // Offsets into the message. [header_start, header_end) is the header INCLUDING the empty line
  // that ends it (IMAP HEADER and MIME sections); body_start == header_end; [body_start,
  // body_end) is the body without the line end that belongs to the following boundary.
  size_t header_start = 0;
  size_t header_end = 0;
  size_t body_start = 0;
  size_t body_end = 0;
  uint64_t body_lines = 0;  // lines of the body, as IMAP counts them for text/* and message/rfc822

  // Content-Type as written (IMAP shows the case the sender used; compare with is_type());
  // defaulted per RFC 2045/2046 (text/plain; in a multipart/digest, message/rfc822) when absent
  // or unreadable. "text" alone gives subtype "" (as Dovecot shows it).
  std::string type = "text";
  std::string subtype = "plain";
  std::vector<MimeParameter> type_params;
  bool type_defaulted = true;  // no usable Content-Type field

  std::optional<std::string> content_id;           // values as written, unfolded, trimmed
  std::optional<std::string> description;
  std::optional<std::string> transfer_encoding;    // as written (IMAP shows it), trimmed
  std::optional<std::string> md5;
  std::optional<std::string> location;
  std::optional<std::string> disposition;          // the token, as written
  std::vector<MimeParameter> disposition_params;
  std::vector<std::string> languages;

  // Type (and subtype, unless empty) equal ASCII case-insensitively.
  bool is_type(std::string_view want_type, std::string_view want_subtype = {}) const;
  bool is_multipart() const { return is_type("multipart"); }
  // message/rfc822 or message/global whose embedded message was parsed (children[0]).
  bool is_message() const { return !children.empty() && !is_multipart(); }
  size_t body_size() const { return body_end - body_start; }
};

struct MimeTree {
  std::vector<MimePart> parts;  // parts[0] is the message itself; children after their parents
  bool limited = false;         // a limit was met: some structure was kept as opaque bytes
};

// Parses a whole message. Never fails; the tree holds offsets into message, which the caller
// keeps alive and unchanged while it uses the tree.
MimeTree parse_mime(std::string_view message, const MimeLimits& limits = {});

// A parameter's value by name (ASCII case-insensitive), or nullopt.
std::optional<std::string_view> mime_param(const std::vector<MimeParameter>& params,
                                           std::string_view name);

// One header field of a part, views into the message: name as written, value raw (folding
// line ends kept, without the field's final line end).
struct MimeHeaderField {
  std::string_view name;
  std::string_view value;
  std::string_view raw;  // the whole field with its final line end, as in the message
};

// The header fields in [header_start, header_end): tolerant (a line without a colon is skipped,
// as are continuation lines before the first field); at most max_fields are returned.
std::vector<MimeHeaderField> mime_header_fields(std::string_view message, const MimePart& part,
                                                size_t max_fields = 100000);

// The part addressed by an IMAP section part number ("1.2.3" -> {1, 2, 3}; empty: the message).
// RFC 3501 6.4.5: a non-multipart message (or embedded message) has part 1 = its body; the part
// numbers of a message/rfc822 part address the parts of the embedded message; a leaf part's
// part 1 is the part itself (as Dovecot answers). nullopt when the part does not exist.
std::optional<uint32_t> find_mime_part(const MimeTree& tree, const std::vector<uint32_t>& path);

}  // namespace postern
