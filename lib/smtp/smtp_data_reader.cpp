// SMTP DATA decoding: a state machine over the byte stream, run by smtpd for every message.
// Hostile input. Inside a line it jumps with memchr to the next LF, then checks with one more
// memchr that the only CR before it is the one right before it; unchanged bytes go to the sink
// as spans of the input (one call per input chunk, plus one per removed dot), never byte by byte.
// No buffering: the only state carried between calls is one enum, so memory is constant.
#include "lib/smtp/smtp_data_reader.hpp"

#include <cstring>

namespace postern {

void SmtpDataReader::reset() {
  state_ = State::kLineStart;
  message_bytes_ = 0;
}

DataFeedResult SmtpDataReader::feed(std::string_view input, const Sink& sink) {
  const char* data = input.data();
  const size_t size = input.size();
  size_t pos = 0;
  size_t span_start = 0;  // first byte not yet given to the sink
  auto flush = [&](size_t end) {
    if (end > span_start) {
      sink(std::string_view(data + span_start, end - span_start));
      message_bytes_ += end - span_start;
    }
    span_start = end;
  };

  while (pos < size) {
    switch (state_) {
      case State::kLineStart:
        if (data[pos] == '.') {
          flush(pos);
          ++pos;
          span_start = pos;  // the dot is dropped (stuffing, or the start of the end)
          state_ = State::kDot;
        } else {
          state_ = State::kText;
        }
        break;

      case State::kDot:
        if (data[pos] == '\r') {
          flush(pos);
          ++pos;
          span_start = pos;  // hold the CR back: with a LF next, this is the end
          state_ = State::kDotCr;
        } else {
          state_ = State::kText;
        }
        break;

      case State::kDotCr:
        if (data[pos] == '\n') {
          flush(pos);  // nothing: the CR was held back and is dropped with the dot
          ++pos;
          state_ = State::kLineStart;
          return {pos, DataEvent::kEnd};
        }
        if (forbid_bare_newline_) {
          flush(pos);
          return {pos, DataEvent::kBareCr};
        }
        flush(pos);
        sink(std::string_view("\r", 1));  // the held CR was data after all
        ++message_bytes_;
        state_ = State::kText;
        break;

      case State::kCr:
        if (data[pos] == '\n') {
          ++pos;
          state_ = State::kLineStart;
        } else if (forbid_bare_newline_) {
          flush(pos);
          return {pos, DataEvent::kBareCr};
        } else {
          state_ = State::kText;
        }
        break;

      case State::kText: {
        const void* lf_found = std::memchr(data + pos, '\n', size - pos);
        const size_t lf =
            lf_found ? static_cast<size_t>(static_cast<const char*>(lf_found) - data) : size;
        if (forbid_bare_newline_) {
          // The only CR allowed in [pos, lf) is the last byte: before the LF, or before the end
          // of this input (its LF may come next time).
          const void* cr_found = std::memchr(data + pos, '\r', lf - pos);
          if (cr_found) {
            size_t cr = static_cast<size_t>(static_cast<const char*>(cr_found) - data);
            if (cr + 1 != lf) {
              flush(cr);
              return {cr, DataEvent::kBareCr};
            }
          }
        }
        if (lf_found) {
          if (lf > pos && data[lf - 1] == '\r') {  // a proper CRLF line end
            pos = lf + 1;
            state_ = State::kLineStart;
          } else if (forbid_bare_newline_) {
            flush(lf);
            return {lf, DataEvent::kBareLf};
          } else {
            pos = lf + 1;  // a bare LF is a data byte
          }
        } else {
          pos = size;
          if (data[size - 1] == '\r') state_ = State::kCr;
        }
        break;
      }
    }
  }
  flush(size);
  return {size, DataEvent::kNeedMore};
}

}  // namespace postern
