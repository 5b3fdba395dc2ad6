// libFuzzer target for cli/log_trace: the log lines `postern why` reads (a log holds whatever
// anyone managed to get logged). Input: first byte = length of the queue ID searched for (the
// next bytes), the rest is the log, split at newlines. The trace must stay within its limits,
// keep only lines of the IDs it follows, and print nothing but printable bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cli/log_trace.hpp"

using namespace postern::cli;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t id_bytes = data[0] % (kMaxQueueIdBytes + 2);
  if (size < 1 + id_bytes) return 0;
  std::string queue_id(reinterpret_cast<const char*>(data + 1), id_bytes);
  if (!is_searchable_queue_id(queue_id)) return 0;
  std::string_view log(reinterpret_cast<const char*>(data + 1 + id_bytes), size - 1 - id_bytes);
  MessageTrace trace(queue_id);
  while (!log.empty()) {
    size_t newline = log.find('\n');
    trace.feed(log.substr(0, newline), "fuzz.log");
    if (newline == std::string_view::npos) break;
    log.remove_prefix(newline + 1);
  }
  if (trace.lines().size() > kMaxTraceLines) std::abort();
  if (trace.queue_ids().size() > kMaxTracedQueueIds || trace.queue_ids()[0] != queue_id) {
    std::abort();
  }
  for (const TracedLine& line : trace.lines()) {
    if (text_queue_id(line.line.text) != line.queue_id) std::abort();
    bool followed = false;
    for (const std::string& id : trace.queue_ids()) followed = followed || id == line.queue_id;
    if (!followed) std::abort();
    for (char c : line.raw) {
      auto byte = static_cast<unsigned char>(c);
      if ((byte < 0x20 && byte != '\t') || byte >= 0x7f) std::abort();
    }
  }
  return 0;
}
