// Reads a queue file for postern-relay (see queued_message.hpp): QueueFile parsed and checked
// the records; chunks are read one at a time as the connection can take them.
#include "relay/queued_message.hpp"

#include <algorithm>

namespace postern::relay {

namespace {

bool has_high_byte(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

}  // namespace

Result<std::shared_ptr<QueuedMessage>> QueuedMessage::open(const std::string& path) {
  Result<QueueFile> file = QueueFile::open(path, false);
  if (!file) return file.error();
  std::shared_ptr<QueuedMessage> message(new QueuedMessage(std::move(file).value()));
  // Whether the message needs 8BITMIME: the first 8-bit byte ends the look.
  std::string chunk;
  for (size_t i = 0; i < message->chunk_count() && !message->eight_bit_; ++i) {
    if (Status st = message->read_chunk(i, chunk); !st) return st.error();
    message->eight_bit_ = has_high_byte(chunk);
  }
  return message;
}

Status QueuedMessage::read_chunk(size_t index, std::string& out) const {
  return file_.read_message_chunk(index, out);
}

}  // namespace postern::relay
