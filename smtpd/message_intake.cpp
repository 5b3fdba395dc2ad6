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

Result<MessageIntake> MessageIntake::begin_spooled(const std::string& dir, uint64_t size_limit) {
  Result<milter::MessageSpool> spool = milter::MessageSpool::create(dir);
  if (!spool) return spool.error();
  MessageIntake intake(std::nullopt, size_limit);
  intake.spool_.emplace(std::move(spool).value());
  return intake;
}

Status MessageIntake::write_filtered(const std::string& dir, const QueueEnvelope& envelope,
                                     milter::MilterMessage& message) {
  Result<QueueFileWriter> writer = QueueFileWriter::create(dir, envelope);
  if (!writer) return writer.error();
  if (Status st =
          message.write([&](std::string_view bytes) { return writer->append_message(bytes); });
      !st) {
    return st;
  }
  writer_.emplace(std::move(writer).value());
  return Status::success();
}

void MessageIntake::append(std::string_view bytes) {
  message_bytes_ += bytes.size();
  if (too_big_ || write_error_ || (!writer_ && !spool_)) return;
  if (size_limit_ != 0 && message_bytes_ > size_limit_) {
    too_big_ = true;
    abort();
    return;
  }
  if (spool_) {
    spool_->append(bytes);
    if (spool_->error()) {
      write_error_ = *spool_->error();
      abort();
    }
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
  spool_.reset();
}

}  // namespace postern::smtpd
