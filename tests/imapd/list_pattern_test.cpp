// Unit tests for imapd/list_pattern.cpp: "*" and "%" against the hierarchy separator, the
// reference joined in front, INBOX case-insensitivity, "below" matching for parents, and a
// hostile "*%*%*..." pattern that must stay linear (timed against a generous bound).
#include "imapd/list_pattern.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace postern::imapd {
namespace {

bool match(std::string_view reference, std::string_view pattern, std::string_view name) {
  return ListPattern(reference, pattern, '.').matches(name);
}

TEST(ListPatternTest, StarMatchesEverything) {
  EXPECT_TRUE(match("", "*", "INBOX"));
  EXPECT_TRUE(match("", "*", "a.b.c"));
  EXPECT_TRUE(match("", "*", ""));
  EXPECT_TRUE(match("", "a*", "a.b"));
  EXPECT_FALSE(match("", "b*", "a.b"));
}

TEST(ListPatternTest, PercentStopsAtSeparator) {
  EXPECT_TRUE(match("", "%", "Sent"));
  EXPECT_FALSE(match("", "%", "a.b"));
  EXPECT_TRUE(match("", "a.%", "a.b"));
  EXPECT_FALSE(match("", "a.%", "a.b.c"));
  EXPECT_TRUE(match("", "%.%", "a.b"));
  EXPECT_TRUE(match("", "a%c", "abbc"));
  EXPECT_FALSE(match("", "a%c", "ab.c"));
}

TEST(ListPatternTest, LiteralsMustMatchExactly) {
  EXPECT_TRUE(match("", "Sent", "Sent"));
  EXPECT_FALSE(match("", "Sent", "sent"));
  EXPECT_FALSE(match("", "Sent", "Sent2"));
  EXPECT_FALSE(match("", "Sent2", "Sent"));
}

TEST(ListPatternTest, ReferenceIsJoinedInFront) {
  EXPECT_TRUE(match("Archive.", "%", "Archive.2024"));
  EXPECT_FALSE(match("Archive.", "%", "Archive"));
  EXPECT_FALSE(match("Archive.", "%", "Archive.2024.Q1"));
  EXPECT_TRUE(match("Archive.", "*", "Archive.2024.Q1"));
  EXPECT_EQ(ListPattern("a.", "b", '.').text(), "a.b");
}

TEST(ListPatternTest, InboxIsCaseInsensitive) {
  EXPECT_TRUE(match("", "inbox", "INBOX"));
  EXPECT_TRUE(match("", "InBoX", "INBOX"));
  EXPECT_TRUE(match("", "inbox.%", "INBOX.Work"));
  EXPECT_FALSE(match("", "inbox.work", "INBOX.Work"));  // only INBOX itself folds
  EXPECT_FALSE(match("", "inboxes", "INBOXES"));        // not an INBOX name
  EXPECT_TRUE(match("", "inb*", "INBOX"));
  EXPECT_FALSE(match("", "*x", "INBOX"));  // the fold is for patterns that spell INBOX
  EXPECT_FALSE(match("", "%box", "INBOX"));
  EXPECT_TRUE(match("", "inb%", "inbound"));  // other names compare exactly
}

TEST(ListPatternTest, WildcardRunsFold) {
  EXPECT_EQ(ListPattern("", "a**b", '.').text(), "a*b");
  EXPECT_EQ(ListPattern("", "a%%b", '.').text(), "a%b");
  EXPECT_EQ(ListPattern("", "a%*%b", '.').text(), "a*b");
  EXPECT_TRUE(match("", "a%*%b", "a.x.b"));
}

TEST(ListPatternTest, MayMatchBelow) {
  ListPattern percent("", "%", '.');
  EXPECT_FALSE(percent.may_match_below("a"));
  ListPattern child("", "a.%", '.');
  EXPECT_TRUE(child.may_match_below("a"));
  EXPECT_FALSE(child.may_match_below("b"));
  ListPattern star("", "*", '.');
  EXPECT_TRUE(star.may_match_below("anything"));
}

TEST(ListPatternTest, LiteralLimitAtBoundary) {
  const std::string at_limit(kMaxPatternLiteralBytes, 'x');
  EXPECT_TRUE(match("", at_limit, at_limit));
  const std::string over(kMaxPatternLiteralBytes + 1, 'x');
  ListPattern too_long("", over, '.');
  EXPECT_TRUE(too_long.matches_nothing());
  EXPECT_FALSE(too_long.matches(over));
  // Wildcards do not count towards the limit.
  std::string wild = at_limit + std::string(5000, '%');
  EXPECT_FALSE(ListPattern("", wild, '.').matches_nothing());
}

TEST(ListPatternTest, HostilePatternStaysLinear) {
  // Classic backtracking bait: "*%*%*%...x" against a long name without 'x'.
  std::string pattern;
  for (int i = 0; i < 500; ++i) pattern += "a*%";
  pattern += "x";
  const std::string name(250, 'a');
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(match("", pattern, name));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 2000);
  // And the same shape that does match.
  EXPECT_TRUE(match("", "a*%a*%a", name));
}

}  // namespace
}  // namespace postern::imapd
