// The message commands of the selected folder: FETCH, STORE and SEARCH, each also as UID
// FETCH/STORE/SEARCH (RFC 3501 6.4.4-6.4.8), with CONDSTORE/QRESYNC's CHANGEDSINCE, VANISHED,
// UNCHANGEDSINCE and MODSEQ (RFC 7162) and ESEARCH's RETURN (RFC 4731). Runs in postern-imapd on
// the event loop. Every argument is hostile: sequence sets, items and keys are read by the
// bounded parsers in lib/ (imap_sequence_set, imap_fetch_items, imap_search_keys); flags are
// checked here (system flags by name, keywords as atoms of at most kMaxKeywordBytes, at most
// kMaxKeywordsPerMessage).
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "imapd/commands.hpp"
#include "imapd/commands_mailbox_util.hpp"
#include "imapd/fetch_response.hpp"
#include "imapd/search_engine.hpp"
#include "imapd/selected_mailbox.hpp"
#include "imapd/selected_mailbox_impl.hpp"
#include "lib/base/ascii.hpp"
#include "lib/imap/imap_fetch_items.hpp"
#include "lib/imap/imap_search_keys.hpp"
#include "lib/imap/imap_sequence_set.hpp"

namespace postern::imapd {
namespace {

// Sequence numbers named by a sequence-set argument (UIDs when uid).
// Error text: the tagged reply.
Result<std::vector<uint32_t>> resolve_argument(SelectedMailbox& mailbox, const ImapToken& token,
                                               bool uid) {
  if (!token.is_atom()) return Error::parse("BAD Invalid sequence set");
  Result<SequenceSet> set = parse_sequence_set(token.text);
  if (!set) return Error::parse("BAD Invalid sequence set");
  if (set->saved) return Error::parse("BAD No saved search result ($)");
  uint32_t count = mailbox.count();
  // Empty folder: UIDs name nothing; sequence numbers (even "1:*") are invalid (as Dovecot).
  if (count == 0 && uid) return std::vector<uint32_t>{};
  if (uid) {
    return expand_ranges(
        resolve_uids(*set, count, [&mailbox](uint32_t seq) { return mailbox.record(seq).uid; }));
  }
  Result<std::vector<SequenceRange>> ranges = resolve_sequence_numbers(*set, count);
  if (!ranges) return Error::parse("BAD Invalid message sequence number");
  return expand_ranges(*ranges);
}

std::optional<uint64_t> modseq_argument(const ImapToken& token) {
  if (!token.is_atom() || token.text.empty() || token.text.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (char c : token.text) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (static_cast<uint64_t>(INT64_MAX) - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

// STORE's flags: a list, or flags as separate atoms. Error text: the tagged reply.
Result<MessageFlags> parse_store_flags(const std::vector<ImapToken>& args, size_t first) {
  if (first >= args.size()) return Error::parse("BAD Missing flags");
  std::vector<const ImapToken*> tokens;
  if (first + 1 == args.size() && args[first].kind == ImapToken::Kind::kList) {
    for (const ImapToken& child : args[first].children) tokens.push_back(&child);
  } else {
    for (size_t i = first; i < args.size(); ++i) tokens.push_back(&args[i]);
  }
  return parse_flag_tokens(tokens);
}

std::string no_from(const Error& error) {
  if (!error.message.empty() && error.message.front() == '[') return "NO " + error.message;
  return "NO [SERVERBUG] " + error.message;
}

// RFC 7162 3.2.6: "* VANISHED (EARLIER) uids" for the UIDs of set expunged after modseq.
void send_vanished_earlier(CommandContext& context, SelectedMailbox& mailbox,
                           const SequenceSet& set, uint64_t modseq) {
  auto* impl = dynamic_cast<SelectedMailboxImpl*>(&mailbox);
  if (impl == nullptr) return;
  Result<std::vector<uint32_t>> expunged = impl->mailbox().expunged_since(modseq);
  if (!expunged) return;
  uint32_t largest = mailbox.uidnext() > 1 ? mailbox.uidnext() - 1 : 0;
  std::vector<SequenceRange> wanted = normalize_sequence_set(set, largest);
  std::vector<uint32_t> uids;
  for (uint32_t uid : *expunged) {
    if (ranges_contain(wanted, uid) && !mailbox.seq_of_uid(uid)) uids.push_back(uid);
  }
  if (!uids.empty()) context.untagged("VANISHED (EARLIER) " + format_sequence_set(uids));
}

// RFC 7162 3.1: the first CONDSTORE-enabling command of a session turns CONDSTORE on, and the
// server then MUST report the folder's HIGHESTMODSEQ (as SELECT would have).
void enable_condstore(CommandContext& context, const SelectedMailbox& mailbox) {
  if (context.enabled("CONDSTORE")) return;
  context.enable("CONDSTORE");
  context.untagged(fmt::format("OK [HIGHESTMODSEQ {}] Highest", mailbox.highest_modseq()));
}

}  // namespace

std::string handle_fetch(CommandContext& context, const ImapCommand& command) {
  SelectedMailbox* mailbox = context.selected();
  if (mailbox == nullptr) return "BAD No mailbox selected";
  const std::vector<ImapToken>& args = command.args;
  if (args.size() < 2 || args.size() > 3) return "BAD FETCH needs a sequence set and items";
  Result<FetchRequest> request = parse_fetch_items(args[1], args.size() == 3 ? &args[2] : nullptr);
  if (!request) return "BAD " + request.error().message;
  if (request->vanished && (!command.uid || !context.enabled("QRESYNC"))) {
    return "BAD VANISHED needs UID FETCH with QRESYNC enabled";
  }
  Result<std::vector<uint32_t>> seqs = resolve_argument(*mailbox, args[0], command.uid);
  if (!seqs) return seqs.error().message;
  FetchOptions options;
  options.add_uid = command.uid;
  if (request->changed_since || request->has(FetchItemKind::kModSeq)) {
    enable_condstore(context, *mailbox);  // RFC 7162 3.1: a CONDSTORE enabling command
    options.add_modseq = true;
  }
  if (request->vanished) {
    Result<SequenceSet> set = parse_sequence_set(args[0].text);
    if (set) send_vanished_earlier(context, *mailbox, *set, *request->changed_since);
  }
  bool expunged = false;
  bool unknown_cte = false;
  bool failed = false;
  for (uint32_t seq : *seqs) {
    if (request->changed_since && mailbox->record(seq).modseq <= *request->changed_since) {
      continue;
    }
    switch (send_fetch_response(context, *mailbox, seq, *request, options)) {
      case FetchOutcome::kSent:
        break;
      case FetchOutcome::kExpunged:
        expunged = true;
        break;
      case FetchOutcome::kUnknownCte:
        unknown_cte = true;
        break;
      case FetchOutcome::kFailed:
        failed = true;
        break;
    }
  }
  if (unknown_cte) return "NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding";
  if (expunged) return "NO [EXPUNGEISSUED] Some of the requested messages no longer exist";
  if (failed) return "NO [SERVERBUG] Some messages could not be read";
  return "OK Fetch completed";
}

std::string handle_store(CommandContext& context, const ImapCommand& command) {
  SelectedMailbox* mailbox = context.selected();
  if (mailbox == nullptr) return "BAD No mailbox selected";
  const std::vector<ImapToken>& args = command.args;
  if (args.size() < 3) return "BAD STORE needs a sequence set, an item and flags";
  size_t index = 1;
  FlagChange change;
  if (args[1].kind == ImapToken::Kind::kList) {
    // (UNCHANGEDSINCE n) (RFC 7162 3.1.3)
    const std::vector<ImapToken>& modifiers = args[1].children;
    if (modifiers.size() != 2 || !modifiers[0].is_word("UNCHANGEDSINCE")) {
      return "BAD Invalid STORE modifier";
    }
    std::optional<uint64_t> since = modseq_argument(modifiers[1]);
    if (!since) return "BAD Invalid UNCHANGEDSINCE value";
    change.unchanged_since = *since;
    enable_condstore(context, *mailbox);
    index = 2;
  }
  if (index + 1 >= args.size() || !args[index].is_atom()) return "BAD Invalid STORE item";
  std::string item = ascii_uppercase(args[index].text);
  bool silent = false;
  if (item.size() > 7 && item.compare(item.size() - 7, 7, ".SILENT") == 0) {
    silent = true;
    item.resize(item.size() - 7);
  }
  if (item == "FLAGS") {
    change.op = FlagOp::kReplace;
  } else if (item == "+FLAGS") {
    change.op = FlagOp::kAdd;
  } else if (item == "-FLAGS") {
    change.op = FlagOp::kRemove;
  } else {
    return "BAD Invalid STORE item";
  }
  Result<MessageFlags> flags = parse_store_flags(args, index + 1);
  if (!flags) return flags.error().message;
  change.flags = std::move(*flags);
  Result<std::vector<uint32_t>> seqs = resolve_argument(*mailbox, args[0], command.uid);
  if (!seqs) return seqs.error().message;
  if (mailbox->read_only()) return "NO [READ-ONLY] Mailbox is read-only";
  Result<StoreOutcome> outcome = mailbox->store_flags(*seqs, change);
  if (!outcome) return no_from(outcome.error());
  bool condstore = context.enabled("CONDSTORE");
  std::vector<uint32_t> modified = outcome->modified;  // ascending
  // The messages whose flags changed (as Dovecot: unchanged ones get no FETCH): their FLAGS, or
  // with .SILENT and CONDSTORE only their new MODSEQ (RFC 7162 3.1.3).
  const std::vector<uint32_t>& report = outcome->changed;
  // A keyword new to the folder is announced in FLAGS before a FETCH shows it (and with
  // .SILENT too: the folder's flags changed all the same).
  for (uint32_t seq : report) mailbox->announce_keywords(context, mailbox->record(seq).flags);
  if (!silent || condstore) {
    for (uint32_t seq : report) {
      if (std::binary_search(modified.begin(), modified.end(), seq)) continue;
      const MessageRecord& record = mailbox->record(seq);
      std::string line = fmt::format("{} FETCH (", seq);
      bool first = true;
      if (command.uid) {
        line += fmt::format("UID {}", record.uid);
        first = false;
      }
      if (!silent) {
        if (!first) line += ' ';
        line += "FLAGS (" + format_flags(record.flags, mailbox->recent(seq)) + ")";
        first = false;
      }
      if (condstore) {
        if (!first) line += ' ';
        line += fmt::format("MODSEQ ({})", record.modseq);
      }
      line += ')';
      context.untagged(line);
    }
  }
  if (!modified.empty()) {
    std::vector<uint32_t> numbers = modified;
    if (command.uid) {
      for (uint32_t& number : numbers) number = mailbox->record(number).uid;
    }
    return "OK [MODIFIED " + format_sequence_set(numbers) + "] Conditional STORE failed";
  }
  return "OK Store completed";
}

std::string handle_search(CommandContext& context, const ImapCommand& command) {
  SelectedMailbox* mailbox = context.selected();
  if (mailbox == nullptr) return "BAD No mailbox selected";
  Result<SearchRequest> request = parse_search(command.args, 0);
  if (!request) {
    if (request.error().kind == ErrorKind::kPermanent) {
      return "NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset";
    }
    return "BAD " + request.error().message;
  }
  if (request->has_modseq) enable_condstore(context, *mailbox);
  Result<SearchMatch> match = run_search(*mailbox, request->root);
  if (!match) return "BAD " + match.error().message;
  std::vector<uint32_t> numbers = match->seqs;
  if (command.uid) {
    for (uint32_t& number : numbers) number = mailbox->record(number).uid;
  }
  if (request->result_options) {
    const SearchReturn& options = *request->result_options;
    std::string line = "ESEARCH (TAG \"" + command.tag + "\")";  // tags hold no quote
    if (command.uid) line += " UID";
    if (!numbers.empty()) {
      if (options.min) line += fmt::format(" MIN {}", numbers.front());
      if (options.max) line += fmt::format(" MAX {}", numbers.back());
    }
    if (options.count) line += fmt::format(" COUNT {}", numbers.size());
    if (options.all && !numbers.empty()) line += " ALL " + format_sequence_set(numbers);
    if (request->has_modseq && !numbers.empty()) {
      // RFC 7162 3.1.5: with MIN and/or MAX alone, the mod-sequence is that of the message(s)
      // returned; with ALL or COUNT, the highest of every match.
      uint64_t modseq = match->highest_modseq;
      if (!options.all && !options.count && (options.min || options.max)) {
        modseq = 0;
        if (options.min) modseq = mailbox->record(match->seqs.front()).modseq;
        if (options.max) modseq = std::max(modseq, mailbox->record(match->seqs.back()).modseq);
      }
      line += fmt::format(" MODSEQ {}", modseq);
    }
    context.untagged(line);
    return "OK Search completed";
  }
  std::string line = "SEARCH";
  line.reserve(8 + numbers.size() * 7);
  for (uint32_t number : numbers) {
    line += ' ';
    line += std::to_string(number);
  }
  if (request->has_modseq && !numbers.empty()) {
    line += fmt::format(" (MODSEQ {})", match->highest_modseq);
  }
  context.untagged(line);
  return "OK Search completed";
}

}  // namespace postern::imapd
