// Alias expansion into a new queue file (see expansion_file.hpp). Bounded by the original's
// limits: at most kMaxQueueRecipients targets, message copied in kMaxMessageChunkBytes pieces.
#include "lib/queue/expansion_file.hpp"

#include <fmt/format.h>

namespace postern {

std::string orcpt_for(std::string_view original_address, std::string_view original_orcpt) {
  if (!original_orcpt.empty()) return std::string(original_orcpt);
  std::string out = "rfc822;";
  for (char c : original_address) {
    unsigned char byte = static_cast<unsigned char>(c);
    if (byte < 33 || byte > 126 || c == '+' || c == '=') {
      out += fmt::format("+{:02X}", byte);
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::string> write_expansion(const QueueLayout& layout, const QueueFile& original,
                                    const std::vector<ExpandedTarget>& targets, int64_t now,
                                    std::string_view prepend,
                                    const std::optional<std::string>& sender) {
  if (targets.empty()) return Error::config("expansion without targets");
  if (targets.size() > kMaxQueueRecipients) {
    return Error::limit(fmt::format("expansion to more than {} targets", kMaxQueueRecipients));
  }
  const QueueEnvelope& source = original.envelope();
  QueueEnvelope envelope;
  envelope.queue_id = new_queue_id();
  envelope.arrival_time = source.arrival_time;  // lifetime and delay warnings count from arrival
  envelope.next_attempt = now;
  envelope.schedule_flags = source.schedule_flags;  // a delay warning already sent stays sent
  envelope.sender = sender.value_or(source.sender);
  for (const auto& attribute : source.attributes) {
    if (attribute.first == kExpandedFromAttribute) continue;
    envelope.attributes.push_back(attribute);
  }
  envelope.attributes.emplace_back(std::string(kExpandedFromAttribute), source.queue_id);
  if (envelope.attributes.size() > kMaxQueueAttributes) {
    return Error::limit("too many attributes to add the expansion marker");
  }
  for (const ExpandedTarget& target : targets) {
    QueueRecipient rcpt;
    rcpt.address = target.address;
    rcpt.orcpt = target.orcpt;
    rcpt.notify = target.notify;
    envelope.recipients.push_back(std::move(rcpt));
  }
  Result<QueueFileWriter> writer = QueueFileWriter::create(layout.incoming(), envelope);
  if (!writer) return writer.error();
  if (!prepend.empty()) {
    if (Status s = writer->append_message(prepend); !s) return s.error();
  }
  Status copied = original.for_each_message_chunk(
      [&](std::string_view chunk) -> Status { return writer->append_message(chunk); });
  if (!copied) return copied.error();
  if (Status s = writer->commit(); !s) return s.error();
  return envelope.queue_id;
}

}  // namespace postern
