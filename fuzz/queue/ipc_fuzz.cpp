// libFuzzer target for decode_attr_payload: every IPC record a Postern process receives.
// The input is hostile; the decoder must refuse or accept without crashing or over-reading,
// and an accepted record must encode back to exactly the same bytes (one canonical form).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "lib/queue/ipc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view payload(reinterpret_cast<const char*>(data), size);
  postern::Result<postern::AttrRecord> record = postern::decode_attr_payload(payload);
  if (!record) return 0;
  if (record->attributes().size() > postern::kMaxIpcAttributes) std::abort();
  std::string frame = record->encode();
  if (std::string_view(frame).substr(4) != payload) std::abort();
  return 0;
}
