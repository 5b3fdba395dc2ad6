// The message relay sends, read from its queue file (lib/queue/queue_file.hpp): the envelope, and the
// message chunks, read one at a time (QueueFile::read_message_chunk) under the connection's
// write back-pressure, never holding the whole message. Also what the transaction needs to know
// before MAIL FROM: whether any byte is 8-bit. Runs in postern-relay. The file was written by
// smtpd or submission and parsed by QueueFile::open (bounded, checked).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "lib/queue/queue_file.hpp"
#include "lib/base/result.hpp"

namespace postern::relay {

class QueuedMessage {
 public:
  static Result<std::shared_ptr<QueuedMessage>> open(const std::string& path);

  const QueueEnvelope& envelope() const { return file_.envelope(); }
  size_t chunk_count() const { return file_.message_chunk_count(); }
  // Reads chunk index into out (replacing its contents).
  Status read_chunk(size_t index, std::string& out) const;
  uint64_t message_bytes() const { return file_.envelope().message_bytes; }
  bool eight_bit() const { return eight_bit_; }  // some message byte is >= 0x80

 private:
  explicit QueuedMessage(QueueFile file) : file_(std::move(file)) {}

  QueueFile file_;
  bool eight_bit_ = false;
};

}  // namespace postern::relay
