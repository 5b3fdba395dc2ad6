// Bounce queue files for qmgr: the DSN text from lib/queue/dsn.cpp, wrapped in a queue envelope from
// the null sender, committed durably in incoming/ (QueueFileWriter). Reads only the header
// section of the original message, stopping after kMaxDsnHeaderBytes.
#include "lib/queue/bounce_writer.hpp"

namespace postern {
namespace {

// The original header section (or its first kMaxDsnHeaderBytes): read chunk by chunk, stopping
// at the blank line; the body is never loaded.
Result<std::string> read_header_section(const QueueFile& original) {
  std::string head;
  Status read = original.for_each_message_chunk([&](std::string_view chunk) -> Status {
    size_t scan_from = head.size() >= 3 ? head.size() - 3 : 0;
    head.append(chunk);
    bool ended = head.find("\r\n\r\n", scan_from) != std::string::npos ||
                 head.starts_with("\r\n");  // a message with no header at all
    if (ended || head.size() > kMaxDsnHeaderBytes) return Error::limit("enough");
    return Status::success();
  });
  if (!read && read.error().kind != ErrorKind::kLimit) return read.error();
  return std::string(header_section(head, kMaxDsnHeaderBytes));
}

}  // namespace

Result<std::string> write_bounce(const QueueLayout& layout, const QueueFile& original,
                                 const BounceRequest& request) {
  Result<std::string> headers = read_header_section(original);
  if (!headers) return headers.error();
  const QueueEnvelope& source = original.envelope();

  QueueEnvelope envelope;
  envelope.queue_id = new_queue_id();
  envelope.arrival_time = request.now;
  envelope.sender = "";
  envelope.attributes.emplace_back(std::string(kBounceOfAttribute), source.queue_id);
  if (request.postmaster_copy) {
    envelope.attributes.emplace_back(std::string(kPostmasterCopyAttribute), "yes");
  }
  for (const std::string& address : request.notify_to) {
    QueueRecipient rcpt;
    rcpt.address = address;
    envelope.recipients.push_back(std::move(rcpt));
  }
  if (envelope.recipients.empty()) return Error::config("bounce with no one to notify");

  DsnReport report;
  report.reporting_mta = request.reporting_mta;
  report.original_queue_id = source.queue_id;
  report.bounce_queue_id = envelope.queue_id;
  report.original_sender = source.sender;
  report.notify_to = request.notify_to.front();
  report.arrival_time = source.arrival_time;
  report.now = request.now;
  report.postmaster_copy = request.postmaster_copy;
  report.recipients = request.recipients;
  report.original_headers = *headers;
  std::string text = build_dsn(report);

  Result<QueueFileWriter> writer = QueueFileWriter::create(layout.incoming(), envelope);
  if (!writer) return writer.error();
  if (Status s = writer->append_message(text); !s) return s.error();
  if (Status s = writer->commit(); !s) return s.error();
  return envelope.queue_id;
}

}  // namespace postern
