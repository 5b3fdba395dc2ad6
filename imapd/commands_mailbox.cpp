// imapd's folder commands (RFC 3501 6.3, 6.4; RFC 7162 CONDSTORE/QRESYNC select parameters;
// RFC 4315 UID EXPUNGE; RFC 3691 UNSELECT): SELECT/EXAMINE, CREATE, DELETE, RENAME,
// SUBSCRIBE/UNSUBSCRIBE, STATUS, CHECK, CLOSE/UNSELECT, EXPUNGE. LIST/LSUB, APPEND and
// COPY/MOVE live in commands_mailbox_{list,append,copy}.cpp. Runs in postern-imapd on the
// event loop. Every argument is hostile and checked; folder names go through
// folder_name_argument before they reach the mail store; QRESYNC's sets are bounded by
// lib/imap/imap_sequence_set and resolved against the folder, never expanded beyond it.
#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "imapd/commands.hpp"
#include "imapd/commands_mailbox_util.hpp"
#include "imapd/mail_store.hpp"
#include "imapd/selected_mailbox_impl.hpp"
#include "lib/imap/imap_sequence_set.hpp"

namespace postern::imapd {
namespace {

struct QresyncParameter {
  uint32_t uidvalidity = 0;
  uint64_t modseq = 0;
  std::optional<SequenceSet> known_uids;
};

// "(QRESYNC (uidvalidity modseq [known-uids [(seqs uids)]]))" or "(CONDSTORE)".
struct SelectParameters {
  bool condstore = false;
  std::optional<QresyncParameter> qresync;
};

Result<SelectParameters> parse_select_parameters(const ImapToken& list) {
  SelectParameters parameters;
  const auto& items = list.children;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].is_word("CONDSTORE")) {
      parameters.condstore = true;
      continue;
    }
    if (!items[i].is_word("QRESYNC") || i + 1 >= items.size() ||
        items[i + 1].kind != ImapToken::Kind::kList || parameters.qresync) {
      return Error::parse("BAD Invalid SELECT parameters");
    }
    const auto& values = items[++i].children;
    if (values.size() < 2 || values.size() > 4 || !values[0].is_atom() || !values[1].is_atom()) {
      return Error::parse("BAD Invalid QRESYNC parameters");
    }
    QresyncParameter qresync;
    const auto uidvalidity = number_argument(values[0].text, UINT32_MAX);
    const auto modseq = number_argument(values[1].text, INT64_MAX);
    if (!uidvalidity || *uidvalidity == 0 || !modseq) {
      return Error::parse("BAD Invalid QRESYNC uidvalidity or modseq");
    }
    qresync.uidvalidity = static_cast<uint32_t>(*uidvalidity);
    qresync.modseq = *modseq;
    size_t next = 2;
    if (next < values.size() && values[next].is_atom()) {
      auto known = parse_sequence_set(values[next].text);
      if (!known.ok() || known->saved) return Error::parse("BAD Invalid QRESYNC known-uids");
      qresync.known_uids = std::move(*known);
      ++next;
    }
    if (next < values.size()) {
      // The sequence match data only helps servers without an expunge history; we keep one,
      // so it is checked for syntax and otherwise not needed.
      const ImapToken& match = values[next];
      if (match.kind != ImapToken::Kind::kList || match.children.size() != 2 ||
          !match.children[0].is_atom() || !match.children[1].is_atom() ||
          !parse_sequence_set(match.children[0].text).ok() ||
          !parse_sequence_set(match.children[1].text).ok()) {
        return Error::parse("BAD Invalid QRESYNC sequence match data");
      }
      ++next;
    }
    if (next != values.size()) return Error::parse("BAD Invalid QRESYNC parameters");
    parameters.qresync = std::move(qresync);
  }
  return parameters;
}

// RFC 7162 3.2.5: what changed since the client's modseq (when its UIDVALIDITY still holds).
void send_qresync_changes(CommandContext& context, SelectedMailboxImpl& selected,
                          const QresyncParameter& qresync) {
  if (qresync.uidvalidity != selected.uidvalidity()) return;
  std::vector<SequenceRange> known;
  if (qresync.known_uids) {
    known = normalize_sequence_set(*qresync.known_uids, selected.uidnext() - 1);
  }
  const auto in_known = [&](uint32_t uid) {
    return !qresync.known_uids || ranges_contain(known, uid);
  };
  auto expunged = selected.mailbox().expunged_since(qresync.modseq);
  if (expunged.ok()) {
    std::vector<uint32_t> vanished;
    for (uint32_t uid : *expunged) {
      if (in_known(uid)) vanished.push_back(uid);
    }
    if (!vanished.empty()) {
      context.untagged("VANISHED (EARLIER) " + format_sequence_set(std::move(vanished)));
    }
  }
  for (uint32_t seq = 1; seq <= selected.count(); ++seq) {
    const MessageRecord& record = selected.record(seq);
    if (record.modseq <= qresync.modseq || !in_known(record.uid)) continue;
    selected.announce_keywords(context, record.flags);
    context.untagged(fmt::format("{} FETCH (UID {} FLAGS ({}) MODSEQ ({}))", seq, record.uid,
                                 format_flags(record.flags, selected.recent(seq)), record.modseq));
  }
}

// The \Deleted messages of the view (optionally only those in uid_filter), as UIDs.
std::vector<uint32_t> deleted_uids(SelectedMailboxImpl& selected,
                                   const std::vector<SequenceRange>* uid_filter) {
  std::vector<uint32_t> uids;
  for (uint32_t seq = 1; seq <= selected.count(); ++seq) {
    const MessageRecord* record = selected.mailbox().find(selected.uid(seq));
    if (record == nullptr || (record->flags.system & kFlagDeleted) == 0) continue;
    if (uid_filter != nullptr && !ranges_contain(*uid_filter, record->uid)) continue;
    uids.push_back(record->uid);
  }
  return uids;
}

}  // namespace

std::string handle_select(CommandContext& context, const ImapCommand& command) {
  const bool examine = command.name == "EXAMINE";
  const auto& args = command.args;
  if (args.empty() || args.size() > 2 ||
      (args.size() == 2 && args[1].kind != ImapToken::Kind::kList)) {
    return fmt::format("BAD {} needs a mailbox name", command.name);
  }
  // Whatever happens next, the previous folder is closed (RFC 3501 6.3.1, RFC 7162 3.2.11).
  if (context.selected() != nullptr) {
    context.set_selected(nullptr);
    context.untagged("OK [CLOSED] Previous mailbox closed.");
  }
  SelectParameters parameters;
  if (args.size() == 2) {
    auto parsed = parse_select_parameters(args[1]);
    if (!parsed.ok()) return parsed.error().message;
    parameters = std::move(*parsed);
    if (parameters.qresync && !context.enabled("QRESYNC")) {
      return "BAD QRESYNC was not enabled";
    }
  }
  auto name = folder_name_argument(args[0]);
  if (!name.ok()) return name.error().message;
  auto mailbox = context.store().open_mailbox(*name);
  if (!mailbox.ok()) return no_reply(mailbox.error());
  if (parameters.condstore) context.enable("CONDSTORE");

  auto selected = std::make_unique<SelectedMailboxImpl>(*name, std::move(*mailbox), examine);
  selected->send_flags(context);
  context.untagged(fmt::format("{} EXISTS", selected->count()));
  context.untagged(fmt::format("{} RECENT", selected->recent_count()));
  if (const uint32_t unseen = selected->first_unseen(); unseen != 0) {
    context.untagged(fmt::format("OK [UNSEEN {}] First unseen.", unseen));
  }
  context.untagged(fmt::format("OK [UIDVALIDITY {}] UIDs valid", selected->uidvalidity()));
  context.untagged(fmt::format("OK [UIDNEXT {}] Predicted next UID", selected->uidnext()));
  context.untagged(fmt::format("OK [HIGHESTMODSEQ {}] Highest", selected->highest_modseq()));
  if (parameters.qresync) send_qresync_changes(context, *selected, *parameters.qresync);
  context.set_selected(std::move(selected));
  return examine ? "OK [READ-ONLY] Examine completed." : "OK [READ-WRITE] Select completed.";
}

std::string handle_create(CommandContext& context, const ImapCommand& command) {
  if (command.args.size() != 1) return "BAD CREATE needs one mailbox name";
  auto name = folder_name_argument(command.args[0], true);
  if (!name.ok()) return name.error().message;
  Status created = context.store().create(*name);
  if (!created.ok()) return no_reply(created.error());
  return "OK Create completed.";
}

std::string handle_delete(CommandContext& context, const ImapCommand& command) {
  if (command.args.size() != 1) return "BAD DELETE needs one mailbox name";
  auto name = folder_name_argument(command.args[0]);
  if (!name.ok()) return name.error().message;
  if (*name == "INBOX") return "NO [CANNOT] INBOX can't be deleted.";
  Status removed = context.store().remove(*name);
  if (!removed.ok()) return no_reply(removed.error());
  return "OK Delete completed.";
}

std::string handle_rename(CommandContext& context, const ImapCommand& command) {
  if (command.args.size() != 2) return "BAD RENAME needs two mailbox names";
  auto from = folder_name_argument(command.args[0]);
  if (!from.ok()) return from.error().message;
  auto to = folder_name_argument(command.args[1], true);
  if (!to.ok()) return to.error().message;
  if (*to == "INBOX") return "NO [ALREADYEXISTS] INBOX exists.";
  Status renamed = context.store().rename(*from, *to);
  if (!renamed.ok()) return no_reply(renamed.error());
  return "OK Rename completed.";
}

std::string handle_subscribe(CommandContext& context, const ImapCommand& command) {
  const bool subscribe = command.name == "SUBSCRIBE";
  if (command.args.size() != 1) return fmt::format("BAD {} needs one mailbox name", command.name);
  auto name = folder_name_argument(command.args[0]);
  if (!name.ok()) return name.error().message;
  Status done = subscribe ? context.store().subscribe(*name) : context.store().unsubscribe(*name);
  if (!done.ok()) return no_reply(done.error());
  return subscribe ? "OK Subscribe completed." : "OK Unsubscribe completed.";
}

std::string handle_status(CommandContext& context, const ImapCommand& command) {
  const auto& args = command.args;
  if (args.size() != 2 || args[1].kind != ImapToken::Kind::kList || args[1].children.empty()) {
    return "BAD STATUS needs a mailbox name and a list of items";
  }
  enum Item { kMessages, kRecent, kUidNext, kUidValidity, kUnseen, kHighestModseq, kSize };
  static constexpr std::pair<std::string_view, Item> kItems[] = {
      {"MESSAGES", kMessages}, {"RECENT", kRecent},
      {"UIDNEXT", kUidNext},   {"UIDVALIDITY", kUidValidity},
      {"UNSEEN", kUnseen},     {"HIGHESTMODSEQ", kHighestModseq},
      {"SIZE", kSize},
  };
  std::vector<std::pair<std::string_view, Item>> wanted;
  for (const ImapToken& token : args[1].children) {
    bool known = false;
    for (const auto& item : kItems) {
      if (token.is_word(item.first)) {
        wanted.push_back(item);
        known = true;
        break;
      }
    }
    if (!known) return "BAD Unknown STATUS item";
  }
  auto name = folder_name_argument(args[0]);
  if (!name.ok()) return name.error().message;
  auto opened = context.store().open_mailbox(*name);
  if (!opened.ok()) return no_reply(opened.error());
  Mailbox& mailbox = **opened;
  const auto& records = mailbox.records();
  std::string items;
  for (const auto& [word, item] : wanted) {
    uint64_t value = 0;
    switch (item) {
      case kMessages:
        value = records.size();
        break;
      case kRecent: {
        const uint32_t first = mailbox.first_recent_uid();
        value = static_cast<uint64_t>(std::count_if(
            records.begin(), records.end(),
            [first](const MessageRecord& record) { return first != 0 && record.uid >= first; }));
        break;
      }
      case kUidNext:
        value = mailbox.uidnext();
        break;
      case kUidValidity:
        value = mailbox.uidvalidity();
        break;
      case kUnseen:
        value = static_cast<uint64_t>(std::count_if(
            records.begin(), records.end(),
            [](const MessageRecord& record) { return (record.flags.system & kFlagSeen) == 0; }));
        break;
      case kHighestModseq:
        context.enable("CONDSTORE");  // RFC 7162 3.1: a CONDSTORE-enabling command
        value = mailbox.highest_modseq();
        break;
      case kSize:
        for (const MessageRecord& record : records) value += record.size;
        break;
    }
    if (!items.empty()) items.push_back(' ');
    items += fmt::format("{} {}", word, value);
  }
  context.untagged(fmt::format("STATUS {} ({})", imap_quote(*name), items));
  return "OK Status completed.";
}

std::string handle_check(CommandContext& context, const ImapCommand& command) {
  if (!command.args.empty()) return "BAD CHECK takes no arguments";
  if (SelectedMailboxImpl* selected = selected_impl(context)) {
    auto synced = selected->mailbox().sync();
    if (!synced.ok()) return no_reply(synced.error());
  }
  return "OK Check completed.";
}

std::string handle_close(CommandContext& context, const ImapCommand& command) {
  const bool unselect = command.name == "UNSELECT";
  if (!command.args.empty()) return fmt::format("BAD {} takes no arguments", command.name);
  SelectedMailboxImpl* selected = selected_impl(context);
  if (!unselect && selected != nullptr && !selected->read_only()) {
    // CLOSE expunges silently (RFC 3501 6.4.2): no untagged EXPUNGE.
    std::vector<uint32_t> uids = deleted_uids(*selected, nullptr);
    if (!uids.empty()) {
      auto expunged = selected->mailbox().expunge(uids);
      if (!expunged.ok()) {
        context.set_selected(nullptr);
        return no_reply(expunged.error());
      }
    }
  }
  context.set_selected(nullptr);
  return unselect ? "OK Unselect completed." : "OK Close completed.";
}

std::string handle_expunge(CommandContext& context, const ImapCommand& command) {
  SelectedMailboxImpl* selected = selected_impl(context);
  if (selected == nullptr) return "BAD No mailbox selected";
  std::vector<SequenceRange> filter;
  if (command.uid) {
    if (command.args.size() != 1 || !command.args[0].is_atom()) {
      return "BAD UID EXPUNGE needs a UID set";
    }
    auto set = parse_sequence_set(command.args[0].text);
    if (!set.ok() || set->saved) return "BAD Invalid UID set";
    filter =
        normalize_sequence_set(*set, selected->count() == 0 ? 0 : selected->uid(selected->count()));
  } else if (!command.args.empty()) {
    return "BAD EXPUNGE takes no arguments";
  }
  if (selected->read_only()) return "NO [READ-ONLY] Mailbox is read-only.";
  std::vector<uint32_t> uids = deleted_uids(*selected, command.uid ? &filter : nullptr);
  if (!uids.empty()) {
    // The untagged EXPUNGE (or VANISHED) replies come from report_changes, which the session
    // runs before the tagged reply.
    auto expunged = selected->mailbox().expunge(uids);
    if (!expunged.ok()) return no_reply(expunged.error());
  }
  return "OK Expunge completed.";
}

}  // namespace postern::imapd
