// Result mapping and log lines for postern-relay (see delivery_result.hpp).
#include "relay/delivery_result.hpp"

#include <fmt/format.h>

#include "lib/base/log.hpp"

namespace postern::relay {

std::string_view delivery_status_name(DeliveryStatus status) {
  switch (status) {
    case DeliveryStatus::kSent:
      return "sent";
    case DeliveryStatus::kDeferred:
      return "deferred";
    case DeliveryStatus::kBounced:
      return "bounced";
  }
  return "deferred";
}

std::string reply_dsn(const SmtpReply& reply) {
  const char klass = static_cast<char>('0' + reply.code / 100);
  if (reply.enhanced.size() >= 5 && reply.enhanced[0] == klass) return reply.enhanced;
  if (reply.code >= 200 && reply.code < 300) return "2.0.0";
  if (reply.code >= 400 && reply.code < 500) return "4.0.0";
  return "5.0.0";
}

RecipientResult result_from_reply(const SmtpReply& reply, std::string_view server_label,
                                  std::string_view remote_mta, std::string_view command) {
  RecipientResult result;
  result.dsn = reply_dsn(reply);
  result.remote_mta = log::printable(remote_mta, 255);
  result.diagnostic = log::printable(reply.to_string(), kMaxReasonBytes);
  if (reply.positive()) {
    result.status = DeliveryStatus::kSent;
    result.reason = result.diagnostic;
    return result;
  }
  // A code outside 4xx/5xx here is a server that broke the protocol: defer, never bounce.
  result.status = reply.permanent() ? DeliveryStatus::kBounced : DeliveryStatus::kDeferred;
  if (!reply.permanent() && !reply.transient()) result.dsn = "4.5.0";
  result.reason = fmt::format("host {} said: {} (in reply to {} command)", server_label,
                              result.diagnostic, command);
  return result;
}

RecipientResult local_result(std::string_view dsn, std::string reason) {
  RecipientResult result;
  result.dsn = std::string(dsn);
  result.status =
      !dsn.empty() && dsn[0] == '5' ? DeliveryStatus::kBounced : DeliveryStatus::kDeferred;
  result.reason = log::printable(reason, kMaxReasonBytes);
  return result;
}

void add_reply_attributes(AttrRecord& record, int64_t index, const RecipientResult& result) {
  record.add("index", index);
  record.add("status", delivery_status_name(result.status));
  record.add("dsn", result.dsn);
  record.add("reason", result.reason);
  if (!result.remote_mta.empty()) record.add("remote_mta", result.remote_mta);
  if (!result.diagnostic.empty()) record.add("diagnostic", result.diagnostic);
}

std::string delivery_log_line(std::string_view queue_id, std::string_view recipient,
                              std::string_view relay, double delay_seconds,
                              const RecipientResult& result) {
  return fmt::format("{}: to=<{}>, relay={}, delay={:.2f}, dsn={}, status={} ({})", queue_id,
                     log::printable(recipient, 255), relay, delay_seconds, result.dsn,
                     delivery_status_name(result.status), result.reason);
}

}  // namespace postern::relay
