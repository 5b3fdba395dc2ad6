// One session's view of its selected folder (see selected_mailbox_impl.hpp).
#include "imapd/selected_mailbox_impl.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <utility>

#include "imapd/command_context.hpp"
#include "lib/base/log.hpp"

namespace postern::imapd {
namespace {

constexpr std::pair<uint8_t, const char*> kSystemFlagNames[] = {
    {kFlagSeen, "\\Seen"},       {kFlagAnswered, "\\Answered"}, {kFlagFlagged, "\\Flagged"},
    {kFlagDeleted, "\\Deleted"}, {kFlagDraft, "\\Draft"},
};

constexpr std::string_view kSystemFlags = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";

bool same_or_newer_own(const std::unordered_map<uint32_t, uint64_t>& own, uint32_t uid,
                       uint64_t modseq) {
  const auto found = own.find(uid);
  return found != own.end() && found->second >= modseq;
}

}  // namespace

std::string format_flags(const MessageFlags& flags, bool recent) {
  std::string out;
  for (const auto& [bit, text] : kSystemFlagNames) {
    if ((flags.system & bit) == 0) continue;
    if (!out.empty()) out.push_back(' ');
    out += text;
  }
  for (const std::string& keyword : flags.keywords) {
    if (!out.empty()) out.push_back(' ');
    out += keyword;
  }
  if (recent) {
    if (!out.empty()) out.push_back(' ');
    out += "\\Recent";
  }
  return out;
}

SelectedMailboxImpl::SelectedMailboxImpl(std::string name, std::shared_ptr<Mailbox> mailbox,
                                         bool read_only)
    : name_(std::move(name)), mailbox_(std::move(mailbox)), read_only_(read_only) {
  const auto& records = mailbox_->records();
  uids_.reserve(records.size());
  for (const MessageRecord& record : records) uids_.push_back(record.uid);
  reported_modseq_ = mailbox_->highest_modseq();
  const std::vector<std::string> in_use = keywords_in_use();
  announced_keywords_.insert(in_use.begin(), in_use.end());
  claim_recent_until(uids_.empty() ? 0 : uids_.back() + 1);
}

SelectedMailboxImpl::~SelectedMailboxImpl() = default;

void SelectedMailboxImpl::claim_recent_until(uint32_t up_to_uid) {
  if (up_to_uid == 0) return;
  uint32_t first = up_to_uid;
  if (read_only_) {
    first = mailbox_->first_recent_uid();
  } else {
    auto claimed = mailbox_->claim_recent(up_to_uid);
    if (!claimed.ok()) {
      log::warning("imapd: cannot claim \\Recent in {}: {}", mailbox_->path(),
                   claimed.error().describe());
      return;
    }
    first = *claimed;
  }
  if (first == 0 || first >= up_to_uid) return;
  recent_uids_.push_back({first, up_to_uid - 1});
  recent_uids_ = merge_ranges(std::move(recent_uids_));
}

const MessageRecord& SelectedMailboxImpl::record(uint32_t seq) const {
  const uint32_t id = uids_[seq - 1];
  if (const MessageRecord* found = mailbox_->find(id)) return *found;
  // Expunged by someone else and not reported yet: the number still names it for this session.
  auto [it, inserted] = gone_.try_emplace(id);
  if (inserted) it->second.uid = id;
  return it->second;
}

bool SelectedMailboxImpl::recent(uint32_t seq) const {
  return ranges_contain(recent_uids_, uids_[seq - 1]);
}

uint32_t SelectedMailboxImpl::recent_count() const {
  uint32_t total = 0;
  for (const SequenceRange& range : recent_uids_) {
    const auto first = std::lower_bound(uids_.begin(), uids_.end(), range.first);
    const auto last = std::upper_bound(first, uids_.end(), range.last);
    total += static_cast<uint32_t>(last - first);
  }
  return total;
}

std::optional<uint32_t> SelectedMailboxImpl::seq_of_uid(uint32_t uid) const {
  const auto found = std::lower_bound(uids_.begin(), uids_.end(), uid);
  if (found == uids_.end() || *found != uid) return std::nullopt;
  return static_cast<uint32_t>(found - uids_.begin()) + 1;
}

uint32_t SelectedMailboxImpl::first_unseen() const {
  for (uint32_t seq = 1; seq <= count(); ++seq) {
    const MessageRecord* found = mailbox_->find(uids_[seq - 1]);
    if (found != nullptr && (found->flags.system & kFlagSeen) == 0) return seq;
  }
  return 0;
}

std::vector<std::string> SelectedMailboxImpl::keywords_in_use() const {
  std::set<std::string> keywords;
  for (const MessageRecord& record : mailbox_->records()) {
    for (const std::string& keyword : record.flags.keywords) {
      if (keywords.size() >= kMaxListedKeywords) break;
      keywords.insert(keyword);
    }
  }
  return {keywords.begin(), keywords.end()};
}

void SelectedMailboxImpl::send_flags(CommandContext& context) const {
  std::string flags(kSystemFlags);
  for (const std::string& keyword : announced_keywords_) flags += " " + keyword;
  context.untagged("FLAGS (" + flags + ")");
  if (read_only_) {
    context.untagged("OK [PERMANENTFLAGS ()] Read-only mailbox.");
  } else {
    context.untagged("OK [PERMANENTFLAGS (" + flags + " \\*)] Flags permitted.");
  }
}

bool SelectedMailboxImpl::note_keywords(const MessageFlags& flags) {
  bool grew = false;
  for (const std::string& keyword : flags.keywords) {
    if (announced_keywords_.size() >= kMaxListedKeywords) break;
    grew = announced_keywords_.insert(keyword).second || grew;
  }
  return grew;
}

void SelectedMailboxImpl::announce_keywords(CommandContext& context, const MessageFlags& flags) {
  if (note_keywords(flags)) send_flags(context);
}

Result<std::vector<uint32_t>> SelectedMailboxImpl::resolve(const SequenceSet& set, bool uid) const {
  if (uid) {
    return expand_ranges(
        resolve_uids(set, count(), [this](uint32_t seq) { return uids_[seq - 1]; }));
  }
  auto ranges = resolve_sequence_numbers(set, count());
  if (!ranges.ok()) return ranges.error();
  return expand_ranges(*ranges);
}

Result<std::string> SelectedMailboxImpl::message_bytes(uint32_t seq) {
  return mailbox_->message_bytes(uids_[seq - 1]);
}

std::optional<std::string> SelectedMailboxImpl::cached(uint32_t seq, CacheKind kind) {
  return mailbox_->cached(uids_[seq - 1], kind);
}

void SelectedMailboxImpl::store_cached(uint32_t seq, CacheKind kind, const std::string& text) {
  Status stored = mailbox_->store_cached(uids_[seq - 1], kind, text);
  if (!stored.ok()) {
    log::warning("imapd: cache write failed in {}: {}", mailbox_->path(),
                 stored.error().describe());
  }
}

void SelectedMailboxImpl::note_own_change(uint32_t uid, uint64_t modseq) {
  uint64_t& known = own_changes_[uid];
  known = std::max(known, modseq);
}

Result<StoreOutcome> SelectedMailboxImpl::store_flags(const std::vector<uint32_t>& seqs,
                                                      const FlagChange& change) {
  if (read_only_) {
    return Error{ErrorKind::kPermanent, "[READ-ONLY] Mailbox is read-only", 0};
  }
  std::vector<uint32_t> uids;
  uids.reserve(seqs.size());
  for (uint32_t seq : seqs) uids.push_back(uids_[seq - 1]);
  auto stored = mailbox_->store_flags(uids, change);
  if (!stored.ok()) return stored.error();
  StoreOutcome outcome;
  for (const MessageRecord& record : stored->changed) {
    note_own_change(record.uid, record.modseq);
    if (auto seq = seq_of_uid(record.uid)) outcome.changed.push_back(*seq);
  }
  for (uint32_t uid : stored->modified) {
    if (auto seq = seq_of_uid(uid)) outcome.modified.push_back(*seq);
  }
  std::sort(outcome.changed.begin(), outcome.changed.end());
  std::sort(outcome.modified.begin(), outcome.modified.end());
  return outcome;
}

Status SelectedMailboxImpl::mark_seen(uint32_t seq) {
  if (read_only_) return Status::success();
  const MessageRecord* found = mailbox_->find(uids_[seq - 1]);
  if (found == nullptr || (found->flags.system & kFlagSeen) != 0) return Status::success();
  FlagChange change;
  change.op = FlagOp::kAdd;
  change.flags.system = kFlagSeen;
  // Noted as our own change: the FETCH handler reports the new FLAGS in its own reply
  // (RFC 3501 6.4.5), so report_changes does not send them a second time.
  auto stored = mailbox_->store_flags({found->uid}, change);
  if (!stored.ok()) return stored.error();
  for (const MessageRecord& record : stored->changed) note_own_change(record.uid, record.modseq);
  return Status::success();
}

bool SelectedMailboxImpl::has_unreported() const {
  const auto& records = mailbox_->records();
  if (records.size() != uids_.size()) return true;
  if (!uids_.empty() && records.back().uid != uids_.back()) return true;
  return mailbox_->highest_modseq() != reported_modseq_;
}

void SelectedMailboxImpl::report_changes(CommandContext& context, bool allow_expunge) {
  auto synced = mailbox_->sync();
  if (!synced.ok()) {
    log::warning("imapd: sync of {} failed: {}", mailbox_->path(), synced.error().describe());
  }
  const auto& records = mailbox_->records();
  const bool qresync = context.enabled("QRESYNC");
  const bool condstore = qresync || context.enabled("CONDSTORE");

  // 1. Expunged messages. Nothing was expunged when the first count() records are exactly this
  //    session's UIDs (new UIDs only ever come above them): one comparison in the usual case.
  const bool none_expunged = uids_.empty() || (records.size() >= uids_.size() &&
                                               records[uids_.size() - 1].uid == uids_.back());
  if (allow_expunge && !none_expunged) {
    std::vector<uint32_t> kept;
    std::vector<uint32_t> gone_seqs;
    std::vector<uint32_t> gone_uids;
    kept.reserve(uids_.size());
    for (size_t i = 0; i < uids_.size(); ++i) {
      if (mailbox_->find(uids_[i]) != nullptr) {
        kept.push_back(uids_[i]);
      } else {
        gone_seqs.push_back(static_cast<uint32_t>(i + 1));
        gone_uids.push_back(uids_[i]);
      }
    }
    if (!gone_uids.empty()) {
      if (qresync) {
        context.untagged("VANISHED " + format_sequence_set(gone_uids));
      } else {
        // Highest first: each line then names the message by the number the client has now.
        for (auto it = gone_seqs.rbegin(); it != gone_seqs.rend(); ++it) {
          context.untagged(fmt::format("{} EXPUNGE", *it));
        }
      }
      uids_ = std::move(kept);
      for (uint32_t id : gone_uids) {
        gone_.erase(id);
        own_changes_.erase(id);
      }
    }
  }

  // 2. New messages: every record above this session's last UID.
  const uint32_t last_known = uids_.empty() ? 0 : uids_.back();
  auto first_new =
      std::upper_bound(records.begin(), records.end(), last_known,
                       [](uint32_t uid, const MessageRecord& record) { return uid < record.uid; });
  if (first_new != records.end()) {
    // Their keywords are the folder's from now on: FLAGS before the client can FETCH them.
    bool grew = false;
    for (auto it = first_new; it != records.end(); ++it) grew = note_keywords(it->flags) || grew;
    if (grew) send_flags(context);
    for (auto it = first_new; it != records.end(); ++it) uids_.push_back(it->uid);
    claim_recent_until(uids_.back() + 1);
    context.untagged(fmt::format("{} EXISTS", uids_.size()));
    context.untagged(fmt::format("{} RECENT", recent_count()));
  }

  // 3. Flags changed by others since the last report.
  if (mailbox_->highest_modseq() != reported_modseq_) {
    auto changes = mailbox_->changes_since(reported_modseq_);
    if (changes.ok()) {
      std::vector<uint32_t> seqs;
      for (const IndexChange& change : *changes) {
        if (change.expunged || change.uid > last_known) continue;
        if (same_or_newer_own(own_changes_, change.uid, change.modseq)) continue;
        if (auto seq = seq_of_uid(change.uid)) seqs.push_back(*seq);
      }
      std::sort(seqs.begin(), seqs.end());
      seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
      for (uint32_t seq : seqs) {
        const MessageRecord* found = mailbox_->find(uids_[seq - 1]);
        if (found == nullptr) continue;
        announce_keywords(context, found->flags);
        std::string line = fmt::format("{} FETCH (UID {} FLAGS ({})", seq, found->uid,
                                       format_flags(found->flags, recent(seq)));
        if (condstore) line += fmt::format(" MODSEQ ({})", found->modseq);
        line.push_back(')');
        context.untagged(line);
      }
    } else {
      log::warning("imapd: change log of {} unreadable: {}", mailbox_->path(),
                   changes.error().describe());
    }
    reported_modseq_ = mailbox_->highest_modseq();
  }
  own_changes_.clear();
}

void SelectedMailboxImpl::set_change_callback(std::function<void()> callback) {
  callback_ = std::move(callback);
  if (!callback_) {
    subscription_.reset();
    return;
  }
  subscription_ = mailbox_->subscribe([this] {
    if (callback_ && has_unreported()) callback_();
  });
}

}  // namespace postern::imapd
