// Unit tests for lib/imap/imap_sequence_set.cpp: parsing (valid forms, 0, overflow, leading zeros,
// stray bytes, the range limit at N and N+1), resolving sequence numbers against a count and
// UIDs against a sparse UID list (RFC 3501 6.4.8's "559:*"), huge ranges kept as ranges, and the
// compact writer.
#include "lib/imap/imap_sequence_set.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern {
namespace {

using Ranges = std::vector<SequenceRange>;

SequenceSet parsed(std::string_view text) {
  Result<SequenceSet> set = parse_sequence_set(text);
  EXPECT_TRUE(set.ok()) << text << ": " << (set.ok() ? "" : set.error().message);
  return set.ok() ? *set : SequenceSet{};
}

TEST(ImapSequenceSet, ParsesNumbersRangesAndStar) {
  SequenceSet set = parsed("1:3,5,7:*,*,9:8");
  ASSERT_EQ(set.items.size(), 5u);
  EXPECT_EQ(set.items[0], (SequenceRange{1, 3}));
  EXPECT_EQ(set.items[1], (SequenceRange{5, 5}));
  EXPECT_EQ(set.items[2], (SequenceRange{7, SequenceSet::kStar}));
  EXPECT_EQ(set.items[3], (SequenceRange{SequenceSet::kStar, SequenceSet::kStar}));
  EXPECT_EQ(set.items[4], (SequenceRange{9, 8}));
  EXPECT_FALSE(set.saved);
  EXPECT_EQ(parsed("4294967295").items[0], (SequenceRange{4294967295u, 4294967295u}));
}

TEST(ImapSequenceSet, ParsesSavedResult) {
  SequenceSet set = parsed("$");
  EXPECT_TRUE(set.saved);
  EXPECT_TRUE(set.items.empty());
  EXPECT_FALSE(resolve_sequence_numbers(set, 10).ok());
  EXPECT_TRUE(resolve_uids(set, 3, [](uint32_t s) { return s; }).empty());
}

TEST(ImapSequenceSet, RejectsMalformed) {
  for (std::string_view bad :
       {"",     "0",   "0:3",  "1:0", "01",  "4294967296", "99999999999999999999",
        "1,",   ",1",  "1::2", "1:",  ":1",  "a",          "1 2",
        "1,,2", "**",  "*:",   "1;2", "$,1", "1,$",        "-1",
        "+1",   "1:3 "}) {
    Result<SequenceSet> set = parse_sequence_set(bad);
    EXPECT_FALSE(set.ok()) << "accepted: '" << bad << "'";
    if (!set.ok()) {
      EXPECT_EQ(set.error().kind, ErrorKind::kParse) << bad;
    }
  }
}

TEST(ImapSequenceSet, RangeLimitAtNAndNPlusOne) {
  std::string text = "1";
  for (int i = 2; i <= 10; ++i) text += "," + std::to_string(i);
  EXPECT_TRUE(parse_sequence_set(text, 10).ok());
  Result<SequenceSet> over = parse_sequence_set(text + ",11", 10);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
  // The default limit: N accepted, N+1 refused.
  std::string many;
  for (size_t i = 0; i < kMaxSequenceSetRanges; ++i) many += (i ? ",7" : "7");
  EXPECT_TRUE(parse_sequence_set(many).ok());
  EXPECT_FALSE(parse_sequence_set(many + ",7").ok());
}

TEST(ImapSequenceSet, ResolvesSequenceNumbers) {
  Result<Ranges> ranges = resolve_sequence_numbers(parsed("5,1:2,3,9:*,8"), 10);
  ASSERT_TRUE(ranges.ok());
  EXPECT_EQ(*ranges, (Ranges{{1, 3}, {5, 5}, {8, 10}}));
  EXPECT_EQ(expand_ranges(*ranges), (std::vector<uint32_t>{1, 2, 3, 5, 8, 9, 10}));
  // "*:4" is "4:count"; "*" alone is the last.
  EXPECT_EQ(*resolve_sequence_numbers(parsed("*:4"), 6), (Ranges{{4, 6}}));
  EXPECT_EQ(*resolve_sequence_numbers(parsed("*"), 6), (Ranges{{6, 6}}));
}

TEST(ImapSequenceSet, SequenceNumbersOutOfRangeAreErrors) {
  EXPECT_TRUE(resolve_sequence_numbers(parsed("10"), 10).ok());
  Result<Ranges> over = resolve_sequence_numbers(parsed("11"), 10);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kNotFound);
  EXPECT_FALSE(resolve_sequence_numbers(parsed("1:11"), 10).ok());
  EXPECT_FALSE(resolve_sequence_numbers(parsed("*"), 0).ok());
  EXPECT_FALSE(resolve_sequence_numbers(parsed("1:*"), 0).ok());
}

TEST(ImapSequenceSet, ResolvesUidsAgainstSparseList) {
  std::vector<uint32_t> uids = {3, 4, 10, 11, 12, 40, 100};
  auto uid_of = [&](uint32_t seq) { return uids.at(seq - 1); };
  uint32_t count = static_cast<uint32_t>(uids.size());
  EXPECT_EQ(resolve_uids(parsed("1:4"), count, uid_of), (Ranges{{1, 2}}));
  EXPECT_EQ(resolve_uids(parsed("5:9"), count, uid_of), Ranges{});
  EXPECT_EQ(resolve_uids(parsed("4:11,40"), count, uid_of), (Ranges{{2, 4}, {6, 6}}));
  EXPECT_EQ(resolve_uids(parsed("*"), count, uid_of), (Ranges{{7, 7}}));
  // RFC 3501 6.4.8: 559:* includes the last message even though 559 > every UID.
  EXPECT_EQ(resolve_uids(parsed("559:*"), count, uid_of), (Ranges{{7, 7}}));
  EXPECT_EQ(resolve_uids(parsed("1:*"), count, uid_of), (Ranges{{1, 7}}));
  EXPECT_EQ(resolve_uids(parsed("1:4294967295"), count, uid_of), (Ranges{{1, 7}}));
  EXPECT_EQ(resolve_uids(parsed("4294967295"), count, uid_of), Ranges{});
  EXPECT_EQ(resolve_uids(parsed("12:10,101:200"), count, uid_of), (Ranges{{3, 5}}));
  EXPECT_TRUE(resolve_uids(parsed("1:*"), 0, uid_of).empty());
}

TEST(ImapSequenceSet, HugeRangesStayRanges) {
  // A folder of 4 billion sequence numbers is never materialised: count and membership work
  // on ranges.
  Ranges ranges = normalize_sequence_set(parsed("1:4294967295,7"), 0);
  EXPECT_EQ(ranges, (Ranges{{1, 4294967295u}}));
  EXPECT_EQ(count_in_ranges(ranges), 4294967295ull);
  EXPECT_TRUE(ranges_contain(ranges, 4294967295u));
  Result<Ranges> seqs = resolve_sequence_numbers(parsed("1:*"), 4294967295u);
  ASSERT_TRUE(seqs.ok());
  EXPECT_EQ(count_in_ranges(*seqs), 4294967295ull);
}

TEST(ImapSequenceSet, NormalizesWithStarValue) {
  EXPECT_EQ(normalize_sequence_set(parsed("5:*,1"), 9), (Ranges{{1, 1}, {5, 9}}));
  EXPECT_EQ(normalize_sequence_set(parsed("5:*,1"), 0), (Ranges{{1, 1}}));
  EXPECT_EQ(normalize_sequence_set(parsed("20:*"), 9), (Ranges{{9, 20}}));
}

TEST(ImapSequenceSet, Membership) {
  Ranges ranges = merge_ranges({{10, 12}, {1, 3}, {5, 5}, {4, 4}});
  EXPECT_EQ(ranges, (Ranges{{1, 5}, {10, 12}}));
  for (uint32_t n : {1u, 3u, 5u, 10u, 12u}) EXPECT_TRUE(ranges_contain(ranges, n)) << n;
  for (uint32_t n : {0u, 6u, 9u, 13u, 4294967295u}) EXPECT_FALSE(ranges_contain(ranges, n)) << n;
  EXPECT_FALSE(ranges_contain({}, 1));
}

TEST(ImapSequenceSet, MergeHandlesTopOfRange) {
  EXPECT_EQ(merge_ranges({{4294967295u, 4294967295u}, {1, 4294967294u}}),
            (Ranges{{1, 4294967295u}}));
}

TEST(ImapSequenceSet, FormatsCompactly) {
  EXPECT_EQ(format_sequence_set({}), "");
  EXPECT_EQ(format_sequence_set({7}), "7");
  EXPECT_EQ(format_sequence_set({5, 1, 2, 3, 3, 9, 10, 4294967295u}), "1:3,5,9:10,4294967295");
  EXPECT_EQ(format_sequence_ranges({{1, 1}, {3, 8}}), "1,3:8");
  // Round trip: the written form parses back to the same numbers.
  std::vector<uint32_t> numbers = {2, 3, 4, 8, 20, 21, 30};
  Result<Ranges> back = resolve_sequence_numbers(parsed(format_sequence_set(numbers)), 30);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(expand_ranges(*back), numbers);
}

}  // namespace
}  // namespace postern
