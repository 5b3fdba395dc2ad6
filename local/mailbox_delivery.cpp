// Mailbox and file writes of postern-local (see mailbox_delivery.hpp).
#include "local/mailbox_delivery.hpp"

#include <fmt/format.h>

#include "lib/mailbox/maildir.hpp"
#include "lib/mailbox/mbox_lock.hpp"
#include "lib/mailbox/mbox_writer.hpp"
#include "lib/queue/queue_dir.hpp"

namespace postern::local {
namespace {

DeliveryOutcome from_error(const Error& error, const std::string& what) {
  switch (error.kind) {
    case ErrorKind::kLimit:
      return DeliveryOutcome::bounced("5.2.2", fmt::format("{} full: {}", what, error.message));
    case ErrorKind::kTemporary:
      return DeliveryOutcome::deferred("4.2.1", error.describe());
    case ErrorKind::kPermanent:
      return DeliveryOutcome::deferred("4.2.0", fmt::format("cannot use {}: {}", what,
                                                            error.message));
    default:
      return DeliveryOutcome::deferred("4.2.0", fmt::format("cannot write {}: {}", what,
                                                            error.describe()));
  }
}

}  // namespace

std::string delivery_header_lines(const MessageCopy& copy) {
  return fmt::format("Return-Path: <{}>\nDelivered-To: {}\n", copy.sender, copy.delivered_to);
}

DeliveryOutcome append_to_mbox(const MessageCopy& copy, const std::string& path,
                               const MboxOptions& options) {
  Result<UniqueFd> fd = open_mbox_for_append(path, options.expected_owner);
  if (!fd) return from_error(fd.error(), options.what);
  Result<MboxLock> lock = MboxLock::acquire(path, fd->get(), options.lock_timeout_ms);
  if (!lock) return from_error(lock.error(), options.what);
  MboxAppender appender(fd->get(), path, options.size_limit);
  Status status = appender.begin(copy.sender, static_cast<time_t>(copy.arrival_time));
  if (status) status = appender.write_header_line(fmt::format("Return-Path: <{}>", copy.sender));
  if (status) status = appender.write_header_line("Delivered-To: " + copy.delivered_to);
  if (status) {
    status = copy.file->for_each_message_chunk(
        [&](std::string_view chunk) { return appender.feed(chunk); });
  }
  if (status) status = appender.finish();
  if (!status) {
    (void)appender.rollback();
    return from_error(status.error(), options.what);
  }
  return DeliveryOutcome::sent(fmt::format("delivered to {}", options.what));
}

DeliveryOutcome deliver_to_maildir(const MessageCopy& copy, const std::string& base,
                                   const std::string& maildir, const std::string& hostname) {
  Result<MaildirMessage> message = MaildirMessage::create(base, maildir, hostname);
  if (!message) return from_error(message.error(), "maildir");
  Status status = message->write(delivery_header_lines(copy));
  CrlfToLf converter;
  std::string converted;
  if (status) {
    status = copy.file->for_each_message_chunk([&](std::string_view chunk) {
      converted.clear();
      converter.feed(chunk, converted);
      return message->write(converted);
    });
  }
  if (status) {
    converted.clear();
    converter.finish(converted);
    if (!converted.empty()) status = message->write(converted);
  }
  if (!status) return from_error(status.error(), "maildir");
  Result<std::string> final_path = message->commit();
  if (!final_path) return from_error(final_path.error(), "maildir");
  if (Status synced = fsync_directory(message->new_dir()); !synced) {
    return from_error(synced.error(), "maildir");
  }
  return DeliveryOutcome::sent("delivered to maildir");
}

}  // namespace postern::local
