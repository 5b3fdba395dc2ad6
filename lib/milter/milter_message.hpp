// One message as the milters see and change it: the header fields in order (name and raw
// value, held in memory, bounded), the body left in the spool file (or, once a milter replaced
// it, in a spool file of its own), and the edits a milter may make at end of message: add,
// insert and change (or delete) a header field, replace the body. At the end it writes the
// message as edited, in wire form, to a sink (the queue file writer). Used by the milter chain
// for smtpd, submission and pickup.
// Both the client's bytes and the milters' edits are hostile: the header section is bounded
// (kMaxHeaderSectionBytes, kMaxHeaderFields; the rest counts as body), a value from a milter
// is cleaned so that it can never end the field or the header section early (a line break is
// always followed by white space, bare CR and NUL are dropped), and a replaced body is bounded
// by the size limit the caller gives.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/milter/message_spool.hpp"

namespace postern::milter {

inline constexpr size_t kMaxHeaderSectionBytes = 1024 * 1024;
inline constexpr size_t kMaxHeaderFields = 10000;

struct HeaderField {
  std::string name;
  // Everything after the colon up to the end of the field, folds (CRLF + white space) kept,
  // the final CRLF not: " value" as in the message.
  std::string value;
  // One of the MTA's own fields (own_header): never shown to a milter, never changed by one.
  // A flag, not a position: a milter may insert fields above ours (insert at index 0).
  bool hidden = false;
};

class MilterMessage {
 public:
  // Takes the header section from the start of spool; the spool must outlive the message.
  // own_header: the MTA's own header fields (our Received:, CRLF lines), on top of the message
  // and never shown to a milter, though an insert index counts them (as with Postfix).
  static Result<MilterMessage> read(MessageSpool& spool, std::string spool_dir,
                                    std::string_view own_header);

  // Every field in order, ours included: the milters see those that are not hidden.
  const std::vector<HeaderField>& headers() const { return headers_; }
  // A value as a milter receives it: folds as bare LF (as Postfix and Sendmail send them);
  // without the leading-space option, the white space after the colon removed.
  static std::string value_for_milter(std::string_view value, bool leading_space);
  // A value from a milter as it will be stored: " " added unless leading_space, LF made CRLF,
  // every continuation line starting with white space.
  static std::string value_from_milter(std::string_view value, bool leading_space);

  uint64_t body_size() const;
  // Up to max bytes of the body from offset (out replaced; empty at the end).
  Status read_body(uint64_t offset, size_t max, std::string& out);

  // End-of-message edits. Indexes as libmilter documents them: insert at position index of the
  // header list (0 = first, above our own fields; our fields count); change the index-th
  // (1-based) field of that name among the fields milters see, deleting it when value is
  // empty, adding one when there are fewer.
  void add_header(std::string_view name, std::string_view value, bool leading_space);
  void insert_header(uint32_t index, std::string_view name, std::string_view value,
                     bool leading_space);
  void change_header(std::string_view name, uint32_t index, std::string_view value,
                     bool leading_space);
  // A milter's SMFIR_REPLBODY pieces: the first piece of each milter's replacement starts a new
  // body (begin_body_replacement), later pieces append. Past size_limit (0 = none): an error.
  Status begin_body_replacement();
  Status append_body_replacement(std::string_view piece, uint64_t size_limit);
  bool edited() const { return edited_; }

  // The whole message in wire form: header fields, the empty line, the body.
  Status write(const std::function<Status(std::string_view)>& sink);

 private:
  MilterMessage(MessageSpool& spool, std::string spool_dir)
      : spool_(&spool), spool_dir_(std::move(spool_dir)) {}
  MessageSpool* spool_;
  std::string spool_dir_;
  std::vector<HeaderField> headers_;
  bool has_separator_ = false;  // an empty line ended the header section
  // The message has no header field and its first line starts with white space: after a field
  // a milter adds, that line would read as the field's fold, so write() puts the empty line
  // before it.
  bool body_starts_with_wsp_ = false;
  uint64_t body_offset_ = 0;  // where the body starts in spool_
  std::optional<MessageSpool> replaced_body_;
  bool edited_ = false;
};

}  // namespace postern::milter
