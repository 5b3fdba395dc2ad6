// The SelectedMailbox of imapd (imapd/selected_mailbox.hpp) on the mail store's shared Mailbox
// (imapd/mail_store.hpp): one session's sequence-number view (a UID per number, 4 bytes per
// message), its \Recent messages, and the reporting of what others changed since: EXPUNGE (or
// VANISHED with QRESYNC), EXISTS, RECENT and FETCH FLAGS. Runs in postern-imapd on the event
// loop. Trusts the Mailbox (our own index); sequence numbers come from handlers that checked
// them against count(). Limits: the view is bounded by the folder (kMaxMessagesPerFolder).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "imapd/mail_store.hpp"
#include "imapd/selected_mailbox.hpp"
#include "lib/imap/imap_sequence_set.hpp"

namespace postern::imapd {

// "\Seen \Answered ... keyword" (no parentheses), \Recent last when recent.
std::string format_flags(const MessageFlags& flags, bool recent);

class SelectedMailboxImpl : public SelectedMailbox {
 public:
  // The view starts with every message the Mailbox has now. A read-write session claims the
  // \Recent messages (RFC 3501 2.3.2); read_only (EXAMINE) only looks.
  SelectedMailboxImpl(std::string name, std::shared_ptr<Mailbox> mailbox, bool read_only);
  ~SelectedMailboxImpl() override;

  const std::string& name() const override { return name_; }
  bool read_only() const override { return read_only_; }
  uint32_t uidvalidity() const override { return mailbox_->uidvalidity(); }
  uint32_t uidnext() const override { return mailbox_->uidnext(); }
  uint64_t highest_modseq() const override { return mailbox_->highest_modseq(); }

  uint32_t count() const override { return static_cast<uint32_t>(uids_.size()); }
  const MessageRecord& record(uint32_t seq) const override;
  bool recent(uint32_t seq) const override;
  std::optional<uint32_t> seq_of_uid(uint32_t uid) const override;

  Result<std::string> message_bytes(uint32_t seq) override;
  std::optional<std::string> cached(uint32_t seq, CacheKind kind) override;
  void store_cached(uint32_t seq, CacheKind kind, const std::string& text) override;

  Result<StoreOutcome> store_flags(const std::vector<uint32_t>& seqs,
                                   const FlagChange& change) override;
  Status mark_seen(uint32_t seq) override;
  void announce_keywords(CommandContext& context, const MessageFlags& flags) override;

  void report_changes(CommandContext& context, bool allow_expunge) override;
  void set_change_callback(std::function<void()> callback) override;

  // For the folder commands (commands_mailbox*.cpp).
  Mailbox& mailbox() { return *mailbox_; }
  const std::shared_ptr<Mailbox>& shared_mailbox() const { return mailbox_; }
  uint32_t uid(uint32_t seq) const { return uids_[seq - 1]; }
  uint32_t recent_count() const;
  // The first message without \Seen (SELECT's [UNSEEN n]); 0 when none.
  uint32_t first_unseen() const;
  // The keywords in use in the folder, sorted, bounded by kMaxListedKeywords.
  std::vector<std::string> keywords_in_use() const;
  // "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]" with the keywords this session has been
  // told of (at SELECT: those in use then; more as announce_keywords finds new ones).
  void send_flags(CommandContext& context) const;
  // Message sequence numbers of a sequence set (uid: as UIDs), ascending. Error kNotFound for
  // a message number beyond count() (BAD), never for UIDs.
  Result<std::vector<uint32_t>> resolve(const SequenceSet& set, bool uid) const;
  // Remembers a flag change this session made itself (not reported back as FETCH).
  void note_own_change(uint32_t uid, uint64_t modseq);

  // Keywords listed in FLAGS at most: past it a keyword is shown in FETCH without being
  // announced (a folder with that many is not a mail client's), so that a folder that keeps
  // growing new keywords cannot make every session resend an ever longer FLAGS.
  static constexpr size_t kMaxListedKeywords = 256;

 private:
  bool has_unreported() const;
  // Adds the keywords of flags that this session was not told of to announced_keywords_
  // (within kMaxListedKeywords); true when there was any.
  bool note_keywords(const MessageFlags& flags);
  void claim_recent_until(uint32_t up_to_uid);

  std::string name_;
  std::shared_ptr<Mailbox> mailbox_;
  bool read_only_;
  std::vector<uint32_t> uids_;                          // this session's view: seq - 1 -> UID
  std::vector<SequenceRange> recent_uids_;              // \Recent for this session, merged
  uint64_t reported_modseq_ = 0;                        // every change up to here was reported
  std::unordered_map<uint32_t, uint64_t> own_changes_;  // uid -> modseq of our own STOREs
  std::set<std::string> announced_keywords_;            // in this session's last FLAGS
  mutable std::unordered_map<uint32_t, MessageRecord> gone_;  // expunged, not yet reported
  ChangeSubscription subscription_;
  std::function<void()> callback_;
};

}  // namespace postern::imapd
