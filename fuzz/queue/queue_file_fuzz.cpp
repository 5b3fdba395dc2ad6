// libFuzzer target for parse_queue_file: the reader qmgr, delivery and relay run on every
// queue file. The input is hostile; the parser must reject or accept it without crashing,
// reading out of bounds or allocating beyond its limits. An accepted image must be
// self-consistent: chunk offsets and status/schedule offsets inside the image.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "lib/queue/queue_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view image(reinterpret_cast<const char*>(data), size);
  std::vector<std::pair<uint64_t, uint32_t>> chunks;
  postern::Result<postern::QueueEnvelope> env = postern::parse_queue_file(image, &chunks);
  if (!env) return 0;
  uint64_t total = 0;
  for (const auto& [offset, length] : chunks) {
    if (offset + length > size || length > postern::kMaxMessageChunkBytes) std::abort();
    total += length;
  }
  if (total != env->message_bytes) std::abort();
  if (env->schedule_offset + 16 > size) std::abort();
  for (const postern::QueueRecipient& rcpt : env->recipients) {
    if (rcpt.status_offset >= size || image[rcpt.status_offset] != static_cast<char>(rcpt.status)) {
      std::abort();
    }
  }
  return 0;
}
