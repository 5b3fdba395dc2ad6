// IMAP sequence sets (RFC 3501 9 "sequence-set", RFC 5182 "$"): "1:3,5,7:*" as a client sends
// it for FETCH, STORE, SEARCH, COPY, MOVE, UID EXPUNGE and QRESYNC, resolved against a folder
// either as message sequence numbers or as UIDs, and the compact form servers write back
// (UIDPLUS COPYUID/APPENDUID, ESEARCH ALL, QRESYNC VANISHED). Used by imapd. The text is
// hostile: numbers are 32-bit and non-zero, the number of ranges is bounded (max_ranges), and
// nothing here expands a range: "1:4294967295" stays one range, and resolution against a folder
// yields ranges clipped to the messages that exist, so expanding them is bounded by the folder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern {

// A line holds at most imapd_max_line_length (65536) bytes, "1," is the shortest element.
inline constexpr size_t kMaxSequenceSetRanges = 32768;

// Inclusive range of numbers, first <= last once resolved.
struct SequenceRange {
  uint32_t first = 0;
  uint32_t last = 0;
  bool operator==(const SequenceRange&) const = default;
};

// A sequence set as sent. In items, kStar (0, never a valid number) stands for "*"; a single
// number n is the range n:n; a range is kept in the order written ("5:2" is "2:5" once
// resolved). saved is RFC 5182's "$" (the saved SEARCH result): items is then empty.
struct SequenceSet {
  static constexpr uint32_t kStar = 0;
  std::vector<SequenceRange> items;
  bool saved = false;
};

// Parses "1:3,5,*,7:*" or "$". Errors (kParse): empty element, 0, a number over 4294967295,
// leading zeros, any other byte; kLimit: more than max_ranges elements.
Result<SequenceSet> parse_sequence_set(std::string_view text,
                                       size_t max_ranges = kMaxSequenceSetRanges);

// Message sequence numbers against a folder of count messages: the ranges named, ascending,
// merged, within 1..count. "*" is count. Error (kNotFound, for "BAD Invalid messageset") when
// a number is over count or the folder is empty (count 0: even "*" names no message), or when
// the set is "$" (callers that implement SEARCHRES substitute the saved result first).
Result<std::vector<SequenceRange>> resolve_sequence_numbers(const SequenceSet& set, uint32_t count);

// UIDs against a folder of count messages whose UIDs ascend with the sequence number
// (uid_of_seq(1) < uid_of_seq(2) < ...): the sequence-number ranges of the messages whose UID
// is in the set, ascending and merged. UIDs that do not exist are ignored (RFC 3501 6.4.8);
// "*" is the largest UID, so "559:*" always includes the last message. O(ranges * log count).
std::vector<SequenceRange> resolve_uids(const SequenceSet& set, uint32_t count,
                                        const std::function<uint32_t(uint32_t seq)>& uid_of_seq);

// The set as plain number ranges with "*" standing for star_value (a UID set for UID EXPUNGE or
// QRESYNC's known UIDs): ascending, merged; star_value 0 drops the ranges that use "*".
std::vector<SequenceRange> normalize_sequence_set(const SequenceSet& set, uint32_t star_value);

// Ascending, merged form of any ranges (first > last swapped).
std::vector<SequenceRange> merge_ranges(std::vector<SequenceRange> ranges);

// Total of numbers in ascending merged ranges (64-bit: 1:4294967295 fits).
uint64_t count_in_ranges(const std::vector<SequenceRange>& ranges);

// Binary search in ascending merged ranges.
bool ranges_contain(const std::vector<SequenceRange>& ranges, uint32_t number);

// Every number of ascending merged ranges. The caller bounds the total (count_in_ranges):
// ranges resolved against a folder hold at most its message count.
std::vector<uint32_t> expand_ranges(const std::vector<SequenceRange>& ranges);

// Compact text: "1:3,5,7:9". Numbers in any order, duplicates allowed (written once); "" when
// empty. Runs of consecutive numbers become ranges.
std::string format_sequence_set(std::vector<uint32_t> numbers);
std::string format_sequence_ranges(const std::vector<SequenceRange>& ranges);

}  // namespace postern
