// IMAP command syntax (RFC 3501/9051 section 9, RFC 7888 LITERAL+/LITERAL-, RFC 3516 binary
// literals): the bytes a client sends, cut into commands, each a tag, a name and a tree of
// generic arguments. Used by imapd (and its fuzz target); what an argument means (a FETCH item,
// a SEARCH key, a sequence set) is read from the tree by lib/imap/imap_fetch_items,
// lib/imap/imap_search_keys and lib/imap/imap_sequence_set. Everything here is hostile input: every
// length, count and depth is bounded by ImapParserLimits before anything is buffered, and a
// malformed command is an error for that command only (the reader resynchronises at the next
// line) unless the stream itself cannot be trusted any more (a literal too large to skip).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern {

struct ImapParserLimits {
  size_t max_line_bytes = 65536;         // one line of a command (between literals)
  size_t max_literal_bytes = 65536;      // a literal in any command but APPEND
  size_t max_append_literal_bytes = 10240000;  // APPEND's message (message_size_limit)
  size_t max_command_bytes = 1024 * 1024;  // all lines of one command, literals but APPEND's
  size_t max_depth = 16;                 // nested parentheses/brackets
  size_t max_tokens = 100000;            // tokens in one command
  size_t max_tag_bytes = 64;
};

// One argument. An atom keeps its text as sent (case too); "BODY[HEADER.FIELDS (A B)]<0.10>"
// is ONE atom: a '[' inside an atom opens a section that runs, balanced, to its ']', spaces
// and parentheses included, and a following "<...>" belongs to it as well.
struct ImapToken {
  enum class Kind { kAtom, kQuoted, kLiteral, kList, kNil };
  Kind kind = Kind::kAtom;
  std::string text;               // atom, quoted (unescaped) or literal bytes; "" for list/nil
  bool binary_literal = false;    // ~{n}: may hold NUL (RFC 3516)
  std::vector<ImapToken> children;  // kList

  bool is_atom() const { return kind == Kind::kAtom; }
  bool is_string() const { return kind == Kind::kQuoted || kind == Kind::kLiteral; }
  // atom (NIL included: it is "NIL" here), quoted or literal ("astring"): the text; nullopt
  // for a list. Where NIL means an nstring's nil, test kind == Kind::kNil first.
  std::optional<std::string_view> astring() const;
  // An atom equal to word, ASCII case-insensitively.
  bool is_word(std::string_view word) const;
};

struct ImapCommand {
  std::string tag;
  std::string name;                 // upper-cased: "FETCH", "UID" is folded: see uid
  bool uid = false;                 // "UID FETCH ..." -> name "FETCH", uid true
  std::vector<ImapToken> args;      // everything after the name
};

// What the reader needs from its owner while a command arrives.
enum class ImapReadState {
  kNeedMore,        // feed more bytes
  kCommand,         // take_command() has a complete command
  kContinuation,    // a synchronising literal {n} was accepted: send "+ <text>" and feed more
  kError,           // take_error(): the command is refused; the reader has resynchronised
  kFatal,           // take_error(): the stream cannot be followed (say BYE and close)
};

struct ImapSyntaxError {
  std::string tag;      // "*" when the tag itself was unreadable
  std::string message;  // text for "TAG BAD <message>" (or "* BYE <message>" when fatal)
  // RFC 7888: a non-synchronising literal over the limit was announced: the bytes follow
  // anyway; the reader skips them when they fit kMaxSkipBytes, else the error is fatal.
};

// Incremental command reader, one per connection. Feed it bytes as they arrive (any split,
// even one byte at a time); it never holds more than the limits allow.
class ImapCommandReader {
 public:
  static constexpr size_t kMaxSkipBytes = 16 * 1024 * 1024;

  explicit ImapCommandReader(ImapParserLimits limits = {});

  // Consumes as much of data as it can; *consumed says how much. Call again with the rest when
  // the state is kCommand/kContinuation/kError (after handling it).
  ImapReadState feed(std::string_view data, size_t* consumed);
  ImapCommand take_command();
  ImapSyntaxError take_error();
  // The text after "+ " for a continuation request.
  std::string_view continuation_text() const;
  // After "AUTHENTICATE" and during IDLE the next line is not a command: read one raw line.
  // The reader then returns kCommand with name "" and the line (without CRLF) in args[0].text.
  void expect_raw_line();
  // Bytes held for the command under way (for memory accounting and tests).
  size_t buffered_bytes() const;
  // New limits for the next literal and line (imapd: APPEND's size only after login).
  void set_limits(const ImapParserLimits& limits) { limits_ = limits; }
  const ImapParserLimits& limits() const { return limits_; }

 private:
  enum class Phase { kTag, kName, kUidName, kArgs };
  enum class Mode { kLine, kLiteral, kSkipLiteral, kDiscardLine };

  ImapReadState process_line(std::string_view line);
  bool tokenize(std::string_view text);  // false: error_ is set
  bool read_quoted(std::string_view text, size_t* pos, std::string* out);
  bool read_atom(std::string_view text, size_t* pos, std::string* out);
  bool add_token(ImapToken token);
  ImapReadState fail(std::string message);
  ImapReadState fail_and_resync(std::string message, std::string_view line);
  ImapReadState after_discarded_line(std::string_view tail);
  ImapReadState finish_command();
  void reset_command();
  std::string tag_guess(std::string_view line) const;

  ImapParserLimits limits_;
  Mode mode_ = Mode::kLine;
  Phase phase_ = Phase::kTag;
  std::string line_;          // a line under way when the input split it
  std::string discard_tail_;  // the last bytes of a line being discarded (its literal marker)
  ImapCommand command_;       // tag, name, uid of the command under way
  std::vector<ImapToken> stack_;  // [0]: the argument list; then each open "("
  ImapToken* literal_ = nullptr;  // the literal being filled (in stack_.back().children)
  bool command_started_ = false;
  bool discarding_command_ = false;  // after an error: skip to the end of the command
  size_t command_bytes_ = 0;
  size_t held_bytes_ = 0;  // text and literal bytes in the tree under way
  size_t tokens_ = 0;
  uint64_t literal_remaining_ = 0;
  std::string continuation_;
  std::optional<ImapCommand> ready_;
  std::optional<ImapSyntaxError> error_;
  bool raw_line_ = false;
  bool discarding_raw_line_ = false;  // the line being discarded was a raw line (no literal)
};

// Parses one whole command from text with its literals inline ("{3}\r\nabc") and no
// continuation requests: for tests and the fuzz target.
Result<ImapCommand> parse_imap_command(std::string_view text, const ImapParserLimits& limits = {});

// Writing: an astring as an atom when it can be one, else a quoted string when it can be one,
// else a literal "{n}\r\n..." (literal8 "~{n}" when it holds NUL).
std::string imap_quote(std::string_view text);
// NIL for nullopt, else a quoted string or literal.
std::string imap_nstring(const std::optional<std::string>& text);

}  // namespace postern
