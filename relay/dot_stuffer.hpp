// The DATA encoder of postern-relay: message bytes as the queue file holds them (wire form, CRLF
// lines, no dot-stuffing) in, SMTP DATA bytes out (RFC 5321 4.5.2: a '.' that starts a line is
// doubled), fed chunk by chunk so a message never has to be in memory at once; the state (are we
// at the start of a line?) carries across chunk boundaries. A line starts after every LF, bare
// or not, so a receiver that ends lines at a bare LF cannot be made to see an early end of data
// (SMTP smuggling). finish() ends the data with CRLF.CRLF whatever the last line held and adds the
// ".\r\n" terminator. Trusts nothing about the bytes; output is at most 2x input plus 5 bytes.
#pragma once

#include <string>
#include <string_view>

namespace postern::relay {

class DotStuffer {
 public:
  // Appends the encoded form of the next message bytes to out.
  void encode(std::string_view bytes, std::string& out);
  // Appends the end of the data: CRLF when the message did not end with one, then ".\r\n".
  void finish(std::string& out);
  void reset() { *this = DotStuffer(); }

 private:
  bool line_start_ = true;
  bool saw_cr_ = false;    // the last byte was CR (a CRLF may be split across chunks)
  bool saw_crlf_ = false;  // the last two bytes were CR LF
  bool empty_ = true;
};

}  // namespace postern::relay
