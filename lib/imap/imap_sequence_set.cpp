// IMAP sequence sets: parsing the hostile text, resolving against a folder without expanding
// ranges, and writing the compact form. See imap_sequence_set.hpp.
#include "lib/imap/imap_sequence_set.hpp"

#include <algorithm>

namespace postern {
namespace {

// One "nz-number" or "*" from text[pos..]: advances pos.
Result<uint32_t> parse_number(std::string_view text, size_t& pos) {
  if (pos < text.size() && text[pos] == '*') {
    ++pos;
    return SequenceSet::kStar;
  }
  size_t start = pos;
  uint64_t value = 0;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
    value = value * 10 + static_cast<uint64_t>(text[pos] - '0');
    if (value > UINT32_MAX) return Error::parse("number out of range in sequence set");
    ++pos;
  }
  if (pos == start) return Error::parse("invalid sequence set");
  if (text[start] == '0') return Error::parse("invalid number in sequence set");  // 0 or 0n
  return static_cast<uint32_t>(value);
}

SequenceRange ordered(uint32_t a, uint32_t b) {
  return a <= b ? SequenceRange{a, b} : SequenceRange{b, a};
}

}  // namespace

Result<SequenceSet> parse_sequence_set(std::string_view text, size_t max_ranges) {
  SequenceSet set;
  if (text == "$") {
    set.saved = true;
    return set;
  }
  if (text.empty()) return Error::parse("empty sequence set");
  size_t pos = 0;
  while (true) {
    if (set.items.size() >= max_ranges) return Error::limit("too many ranges in sequence set");
    Result<uint32_t> first = parse_number(text, pos);
    if (!first) return first.error();
    uint32_t last = *first;
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      Result<uint32_t> second = parse_number(text, pos);
      if (!second) return second.error();
      last = *second;
    }
    set.items.push_back(SequenceRange{*first, last});
    if (pos == text.size()) break;
    if (text[pos] != ',') return Error::parse("invalid sequence set");
    ++pos;
  }
  return set;
}

std::vector<SequenceRange> merge_ranges(std::vector<SequenceRange> ranges) {
  for (SequenceRange& range : ranges) range = ordered(range.first, range.last);
  std::sort(ranges.begin(), ranges.end(), [](const SequenceRange& a, const SequenceRange& b) {
    return a.first < b.first || (a.first == b.first && a.last < b.last);
  });
  std::vector<SequenceRange> merged;
  merged.reserve(ranges.size());
  for (const SequenceRange& range : ranges) {
    // Adjacent ranges join too: 1:3 and 4:5 are 1:5 (last + 1 computed in 64 bits).
    if (!merged.empty() &&
        static_cast<uint64_t>(range.first) <= static_cast<uint64_t>(merged.back().last) + 1) {
      merged.back().last = std::max(merged.back().last, range.last);
    } else {
      merged.push_back(range);
    }
  }
  return merged;
}

Result<std::vector<SequenceRange>> resolve_sequence_numbers(const SequenceSet& set,
                                                            uint32_t count) {
  if (set.saved) return Error::not_found("saved search result ($) not supported");
  if (count == 0) return Error::not_found("no messages");
  std::vector<SequenceRange> ranges;
  ranges.reserve(set.items.size());
  for (const SequenceRange& item : set.items) {
    uint32_t first = item.first == SequenceSet::kStar ? count : item.first;
    uint32_t last = item.last == SequenceSet::kStar ? count : item.last;
    if (first > count || last > count) return Error::not_found("invalid message sequence number");
    ranges.push_back(ordered(first, last));
  }
  return merge_ranges(std::move(ranges));
}

std::vector<SequenceRange> resolve_uids(const SequenceSet& set, uint32_t count,
                                        const std::function<uint32_t(uint32_t seq)>& uid_of_seq) {
  std::vector<SequenceRange> seq_ranges;
  if (set.saved || count == 0) return seq_ranges;
  uint32_t largest = uid_of_seq(count);
  // First sequence number whose UID is >= uid (count + 1 when none).
  auto lower_bound = [&](uint32_t uid) {
    uint32_t low = 1;
    uint32_t high = count + 1;
    while (low < high) {
      uint32_t mid = low + (high - low) / 2;
      if (uid_of_seq(mid) < uid) {
        low = mid + 1;
      } else {
        high = mid;
      }
    }
    return low;
  };
  for (const SequenceRange& item : set.items) {
    uint32_t first = item.first == SequenceSet::kStar ? largest : item.first;
    uint32_t last = item.last == SequenceSet::kStar ? largest : item.last;
    SequenceRange uids = ordered(first, last);
    uint32_t from = lower_bound(uids.first);
    uint32_t to = uids.last == UINT32_MAX ? count + 1 : lower_bound(uids.last + 1);
    if (from < to) seq_ranges.push_back(SequenceRange{from, to - 1});
  }
  return merge_ranges(std::move(seq_ranges));
}

std::vector<SequenceRange> normalize_sequence_set(const SequenceSet& set, uint32_t star_value) {
  std::vector<SequenceRange> ranges;
  ranges.reserve(set.items.size());
  for (const SequenceRange& item : set.items) {
    bool uses_star = item.first == SequenceSet::kStar || item.last == SequenceSet::kStar;
    if (uses_star && star_value == 0) continue;
    uint32_t first = item.first == SequenceSet::kStar ? star_value : item.first;
    uint32_t last = item.last == SequenceSet::kStar ? star_value : item.last;
    ranges.push_back(ordered(first, last));
  }
  return merge_ranges(std::move(ranges));
}

uint64_t count_in_ranges(const std::vector<SequenceRange>& ranges) {
  uint64_t total = 0;
  for (const SequenceRange& range : ranges) total += uint64_t{range.last} - range.first + 1;
  return total;
}

bool ranges_contain(const std::vector<SequenceRange>& ranges, uint32_t number) {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), number,
                             [](uint32_t n, const SequenceRange& r) { return n < r.first; });
  if (it == ranges.begin()) return false;
  --it;
  return number >= it->first && number <= it->last;
}

std::vector<uint32_t> expand_ranges(const std::vector<SequenceRange>& ranges) {
  std::vector<uint32_t> numbers;
  numbers.reserve(static_cast<size_t>(count_in_ranges(ranges)));
  for (const SequenceRange& range : ranges) {
    for (uint64_t n = range.first; n <= range.last; ++n)
      numbers.push_back(static_cast<uint32_t>(n));
  }
  return numbers;
}

std::string format_sequence_ranges(const std::vector<SequenceRange>& ranges) {
  std::string text;
  for (const SequenceRange& range : ranges) {
    if (!text.empty()) text += ',';
    text += std::to_string(range.first);
    if (range.last != range.first) {
      text += ':';
      text += std::to_string(range.last);
    }
  }
  return text;
}

std::string format_sequence_set(std::vector<uint32_t> numbers) {
  std::sort(numbers.begin(), numbers.end());
  std::vector<SequenceRange> ranges;
  for (uint32_t n : numbers) {
    if (!ranges.empty() && (n == ranges.back().last || n == ranges.back().last + 1)) {
      ranges.back().last = n;
    } else {
      ranges.push_back(SequenceRange{n, n});
    }
  }
  return format_sequence_ranges(ranges);
}

}  // namespace postern
