// The control requests to qmgr and their replies (see queue_control.hpp). Every decoder checks
// counts, shapes and lengths before anything is used; nothing here touches a file.
#include "lib/queue/queue_control.hpp"

#include <set>

#include "lib/base/ascii.hpp"
#include "lib/queue/queue_dir.hpp"

namespace postern {
namespace {

constexpr ControlAction kActions[] = {ControlAction::kDelete, ControlAction::kHold,
                                      ControlAction::kRelease, ControlAction::kRequeue};
constexpr ControlOutcome kOutcomes[] = {ControlOutcome::kDone, ControlOutcome::kNotFound,
                                        ControlOutcome::kSkipped, ControlOutcome::kFailed};

// Splits at the last '@': ("user", "example.com"); no '@': the whole text as local part.
std::pair<std::string_view, std::string_view> split_address(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return {address, {}};
  return {address.substr(0, at), address.substr(at + 1)};
}

bool is_null_sender(std::string_view text) {
  return text.empty() || text == "<>";
}

// Bounded, no control bytes (an address or a domain; 8-bit UTF-8 is allowed).
Status check_text(std::string_view what, std::string_view text, bool may_be_empty) {
  if (text.size() > kMaxControlAddressBytes) return Error::limit(std::string(what) + " too long");
  if (text.empty() && !may_be_empty) return Error::parse(std::string(what) + " is empty");
  for (char c : text) {
    unsigned char byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      return Error::parse(std::string(what) + " has a control character");
    }
  }
  return Status::success();
}

std::string cut(std::string_view text, size_t max_bytes) {
  return std::string(text.substr(0, std::min(text.size(), max_bytes)));
}

}  // namespace

std::string_view control_action_name(ControlAction action) {
  switch (action) {
    case ControlAction::kDelete:
      return "delete";
    case ControlAction::kHold:
      return "hold";
    case ControlAction::kRelease:
      return "release";
    case ControlAction::kRequeue:
      return "requeue";
  }
  return "?";
}

std::string_view control_outcome_name(ControlOutcome outcome) {
  switch (outcome) {
    case ControlOutcome::kDone:
      return "done";
    case ControlOutcome::kNotFound:
      return "not_found";
    case ControlOutcome::kSkipped:
      return "skipped";
    case ControlOutcome::kFailed:
      return "failed";
  }
  return "?";
}

bool is_control_request(std::string_view request_name) {
  for (ControlAction action : kActions) {
    if (control_action_name(action) == request_name) return true;
  }
  return false;
}

bool address_matches(std::string_view address, std::string_view wanted) {
  if (is_null_sender(wanted)) return address.empty();
  auto [local, domain] = split_address(address);
  auto [wanted_local, wanted_domain] = split_address(wanted);
  if (address.find('@') == std::string_view::npos || wanted.find('@') == std::string_view::npos) {
    return address == wanted;
  }
  return local == wanted_local && ascii_iequals(domain, wanted_domain);
}

bool envelope_matches(const QueueEnvelope& envelope, const QueueMatch& match) {
  if (match.sender && !address_matches(envelope.sender, *match.sender)) return false;
  if (match.recipient) {
    bool found = false;
    for (const QueueRecipient& rcpt : envelope.recipients) {
      if (rcpt.status == RecipientStatus::kPending &&
          address_matches(rcpt.address, *match.recipient)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

bool has_pending_recipient_in(const QueueEnvelope& envelope, std::string_view domain) {
  for (const QueueRecipient& rcpt : envelope.recipients) {
    if (rcpt.status != RecipientStatus::kPending) continue;
    size_t at = rcpt.address.rfind('@');
    if (at == std::string::npos) continue;
    if (ascii_iequals(std::string_view(rcpt.address).substr(at + 1), domain)) return true;
  }
  return false;
}

AttrRecord encode_control_request(const ControlRequest& request) {
  AttrRecord record;
  record.add("request", control_action_name(request.action));
  for (const std::string& queue_id : request.queue_ids) record.add("queue_id", queue_id);
  if (request.match.sender) record.add("sender", *request.match.sender);
  if (request.match.recipient) record.add("recipient", *request.match.recipient);
  return record;
}

Result<ControlRequest> decode_control_request(const AttrRecord& record) {
  ControlRequest request;
  std::optional<std::string_view> name = record.get("request");
  if (!name) return Error::parse("no request");
  bool known = false;
  for (ControlAction action : kActions) {
    if (control_action_name(action) == *name) {
      request.action = action;
      known = true;
    }
  }
  if (!known) return Error::parse("unknown request");
  std::set<std::string_view> seen;
  bool seen_sender = false;
  bool seen_recipient = false;
  for (const auto& [attr, value] : record.attributes()) {
    if (attr == "request") {
      if (value != *name) return Error::parse("request given twice");
    } else if (attr == "queue_id") {
      if (!is_queue_id(value)) return Error::parse("malformed queue ID");
      if (request.queue_ids.size() >= kMaxControlIds) {
        return Error::limit("more than " + std::to_string(kMaxControlIds) + " queue IDs");
      }
      if (!seen.insert(value).second) return Error::parse("queue ID " + value + " given twice");
      request.queue_ids.push_back(value);
    } else if (attr == "sender" || attr == "recipient") {
      bool& seen_it = attr == "sender" ? seen_sender : seen_recipient;
      if (seen_it) return Error::parse(attr + " given twice");
      seen_it = true;
      if (Status ok = check_text(attr, value, attr == "sender"); !ok) return ok.error();
      (attr == "sender" ? request.match.sender : request.match.recipient) = value;
    } else {
      return Error::parse("unknown attribute " + cut(attr, 40));
    }
  }
  if (request.queue_ids.empty()) return Error::parse("no queue ID");
  return request;
}

AttrRecord encode_control_reply(const std::vector<ControlResult>& results) {
  AttrRecord record;
  record.add("status", "ok");
  int64_t count = 0;
  for (const ControlResult& result : results) {
    if (result.outcome == ControlOutcome::kDone) ++count;
  }
  record.add("count", count);
  for (const ControlResult& result : results) {
    record.add("queue_id", result.queue_id);
    record.add("result", control_outcome_name(result.outcome));
    if (!result.reason.empty()) record.add("reason", cut(result.reason, kMaxControlReasonBytes));
  }
  return record;
}

Result<std::vector<ControlResult>> decode_control_reply(const AttrRecord& record,
                                                        const ControlRequest& sent) {
  std::optional<std::string_view> status = record.get("status");
  if (status != std::optional<std::string_view>("ok")) {
    std::string reason =
        cut(record.get("reason").value_or("no reason given"), kMaxControlReasonBytes);
    return Error::parse("qmgr refused the request: " + reason);
  }
  const std::set<std::string_view> asked(sent.queue_ids.begin(), sent.queue_ids.end());
  std::set<std::string> answered;
  std::vector<ControlResult> results;
  for (const auto& [attr, value] : record.attributes()) {
    if (attr == "queue_id") {
      if (!asked.count(value)) return Error::parse("qmgr answered for an ID not asked about");
      if (!answered.insert(value).second) return Error::parse("qmgr answered twice for an ID");
      results.push_back(ControlResult{value, ControlOutcome::kFailed, {}});
    } else if (attr == "result") {
      if (results.empty()) return Error::parse("a result before its queue ID");
      bool known = false;
      for (ControlOutcome outcome : kOutcomes) {
        if (control_outcome_name(outcome) == value) {
          results.back().outcome = outcome;
          known = true;
        }
      }
      if (!known) return Error::parse("unknown result in qmgr's reply");
    } else if (attr == "reason" && !results.empty()) {
      results.back().reason = cut(value, kMaxControlReasonBytes);
    }
  }
  if (results.size() != sent.queue_ids.size()) {
    return Error::parse("qmgr's reply lacks a result for some queue IDs");
  }
  return results;
}

AttrRecord encode_flush_request(const FlushRequest& request) {
  AttrRecord record;
  record.add("request", "flush");
  if (request.domain) record.add("domain", *request.domain);
  return record;
}

Result<FlushRequest> decode_flush_request(const AttrRecord& record) {
  if (record.get("request") != std::optional<std::string_view>("flush")) {
    return Error::parse("not a flush request");
  }
  FlushRequest request;
  for (const auto& [attr, value] : record.attributes()) {
    if (attr == "request") continue;
    if (attr != "domain") return Error::parse("unknown attribute " + cut(attr, 40));
    if (request.domain) return Error::parse("domain given twice");
    if (Status ok = check_text("domain", value, false); !ok) return ok.error();
    if (value.find('@') != std::string::npos || value.find(' ') != std::string::npos) {
      return Error::parse("not a domain");
    }
    request.domain = value;
  }
  return request;
}

AttrRecord control_error_reply(std::string_view reason) {
  AttrRecord record;
  record.add("status", "error");
  record.add("reason", cut(reason, kMaxControlReasonBytes));
  return record;
}

}  // namespace postern
