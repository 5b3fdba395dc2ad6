// SEARCH evaluation over the selected folder: the key tree from lib/imap/imap_search_keys, matched
// message by message. Runs in postern-imapd on the event loop. Cheap first: flag, size, date,
// UID, sequence and MODSEQ keys are answered from the index records without opening a file;
// AND/OR evaluate their cheap children first, so a file is read only for messages that are
// still candidates. Header keys read the message's header only (the file up to its empty line,
// at most kMaxSearchHeaderBytes, else the whole message); BODY and TEXT read and decode the
// message (lib/mime/mime_search). Strings compare as UTF-8, case-folded (lib/mime/charset), header values
// RFC 2047-decoded. Trusts the index; message bytes are hostile. Recursion is bounded by the
// parser's SearchLimits::max_depth.
#pragma once

#include <cstdint>
#include <vector>

#include "imapd/selected_mailbox.hpp"
#include "lib/imap/imap_search_keys.hpp"
#include "lib/base/result.hpp"

namespace postern::imapd {

inline constexpr size_t kMaxSearchHeaderBytes = 256 * 1024;

struct SearchMatch {
  std::vector<uint32_t> seqs;   // matching message sequence numbers, ascending
  uint64_t highest_modseq = 0;  // the largest MODSEQ among them (RFC 7162 3.1.5)
};

// Errors: kNotFound when the criteria use "$" (no saved result: SEARCHRES is not offered).
// Sequence numbers beyond the folder simply match nothing.
Result<SearchMatch> run_search(SelectedMailbox& mailbox, const SearchKey& root);

}  // namespace postern::imapd
