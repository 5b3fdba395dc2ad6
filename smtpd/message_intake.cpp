// Writes one incoming message into the queue for postern-smtpd (see message_intake.hpp). The
// only blocking calls in smtpd's event loop live behind this class: writes to the queue file
// and the fsyncs of commit().
#include "smtpd/message_intake.hpp"

namespace postern::smtpd {

Result<MessageIntake> MessageIntake::begin(const std::string& incoming_dir,
                                           const QueueEnvelope& envelope,
                                           std::string_view received_header, uint64_t size_limit) {
  Result<QueueFileWriter> writer = QueueFileWriter::create(incoming_dir, envelope);
  if (!writer) return writer.error();
  if (Status st = writer->append_message(received_header); !st) return st.error();
  return MessageIntake(std::move(writer).value(), size_limit);
}

void MessageIntake::append(std::string_view bytes) {
  message_bytes_ += bytes.size();
  if (too_big_ || write_error_ || !writer_) return;
  if (size_limit_ != 0 && message_bytes_ > size_limit_) {
    too_big_ = true;
    writer_->abort();
    writer_.reset();
    return;
  }
  if (Status st = writer_->append_message(bytes); !st) {
    write_error_ = st.error();
    writer_->abort();
    writer_.reset();
  }
}

Status MessageIntake::commit() {
  if (too_big_) return Error::limit("message size exceeds message_size_limit");
  if (write_error_) return *write_error_;
  if (!writer_) return Error::parse("message already committed or dropped");
  Status st = writer_->commit();
  writer_.reset();
  return st;
}

void MessageIntake::abort() {
  if (writer_) writer_->abort();
  writer_.reset();
}

}  // namespace postern::smtpd
