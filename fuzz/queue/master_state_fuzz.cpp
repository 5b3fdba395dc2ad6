// libFuzzer target for parse_master_state: pid/master.state as `postern status` reads it. The
// file is master's, but the reader treats it as damaged or planted: it must refuse or accept
// without crashing, keep its limits, and what it accepts must format to a canonical form that
// parses back to the same text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "lib/queue/master_state.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  postern::Result<postern::MasterState> state = postern::parse_master_state(text);
  if (!state) return 0;
  if (state->services.size() > postern::kMaxStateServices || state->pid <= 0) std::abort();
  std::string canonical = postern::format_master_state(*state);
  postern::Result<postern::MasterState> again = postern::parse_master_state(canonical);
  if (!again) std::abort();
  if (postern::format_master_state(*again) != canonical) std::abort();
  return 0;
}
