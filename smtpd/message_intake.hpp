// One message on its way into the queue: the queue file opened at DATA/BDAT with the envelope
// and our Received: header, the client's bytes appended as they arrive, and commit() (fsync,
// rename into incoming/, fsync the folder) before anyone hears 250. Run by postern-smtpd. The
// bytes are the client's and hostile; message_size_limit bounds them: past it the file is
// dropped at once and the rest of the message is only counted, never stored.
// With milters, the bytes go first to an anonymous spool file (begin_spooled) that the milters
// read; write_filtered() then writes the queue file from the message as they left it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lib/base/result.hpp"
#include "lib/milter/message_spool.hpp"
#include "lib/milter/milter_message.hpp"
#include "lib/queue/queue_file.hpp"

namespace postern::smtpd {

class MessageIntake {
 public:
  // size_limit: bytes of client message (our header not counted); 0 = no limit.
  static Result<MessageIntake> begin(const std::string& incoming_dir, const QueueEnvelope& envelope,
                                     std::string_view received_header, uint64_t size_limit);
  // For milters: the bytes go to an anonymous spool file in dir; nothing is queued until
  // write_filtered().
  static Result<MessageIntake> begin_spooled(const std::string& dir, uint64_t size_limit);
  milter::MessageSpool* spool() { return spool_ ? &*spool_ : nullptr; }
  // Spooled mode: the queue file in dir (incoming/, or hold/ for a quarantined message) with
  // envelope and message as the milters left it (our Received: on top, given to
  // MilterMessage::read); then commit() as usual.
  Status write_filtered(const std::string& dir, const QueueEnvelope& envelope,
                        milter::MilterMessage& message);

  // Appends message bytes (wire form). Never fails: a failure is remembered and reported at
  // the end, when the client expects the reply.
  void append(std::string_view bytes);

  bool too_big() const { return too_big_; }
  // A write error (disk full...), if any happened.
  const std::optional<Error>& write_error() const { return write_error_; }
  // Client bytes seen so far, stored or not.
  uint64_t message_bytes() const { return message_bytes_; }

  // Durable in incoming/ under the queue ID. Fails when too big or after a write error.
  Status commit();
  // Drops the temporary file.
  void abort();

 private:
  MessageIntake(std::optional<QueueFileWriter> writer, uint64_t size_limit)
      : writer_(std::move(writer)), size_limit_(size_limit) {}
  std::optional<QueueFileWriter> writer_;
  std::optional<milter::MessageSpool> spool_;
  uint64_t size_limit_ = 0;
  uint64_t message_bytes_ = 0;
  bool too_big_ = false;
  std::optional<Error> write_error_;
};

}  // namespace postern::smtpd
