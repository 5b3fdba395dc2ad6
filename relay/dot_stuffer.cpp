// Streaming dot-stuffing for postern-relay's DATA (see dot_stuffer.hpp).
#include "relay/dot_stuffer.hpp"

namespace postern::relay {

void DotStuffer::encode(std::string_view bytes, std::string& out) {
  if (bytes.empty()) return;
  empty_ = false;
  out.reserve(out.size() + bytes.size() + 16);
  size_t start = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    char c = bytes[i];
    if (line_start_ && c == '.') {
      out.append(bytes.substr(start, i - start));
      out.push_back('.');  // the doubled dot; the original follows with the next copy
      start = i;
    }
    line_start_ = c == '\n';
    saw_crlf_ = line_start_ && saw_cr_;
    saw_cr_ = c == '\r';
  }
  out.append(bytes.substr(start));
}

void DotStuffer::finish(std::string& out) {
  if (!empty_ && !saw_crlf_) {
    // A last line without its CRLF (or ending in a bare LF): close it, so that the terminator
    // is CRLF.CRLF for every receiver (after a lone CR, only the LF is missing).
    out.append(saw_cr_ ? "\n" : "\r\n");
  }
  out.append(".\r\n");
  line_start_ = true;
}

}  // namespace postern::relay
