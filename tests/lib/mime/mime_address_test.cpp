// Tests for lib/mime/mime_address.cpp: the lenient ENVELOPE address reader. Expectations from
// Dovecot 2.3.19's ENVELOPE of the same headers.
#include "lib/mime/mime_address.hpp"

#include <gtest/gtest.h>

namespace postern {
namespace {

std::string show(std::string_view value) {
  std::string out;
  auto s = [](const std::optional<std::string>& v) { return v ? "\"" + *v + "\"" : "NIL"; };
  for (const ImapAddress& a : parse_imap_address_list(value)) {
    out += "(" + s(a.name) + " " + s(a.adl) + " " + s(a.mailbox) + " " + s(a.host) + ")";
  }
  return out;
}

TEST(MimeAddress, Forms) {
  EXPECT_EQ(show("\"Joe Q. Public\" <john.q.public@example.com>"),
            "(\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\")");
  EXPECT_EQ(show("(comment) x@y.z (Real Name)"), "(\"Real Name\" NIL \"x\" \"y.z\")");
  EXPECT_EQ(show("Mary Smith <mary@x.test>, jdoe@example.org"),
            "(\"Mary Smith\" NIL \"mary\" \"x.test\")(NIL NIL \"jdoe\" \"example.org\")");
  EXPECT_EQ(show("a@b (c\\) d)"), "(\"c) d\" NIL \"a\" \"b\")");
  EXPECT_EQ(show("<@route1,@route2:u@h>"), "(NIL \"@route1,@route2\" \"u\" \"h\")");
  EXPECT_EQ(show(""), "");
  EXPECT_EQ(show("  \r\n "), "");
}

TEST(MimeAddress, Groups) {
  EXPECT_EQ(show("A Group:Ed Jones <c@a.test>,joe@where.test;, Undisclosed recipients:;"),
            "(NIL NIL \"A Group\" NIL)(\"Ed Jones\" NIL \"c\" \"a.test\")"
            "(NIL NIL \"joe\" \"where.test\")(NIL NIL NIL NIL)"
            "(NIL NIL \"Undisclosed recipients\" NIL)(NIL NIL NIL NIL)");
  EXPECT_EQ(show("g: a@b"), "(NIL NIL \"g\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL NIL NIL)");
}

TEST(MimeAddress, MalformedGetsPlaceholders) {
  EXPECT_EQ(show("@bad, <>, broken <a@>"),
            "(NIL NIL \"MISSING_MAILBOX\" \"bad\")(NIL NIL \"MISSING_MAILBOX\" "
            "\"MISSING_DOMAIN\")(\"broken\" NIL \"a\" \"SYNTAX_ERROR\")");
  EXPECT_EQ(show("justaname"), "(NIL NIL \"justaname\" \"MISSING_DOMAIN\")");
  EXPECT_EQ(show("\"unterminated <a@b>"), "(NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")");
  std::string many;
  for (size_t i = 0; i < kMaxEnvelopeAddresses + 5; ++i) many += "a@b,";
  EXPECT_EQ(parse_imap_address_list(many).size(), kMaxEnvelopeAddresses);
  std::string deep(100000, '(');
  EXPECT_EQ(show(deep + "x@y"), "");  // comments nested too deep swallow the rest
}

}  // namespace
}  // namespace postern
