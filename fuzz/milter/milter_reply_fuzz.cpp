// libFuzzer target for what a milter sends the MTA: the byte stream is cut into packets by
// MilterPacketReader (fed in two pieces, split where the first byte says), each packet decoded
// by decode_reply, and an option-negotiation reply checked by negotiate. A milter is remote
// and untrusted: any verdict is fine, a crash, a sanitizer report or an unbounded buffer is
// not. Invariants: the reader never holds more than one packet's bytes beyond a length it
// accepted, and a negotiation it agrees to never grants more than was offered.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "lib/milter/milter_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace postern::milter;
  if (size == 0) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t split = bytes.empty() ? 0 : data[0] % (bytes.size() + 1);
  const uint32_t offered_actions = kAllMilterActions & ~(data[0] & 0x0fu);
  const uint32_t offered_protocol = kAllMilterProtocolFlags & ~((data[0] & 0xf0u) << 16);
  MilterPacketReader reader;
  for (std::string_view piece : {bytes.substr(0, split), bytes.substr(split)}) {
    reader.feed(piece);
    while (auto next = reader.next()) {
      if (!next->ok()) return 0;  // the connection would be dropped here
      postern::Result<MilterReply> reply = decode_reply(**next);
      if (!reply || reply->kind != MilterReply::Kind::kOptionNegotiation) continue;
      postern::Result<MilterNegotiation> agreed =
          negotiate(*reply, offered_actions, offered_protocol);
      if (agreed && ((agreed->actions & ~offered_actions) != 0 ||
                     (agreed->protocol & ~offered_protocol) != 0)) {
        std::abort();
      }
    }
    if (reader.buffered() > kMaxMilterPacketBytes + 4) std::abort();
  }
  return 0;
}
