// The SMTP DATA stream decoder (RFC 5321 4.1.1.4, 4.5.2): removes dot-stuffing, finds the end
// of data (exactly CRLF "." CRLF) and detects bare LF / bare CR (SMTP smuggling,
// CVE-2023-51764). Used by smtpd (and later submission) between the "354" and the end. The bytes
// come from the network and are hostile. A byte-stream state machine, not a line reader: a line
// may be of any length, memory use is constant (the bytes pass through as spans of the input),
// and the message size is bounded by the caller (message_size_limit) on what the sink receives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace postern {

enum class DataEvent {
  kNeedMore,  // every byte given was consumed; the end was not seen yet
  kEnd,       // the final CRLF.CRLF was consumed; bytes after it are not ours
  kBareLf,    // a LF not preceded by CR (only when bare newlines are forbidden)
  kBareCr,    // a CR not followed by LF (only when bare newlines are forbidden)
};

struct DataFeedResult {
  size_t consumed = 0;  // bytes of this input used (on kEnd: up to and including the final LF)
  DataEvent event = DataEvent::kNeedMore;
};

class SmtpDataReader {
 public:
  // Receives message bytes in wire form (CRLF line ends, dot-stuffing removed, the final
  // ".CRLF" left out). Spans point into the input given to feed() and live only for the call.
  using Sink = std::function<void(std::string_view)>;

  // forbid_bare_newline=false: a bare LF or CR is passed on as a data byte; it never ends a
  // line, so it can neither start dot-unstuffing nor end the data.
  explicit SmtpDataReader(bool forbid_bare_newline) : forbid_bare_newline_(forbid_bare_newline) {}

  // Feeds the next bytes. Stop feeding after kEnd (call reset() for the next message) and after
  // kBareLf / kBareCr (the session is dropped).
  DataFeedResult feed(std::string_view input, const Sink& sink);
  void reset();
  // Bytes handed to the sink since the last reset.
  uint64_t message_bytes() const { return message_bytes_; }

 private:
  enum class State {
    kLineStart,  // at the start of a line (right after the DATA command or a CRLF)
    kText,       // inside a line
    kCr,         // the last byte seen was a CR inside a line (already given to the sink)
    kDot,        // a '.' at the start of a line was seen (and dropped)
    kDotCr,      // ".", CR at the start of a line: the CR is held back, it may end the data
  };
  bool forbid_bare_newline_;
  State state_ = State::kLineStart;
  uint64_t message_bytes_ = 0;
};

}  // namespace postern
