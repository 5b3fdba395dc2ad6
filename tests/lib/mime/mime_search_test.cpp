// Tests for lib/mime/mime_search.cpp: header values and text parts decoded for SEARCH.
#include "lib/mime/mime_search.hpp"

#include <gtest/gtest.h>

#include "lib/mime/charset.hpp"

namespace postern {
namespace {

TEST(MimeSearch, HeaderValue) {
  EXPECT_EQ(searchable_header_value(" =?iso-8859-1?q?caf=E9?=\r\n au lait"), " caf\xc3\xa9 au lait");
}

TEST(MimeSearch, BodyTextOfTextPartsDecoded) {
  std::string m =
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; "
      "charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9\r\n--b\r\n"
      "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b\r\n"
      "Content-Type: message/rfc822\r\n\r\nSubject: x\r\nContent-Type: text/html; "
      "charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPGI+SGk8L2I+\r\n--b\r\n"
      "Content-Type: text/plain; charset=x-unknown-set\r\n\r\nraw \xff\r\n--b--\r\n";
  MimeTree tree = parse_mime(m);
  std::vector<std::string> texts;
  for_each_body_text(m, tree, [&](std::string_view text) {
    texts.emplace_back(text);
    return true;
  });
  ASSERT_EQ(texts.size(), 3u);
  EXPECT_EQ(texts[0], "Caf\xc3\xa9");
  EXPECT_EQ(texts[1], "<b>Hi</b>");
  EXPECT_EQ(texts[2], "raw \xef\xbf\xbd");
  EXPECT_TRUE(utf8_contains_casefold(texts[0], "CAF\xc3\x89"));
  size_t visits = 0;
  for_each_body_text(m, tree, [&](std::string_view) { return ++visits < 2; });
  EXPECT_EQ(visits, 2u);
}

}  // namespace
}  // namespace postern
