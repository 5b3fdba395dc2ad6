// libFuzzer target for the control requests and replies of private/qmgr (`postern queue
// delete|hold|release|requeue|flush`): qmgr decodes requests, the postern command decodes
// replies. The input is one IPC payload (lib/queue/ipc.hpp), hostile. Each decoder must refuse or
// accept without crashing; an accepted request must stay within its bounds and encode to a
// record that decodes to the same request (what qmgr acts on is what was asked).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "lib/queue/ipc.hpp"
#include "lib/queue/queue_control.hpp"

namespace {

bool same(const postern::ControlRequest& a, const postern::ControlRequest& b) {
  return a.action == b.action && a.queue_ids == b.queue_ids && a.match.sender == b.match.sender &&
         a.match.recipient == b.match.recipient;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace postern;
  std::string_view payload(reinterpret_cast<const char*>(data), size);
  Result<AttrRecord> record = decode_attr_payload(payload);
  if (!record) return 0;

  if (Result<ControlRequest> request = decode_control_request(*record); request) {
    if (request->queue_ids.empty() || request->queue_ids.size() > kMaxControlIds) std::abort();
    Result<ControlRequest> again = decode_control_request(encode_control_request(*request));
    if (!again || !same(*request, *again)) std::abort();
    // The same record read as qmgr's reply to that request.
    (void)decode_control_reply(*record, *request);
  }
  if (Result<FlushRequest> flush = decode_flush_request(*record); flush) {
    if (flush->domain && flush->domain->size() > kMaxControlAddressBytes) std::abort();
  }
  ControlRequest sent;
  sent.action = ControlAction::kHold;
  sent.queue_ids = {"HOV4B56NB7052U4G", "HOV3ENT3OP08GW00"};
  if (Result<std::vector<ControlResult>> results = decode_control_reply(*record, sent); results) {
    if (results->size() != sent.queue_ids.size()) std::abort();
    for (const ControlResult& result : *results) {
      if (result.reason.size() > kMaxControlReasonBytes) std::abort();
    }
  }
  return 0;
}
