// libFuzzer target for lib/smtp/smtp_data_reader.cpp, the DATA decoder smtpd runs on every message
// byte a client sends. The first input byte picks the mode (bare newlines forbidden or not) and
// where to split the rest in two feeds. Besides crashes and sanitizer reports it checks:
// splitting never changes the result; nothing past the end is consumed; with bare newlines
// forbidden the output has only CRLF line ends; and a decoded message, dot-stuffed again and
// terminated, decodes to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lib/smtp/smtp_data_reader.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

struct Decoded {
  std::string message;
  postern::DataEvent event = postern::DataEvent::kNeedMore;
  size_t consumed = 0;
};

Decoded decode(std::string_view input, size_t split, bool forbid) {
  postern::SmtpDataReader reader(forbid);
  Decoded out;
  auto sink = [&](std::string_view bytes) { out.message.append(bytes); };
  for (std::string_view part : {input.substr(0, split), input.substr(split)}) {
    postern::DataFeedResult result = reader.feed(part, sink);
    check(result.consumed <= part.size());
    out.consumed += result.consumed;
    if (result.event != postern::DataEvent::kNeedMore) {
      out.event = result.event;
      break;
    }
    check(result.consumed == part.size());
  }
  check(reader.message_bytes() == out.message.size());
  return out;
}

std::string stuff(std::string_view message) {
  std::string out;
  bool line_start = true;
  for (size_t i = 0; i < message.size(); ++i) {
    if (line_start && message[i] == '.') out.push_back('.');
    out.push_back(message[i]);
    line_start = message[i] == '\n' && i > 0 && message[i - 1] == '\r';
  }
  return out + ".\r\n";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool forbid = data[0] & 1;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t split = input.empty() ? 0 : (data[0] >> 1) % (input.size() + 1);

  Decoded whole = decode(input, input.size(), forbid);
  Decoded parts = decode(input, split, forbid);
  check(whole.event == parts.event);
  if (whole.event == postern::DataEvent::kEnd) {
    check(whole.consumed == parts.consumed && whole.message == parts.message);
    std::string_view taken = input.substr(0, whole.consumed);
    check(taken.size() >= 3 && taken.substr(taken.size() - 3) == ".\r\n");
    if (forbid) {
      for (size_t i = 0; i < whole.message.size(); ++i) {
        if (whole.message[i] == '\n') check(i > 0 && whole.message[i - 1] == '\r');
        if (whole.message[i] == '\r')
          check(i + 1 < whole.message.size() && whole.message[i + 1] == '\n');
      }
      check(whole.message.empty() || whole.message.size() >= 2);
      std::string again = stuff(whole.message);
      Decoded round = decode(again, again.size() / 2, forbid);
      check(round.event == postern::DataEvent::kEnd);
      check(round.message == whole.message && round.consumed == again.size());
    }
  }
  return 0;
}
