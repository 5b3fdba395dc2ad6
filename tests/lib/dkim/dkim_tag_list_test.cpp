// Unit tests for lib/dkim/dkim_tag_list.cpp and dkim_base64.cpp: the grammar of RFC 6376 3.2
// (whitespace and folding around names, '=' and values; a final ';'), each limit at N and N+1
// (tag count, name bytes, value bytes), duplicate tags, the raw value spans the verifier blanks,
// and base64 with its padding rules.
#include "lib/dkim/dkim_tag_list.hpp"

#include <gtest/gtest.h>

#include <string>

#include "lib/dkim/dkim_base64.hpp"

namespace postern {
namespace {

TEST(DkimTagListTest, ParsesWithWhitespaceAndFolding) {
  std::string text = " v = 1 ;\r\n\ta=rsa-sha256;h=from :\n to; b= ab\r\n cd ;";
  Result<DkimTagList> list = DkimTagList::parse(text);
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->tags().size(), 4u);
  EXPECT_EQ(list->find("v")->value, "1");
  EXPECT_EQ(list->find("a")->value, "rsa-sha256");
  EXPECT_EQ(list->find("h")->value, "from :\n to");
  EXPECT_EQ(list->find("b")->value, "ab\r\n cd");
  EXPECT_EQ(list->find("x"), nullptr);
  const DkimTag& b = *list->find("b");
  EXPECT_EQ(text.substr(b.raw_begin, b.raw_end - b.raw_begin), " ab\r\n cd ");
  EXPECT_EQ(dkim_strip_whitespace(b.value), "abcd");
  EXPECT_EQ(dkim_split_colon_list(list->find("h")->value),
            (std::vector<std::string>{"from", "to"}));
}

TEST(DkimTagListTest, EmptyValuesAndEmptyText) {
  EXPECT_TRUE(DkimTagList::parse("").ok());
  EXPECT_TRUE(DkimTagList::parse(" \r\n ").ok());
  Result<DkimTagList> list = DkimTagList::parse("p=; t=y");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->find("p")->value, "");
  EXPECT_EQ(list->find("t")->value, "y");
}

TEST(DkimTagListTest, RejectsBadSyntax) {
  for (const char* bad : {"a", "a;b=1", "=1", "1a=2", "a=1;;b=2", "a=1; ;", "a b=1", "a=\x7f",
                          "a=\x80", "a=1\x01", "k=rsa; t; p=", "\"\""}) {
    EXPECT_FALSE(DkimTagList::parse(bad).ok()) << bad;
  }
}

TEST(DkimTagListTest, DuplicateTagIsAnError) {
  EXPECT_FALSE(DkimTagList::parse("a=1; a=1").ok());
  EXPECT_TRUE(DkimTagList::parse("a=1; A=1").ok());  // names are case-sensitive
}

TEST(DkimTagListTest, TagCountLimit) {
  std::string text;
  for (size_t i = 0; i < kMaxDkimTags; ++i) text += "t" + std::to_string(i) + "=x;";
  EXPECT_TRUE(DkimTagList::parse(text).ok());
  text += "over=x";
  Result<DkimTagList> over = DkimTagList::parse(text);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

TEST(DkimTagListTest, NameLengthLimit) {
  std::string name(kMaxDkimTagNameBytes, 'n');
  EXPECT_TRUE(DkimTagList::parse(name + "=1").ok());
  Result<DkimTagList> over = DkimTagList::parse(name + "n=1");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

TEST(DkimTagListTest, ValueLengthLimit) {
  std::string value(kMaxDkimTagValueBytes, 'v');
  Result<DkimTagList> at = DkimTagList::parse("b=" + value + "  ");
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(at->find("b")->value.size(), kMaxDkimTagValueBytes);
  Result<DkimTagList> over = DkimTagList::parse("b=" + value + "v");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

TEST(DkimBase64Test, RoundTripsAndRejects) {
  for (std::string bytes : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    std::string text = dkim_base64_encode(bytes);
    Result<std::string> back = dkim_base64_decode(text);
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_EQ(*back, bytes);
  }
  EXPECT_EQ(dkim_base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(dkim_base64_encode("fo"), "Zm8=");
  EXPECT_EQ(*dkim_base64_decode("Zm8"), "fo");  // unpadded is accepted
  for (const char* bad : {"Z", "Zm9=v", "Zm8==", "Z===", "Zm 8=", "Zm8*", "=Zm8"}) {
    EXPECT_FALSE(dkim_base64_decode(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace postern
