// COPY, MOVE and their UID forms for imapd (RFC 3501 6.4.7, RFC 6851 MOVE, RFC 4315 COPYUID).
// Runs in postern-imapd. The sequence set is hostile: parsed and resolved by
// lib/imap/imap_sequence_set against this session's view (so at most count() messages); the
// destination name goes through folder_name_argument. MOVE sends its COPYUID in an untagged OK
// first; the EXPUNGE (or VANISHED) replies follow from report_changes, before the tagged OK.
#include <fmt/format.h>

#include "imapd/commands.hpp"
#include "imapd/commands_mailbox_util.hpp"
#include "imapd/mail_store.hpp"
#include "lib/imap/imap_sequence_set.hpp"

namespace postern::imapd {
namespace {

// COPY into the folder the messages come from: the mail store copies between two folders
// only, so each message is read and appended again (flags and internal date kept).
Result<std::vector<UidPair>> copy_within(Mailbox& mailbox, const std::vector<uint32_t>& uids) {
  std::vector<UidPair> pairs;
  for (uint32_t uid : uids) {
    const MessageRecord* record = mailbox.find(uid);
    if (record == nullptr) continue;
    const MessageFlags flags = record->flags;
    const int64_t date = record->internal_date;
    const int32_t zone = record->internal_date_zone;
    auto bytes = mailbox.read_file(uid);
    if (!bytes.ok()) continue;  // expunged meanwhile
    auto copied = mailbox.append(*bytes, flags, date, zone);
    if (!copied.ok()) return copied.error();
    pairs.push_back({uid, *copied});
  }
  return pairs;
}

}  // namespace

std::string handle_copy(CommandContext& context, const ImapCommand& command) {
  const bool move = command.name == "MOVE";
  const std::string_view verb = move ? "Move" : "Copy";
  SelectedMailboxImpl* selected = selected_impl(context);
  if (selected == nullptr) return "BAD No mailbox selected";
  if (command.args.size() != 2 || !command.args[0].is_atom()) {
    return fmt::format("BAD {} needs a message set and a mailbox", command.name);
  }
  auto set = parse_sequence_set(command.args[0].text);
  if (!set.ok() || set->saved) return "BAD Invalid message set";
  auto seqs = selected->resolve(*set, command.uid);
  if (!seqs.ok()) return "BAD Invalid message set";
  auto name = folder_name_argument(command.args[1]);
  if (!name.ok()) return name.error().message;
  if (move && selected->read_only()) return "NO [READ-ONLY] Mailbox is read-only.";
  auto destination = context.store().open_mailbox(*name);
  if (!destination.ok()) {
    if (destination.error().kind == ErrorKind::kNotFound) {
      return "NO [TRYCREATE] Mailbox doesn't exist: " + *name;
    }
    return no_reply(destination.error());
  }
  Mailbox& source = selected->mailbox();
  Mailbox& target = **destination;
  if (seqs->empty()) return fmt::format("OK No messages found.");
  std::vector<uint32_t> uids;
  uids.reserve(seqs->size());
  for (uint32_t seq : *seqs) {
    if (source.find(selected->uid(seq)) != nullptr) uids.push_back(selected->uid(seq));
  }
  if (uids.empty()) {
    return "NO [EXPUNGEISSUED] Some of the requested messages no longer exist.";
  }
  Result<std::vector<UidPair>> pairs = std::vector<UidPair>{};
  if (move) {
    // Into the selected folder itself too (RFC 6851 allows it): new UIDs, the old ones
    // expunged, reported as EXPUNGE then EXISTS by report_changes.
    pairs = source.move(uids, target);
  } else if (&target == &source) {
    pairs = copy_within(source, uids);
  } else {
    pairs = source.copy(uids, target);
  }
  if (!pairs.ok()) return no_reply(pairs.error());
  if (pairs->empty()) return "NO [EXPUNGEISSUED] Some of the requested messages no longer exist.";
  std::vector<uint32_t> sources;
  std::vector<uint32_t> destinations;
  for (const UidPair& pair : *pairs) {
    sources.push_back(pair.source);
    destinations.push_back(pair.destination);
  }
  const std::string copyuid = fmt::format("[COPYUID {} {} {}]", target.uidvalidity(),
                                          format_sequence_set(std::move(sources)),
                                          format_sequence_set(std::move(destinations)));
  if (move) {
    context.untagged("OK " + copyuid + " Moved UIDs.");
    return "OK Move completed.";
  }
  return fmt::format("OK {} {} completed.", copyuid, verb);
}

}  // namespace postern::imapd
