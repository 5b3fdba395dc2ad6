// Tests for lib/smtp/address.cpp: the RFC 5321 Path/Mailbox grammar (valid, invalid, every byte
// value in each position), the RFC 5321 4.5.3.1 limits at N and N+1, UTF-8 well-formedness
// under SMTPUTF8, source routes, the null path, <Postmaster> and to_string quoting.
#include "lib/smtp/address.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern {
namespace {

AddressOptions plain() {
  return AddressOptions{};
}
AddressOptions utf8() {
  AddressOptions o;
  o.allow_utf8 = true;
  return o;
}

Address path_ok(std::string_view text, const AddressOptions& options = plain()) {
  Result<Address> a = parse_path(text, options);
  EXPECT_TRUE(a.ok()) << "rejected: " << text << ": " << (a.ok() ? "" : a.error().message);
  return a.ok() ? *a : Address{};
}

bool path_accepted(std::string_view text, const AddressOptions& options = plain()) {
  return parse_path(text, options).ok();
}

// A domain of exactly n bytes made of labels of at most 63 bytes.
std::string make_domain(size_t n) {
  std::string d;
  while (d.size() < n) {
    size_t left = n - d.size();
    size_t len = std::min<size_t>(63, left);
    if (left - len == 1) --len;  // leave room for ".x" rather than end with a dot
    d += std::string(len, 'd');
    if (d.size() < n) d += '.';
  }
  return d;
}

TEST(AddressValid, SimpleAndCaseOfDomain) {
  Address a = path_ok("<User.Name+tag@Mail.Example.COM>");
  EXPECT_EQ(a.local_part, "User.Name+tag");
  EXPECT_EQ(a.domain, "mail.example.com");
  EXPECT_FALSE(a.is_null());
  EXPECT_EQ(a.to_string(), "User.Name+tag@mail.example.com");
}

TEST(AddressValid, EveryAtextCharacter) {
  Address a = path_ok("<!#$%&'*+-/=?^_`{|}~09azAZ@x.y>");
  EXPECT_EQ(a.local_part, "!#$%&'*+-/=?^_`{|}~09azAZ");
  EXPECT_EQ(a.to_string(), "!#$%&'*+-/=?^_`{|}~09azAZ@x.y");
}

TEST(AddressValid, QuotedStrings) {
  Address a = path_ok("<\"john doe\"@example.com>");
  EXPECT_EQ(a.local_part, "john doe");
  EXPECT_EQ(a.to_string(), "\"john doe\"@example.com");
  a = path_ok(R"(<"a\"b\\c\d"@x>)");
  EXPECT_EQ(a.local_part, R"(a"b\cd)");
  EXPECT_EQ(a.to_string(), R"("a\"b\\cd"@x)");
  a = path_ok("<\"plain\"@x>");  // needs no quotes: written without them
  EXPECT_EQ(a.to_string(), "plain@x");
  a = path_ok("<\"\"@x>");
  EXPECT_EQ(a.local_part, "");
  EXPECT_FALSE(a.is_null());
  EXPECT_EQ(a.to_string(), "\"\"@x");
  a = path_ok("<\"a..b.\"@x>");
  EXPECT_EQ(a.to_string(), "\"a..b.\"@x");
  a = path_ok("<\"a>b@c\"@x>");
  EXPECT_EQ(a.local_part, "a>b@c");
}

TEST(AddressValid, Domains) {
  EXPECT_EQ(path_ok("<u@a-b.c0m>").domain, "a-b.c0m");
  EXPECT_EQ(path_ok("<u@1.2.3.4>").domain, "1.2.3.4");  // Domain grammar allows digits
  EXPECT_EQ(path_ok("<u@localhost>").domain, "localhost");
  EXPECT_EQ(path_ok("<u@a--b.x>").domain, "a--b.x");
}

TEST(AddressValid, AddressLiterals) {
  EXPECT_EQ(path_ok("<u@[192.0.2.1]>").domain, "[192.0.2.1]");
  EXPECT_EQ(path_ok("<u@[IPv6:2001:DB8::1]>").domain, "[IPv6:2001:db8::1]");
  EXPECT_EQ(path_ok("<u@[ipv6:::1]>").domain, "[IPv6:::1]");
  EXPECT_EQ(path_ok("<u@[IPv6:::ffff:192.0.2.1]>").domain, "[IPv6:::ffff:192.0.2.1]");
  EXPECT_EQ(path_ok("<u@[192.0.2.1]>").to_string(), "u@[192.0.2.1]");
}

TEST(AddressValid, SourceRouteIsDropped) {
  Address a = path_ok("<@a.example,@b.example:user@c.example>");
  EXPECT_EQ(a.to_string(), "user@c.example");
  a = path_ok("<@a.example:user@c.example>");
  EXPECT_EQ(a.to_string(), "user@c.example");
  AddressOptions no_route;
  no_route.allow_source_route = false;
  EXPECT_FALSE(path_accepted("<@a.example:user@c.example>", no_route));
  for (const char* bad : {"<@:u@x>", "<@a,:u@x>", "<@a,b:u@x>", "<@a.:u@x>", "<@a u@x>",
                          "<@[1.2.3.4]:u@x>", "<@a,@b>"}) {
    EXPECT_FALSE(path_accepted(bad)) << bad;
  }
}

TEST(AddressValid, NullPath) {
  AddressOptions null_ok;
  null_ok.allow_null = true;
  Address a = path_ok("<>", null_ok);
  EXPECT_TRUE(a.is_null());
  EXPECT_EQ(a.to_string(), "");
  EXPECT_FALSE(path_accepted("<>"));
  EXPECT_FALSE(parse_mailbox("", null_ok).ok());
}

TEST(AddressValid, BarePostmaster) {
  AddressOptions rcpt;
  rcpt.allow_bare_postmaster = true;
  for (const char* text : {"<postmaster>", "<Postmaster>", "<POSTMASTER>"}) {
    Address a = path_ok(text, rcpt);
    EXPECT_EQ(a.local_part, "postmaster");
    EXPECT_EQ(a.domain, "");
    EXPECT_EQ(a.to_string(), "postmaster");
    EXPECT_FALSE(path_accepted(text)) << text;  // only where asked for (RCPT TO)
  }
  EXPECT_FALSE(path_accepted("<postmistress>", rcpt));
  EXPECT_EQ(path_ok("<Postmaster@Example.com>").local_part, "Postmaster");
}

TEST(AddressValid, ParseMailboxWithoutBrackets) {
  Result<Address> a = parse_mailbox("alice@example.org", plain());
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->to_string(), "alice@example.org");
  EXPECT_FALSE(parse_mailbox("<alice@example.org>", plain()).ok());
  EXPECT_FALSE(parse_mailbox("alice", plain()).ok());
}

TEST(AddressInvalid, Syntax) {
  for (const char* bad : {
           "",
           "<",
           ">",
           "user@example.com",
           "<user@example.com",
           "user@example.com>",
           "<user>",
           "<@example.com>",
           "<user@>",
           "<.user@x>",
           "<user.@x>",
           "<us..er@x>",
           "<user@-x.com>",
           "<user@x-.com>",
           "<user@x..com>",
           "<user@x.com.>",
           "<user@.x.com>",
           "<us er@x>",
           "< user@x>",
           "<user@x >",
           "<user@x_y.com>",
           "<a@b@c>",
           "<a\"b@c>",
           "<\"unterminated@x>",
           "<\"a\"b@x>",
           "<\"a\"@>",
           "<user@x.com>>",
           "<<user@x.com>",
           "<user@[1.2.3]>",
           "<user@[256.1.1.1]>",
           "<user@[1.2.3.4.5]>",
           "<user@[IPv6:zz]>",
           "<user@[IPv6:1.2.3.4]>",
           "<user@[tag:text]>",
           "<user@[x-tag:1]>",
           "<user@[]>",
           "<user@[1.2.3.4>",
           "<user@[1.2.3.4]x>",
           "<user@[ 1.2.3.4]>",
           "<user\\@x>",
           "<user@x.com\r>",
           "<user@x\n.com>",
           "<(comment)user@x>",
           "<user@exa mple.com>",
       }) {
    EXPECT_FALSE(path_accepted(bad, utf8())) << bad;
  }
  EXPECT_FALSE(path_accepted(std::string_view("<u\0@x>", 6)));
  EXPECT_FALSE(path_accepted(std::string_view("<u@x\0y>", 7)));
  EXPECT_FALSE(path_accepted(std::string_view("<\"a\0\"@x>", 8)));
  EXPECT_FALSE(path_accepted(std::string_view("<u@[1.2.3.4\0]>", 14)));
}

TEST(AddressInvalid, QuotedStringControlsAndPairs) {
  EXPECT_FALSE(path_accepted("<\"a\tb\"@x>"));
  EXPECT_FALSE(path_accepted("<\"a\x01\"@x>"));
  EXPECT_FALSE(path_accepted("<\"a\\\x01\"@x>"));  // quoted-pair of a control character
  EXPECT_FALSE(path_accepted("<\"a\x7f\"@x>"));
  EXPECT_FALSE(path_accepted("<\"a\\\"@x>"));  // the closing quote is escaped
  EXPECT_TRUE(path_accepted("<\"a\\ b\"@x>"));
  EXPECT_TRUE(path_accepted("<\"~ !#[]\"@x>"));
}

// Every byte value in each position of the grammar, one at a time.
TEST(AddressBytes, EveryByteInALocalPart) {
  const std::string atext =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~";
  for (int b = 0; b < 256; ++b) {
    char c = static_cast<char>(b);
    std::string text = std::string("<a") + c + "b@x.y>";
    bool expected = atext.find(c) != std::string::npos || c == '.';
    EXPECT_EQ(path_accepted(text, utf8()), expected) << "byte " << b;
  }
}

TEST(AddressBytes, EveryByteInAQuotedString) {
  for (int b = 0; b < 256; ++b) {
    char c = static_cast<char>(b);
    std::string text = std::string("<\"a") + c + "\"@x.y>";
    bool expected = b >= 32 && b <= 126 && c != '"' && c != '\\';
    EXPECT_EQ(path_accepted(text, utf8()), expected) << "byte " << b;
    std::string pair = std::string("<\"a\\") + c + "b\"@x.y>";
    EXPECT_EQ(path_accepted(pair, utf8()), b >= 32 && b <= 126) << "quoted-pair byte " << b;
  }
}

TEST(AddressBytes, EveryByteInADomainLabel) {
  for (int b = 0; b < 256; ++b) {
    char c = static_cast<char>(b);
    std::string text = std::string("<u@a") + c + "b.example>";
    bool expected = std::isalnum(b) != 0 || c == '-' || c == '.';
    if (b >= 0x80) expected = false;  // not UTF-8 on its own
    EXPECT_EQ(path_accepted(text, utf8()), expected) << "byte " << b;
  }
}

TEST(AddressBytes, EveryPrefixOfAPathIsRejected) {
  std::string full = "<@r.example,@s:\"q q\"@[IPv6:2001:db8::1]>";
  for (size_t n = 0; n < full.size(); ++n) {
    EXPECT_FALSE(path_accepted(full.substr(0, n))) << full.substr(0, n);
    EXPECT_EQ(find_path_end(full.substr(0, n)), std::string_view::npos);
  }
  EXPECT_TRUE(path_accepted(full));
  EXPECT_EQ(find_path_end(full), full.size());
}

TEST(AddressLimits, LocalPartAtNAndNPlusOne) {
  std::string local64(kMaxLocalPartBytes, 'l');
  EXPECT_EQ(path_ok("<" + local64 + "@x.y>").local_part, local64);
  Result<Address> over = parse_path("<" + local64 + "l@x.y>", plain());
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
  // A quoted local part counts as written, quotes included.
  std::string quoted64 = "\"" + std::string(kMaxLocalPartBytes - 2, ' ') + "\"";
  EXPECT_TRUE(path_accepted("<" + quoted64 + "@x.y>"));
  std::string quoted65 = "\"" + std::string(kMaxLocalPartBytes - 1, ' ') + "\"";
  EXPECT_FALSE(path_accepted("<" + quoted65 + "@x.y>"));
}

TEST(AddressLimits, LabelAtNAndNPlusOne) {
  std::string label63(kMaxLabelBytes, 'a');
  EXPECT_TRUE(path_accepted("<u@" + label63 + ".example>"));
  EXPECT_TRUE(path_accepted("<u@x." + label63 + ">"));
  Result<Address> over = parse_path("<u@" + label63 + "a.example>", plain());
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
  EXPECT_FALSE(path_accepted("<u@x." + label63 + "a>"));
}

TEST(AddressLimits, DomainAtNAndNPlusOne) {
  std::string domain255 = make_domain(kMaxDomainBytes);
  ASSERT_EQ(domain255.size(), 255u);
  Result<Address> ok = parse_mailbox("u@" + domain255, plain());
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->domain, domain255);
  std::string domain256 = make_domain(kMaxDomainBytes + 1);
  ASSERT_EQ(domain256.size(), 256u);
  Result<Address> over = parse_mailbox("u@" + domain256, plain());
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
  // The same for an address literal.
  std::string literal256 = "[IPv6:" + std::string(247, '0') + ":1]";
  ASSERT_EQ(literal256.size(), 256u);
  EXPECT_EQ(parse_mailbox("u@" + literal256, plain()).error().kind, ErrorKind::kLimit);
}

TEST(AddressLimits, PathAtNAndNPlusOne) {
  std::string local64(kMaxLocalPartBytes, 'l');
  // "<" + 64 + "@" + domain + ">" = 256 when the domain has 189 bytes.
  std::string path256 = "<" + local64 + "@" + make_domain(189) + ">";
  ASSERT_EQ(path256.size(), kMaxPathBytes);
  EXPECT_TRUE(path_accepted(path256));
  std::string path257 = "<" + local64 + "@" + make_domain(190) + ">";
  ASSERT_EQ(path257.size(), kMaxPathBytes + 1);
  Result<Address> over = parse_path(path257, plain());
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
  // A bare mailbox has no path limit: only the local part and domain limits apply.
  EXPECT_TRUE(parse_mailbox(local64 + "@" + make_domain(255), plain()).ok());
}

TEST(AddressUtf8, OnlyWhenAllowed) {
  std::string text = "<用户@例子.广告>";
  EXPECT_FALSE(path_accepted(text));
  Address a = path_ok(text, utf8());
  EXPECT_EQ(a.local_part, "用户");
  EXPECT_EQ(a.domain, "例子.广告");
  EXPECT_EQ(a.to_string(), "用户@例子.广告");
  EXPECT_FALSE(path_accepted("<ü@x.de>"));
  EXPECT_TRUE(path_accepted("<ü@x.de>", utf8()));
  EXPECT_FALSE(path_accepted("<u@bücher.de>"));
  EXPECT_EQ(path_ok("<u@BÜCHER.de>", utf8()).domain, "bÜcher.de");  // ASCII-only lower-casing
  EXPECT_EQ(path_ok("<\"ü ü\"@x>", utf8()).to_string(), "\"ü ü\"@x");
  EXPECT_FALSE(path_accepted("<\"ü\"@x>"));
}

TEST(AddressUtf8, MalformedSequencesAreRejected) {
  struct Case {
    const char* bytes;
    bool valid;
  };
  const Case cases[] = {
      {"\xc3\xa9", true},           // U+00E9
      {"\xc0\xaf", false},          // overlong '/'
      {"\xc1\xbf", false},          // overlong
      {"\xe0\x80\xaf", false},      // overlong 3-byte
      {"\xe0\xa0\x80", true},       // U+0800
      {"\xed\x9f\xbf", true},       // U+D7FF
      {"\xed\xa0\x80", false},      // surrogate U+D800
      {"\xed\xbf\xbf", false},      // surrogate U+DFFF
      {"\xef\xbf\xbf", true},       // U+FFFF
      {"\xf0\x80\x80\xaf", false},  // overlong 4-byte
      {"\xf0\x90\x80\x80", true},   // U+10000
      {"\xf4\x8f\xbf\xbf", true},   // U+10FFFF
      {"\xf4\x90\x80\x80", false},  // above U+10FFFF
      {"\xf5\x80\x80\x80", false},
      {"\xff", false},
      {"\x80", false},      // lone continuation
      {"\xe4\xbd", false},  // truncated
      {"\xc3", false},
      {"\xc3\x28", false},  // bad continuation
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::PrintToString(std::string(c.bytes)));
    EXPECT_EQ(is_valid_utf8(c.bytes), c.valid);
    EXPECT_EQ(path_accepted(std::string("<a") + c.bytes + "@x.y>", utf8()), c.valid);
    EXPECT_EQ(path_accepted(std::string("<\"a") + c.bytes + "\"@x.y>", utf8()), c.valid);
    EXPECT_EQ(path_accepted(std::string("<u@a") + c.bytes + ".y>", utf8()), c.valid);
  }
}

TEST(AddressToString, RoundTrips) {
  for (const char* text : {"<a@b.c>", "<\"a b\"@c.d>", "<\"a\\\\b\"@c.d>", "<\"\\\"\"@c.d>",
                           "<a.b-c@[IPv6:::1]>", "<\".a\"@b.c>", "<\"a.\"@b.c>"}) {
    Address a = path_ok(text, utf8());
    Result<Address> again = parse_mailbox(a.to_string(), utf8());
    ASSERT_TRUE(again.ok()) << text << " -> " << a.to_string();
    EXPECT_EQ(again->local_part, a.local_part);
    EXPECT_EQ(again->domain, a.domain);
  }
  EXPECT_TRUE(is_dot_string("a.b", false));
  EXPECT_FALSE(is_dot_string("a..b", false));
  EXPECT_FALSE(is_dot_string("", false));
  EXPECT_FALSE(is_dot_string("ü", false));
  EXPECT_TRUE(is_dot_string("ü", true));
}

TEST(AddressHelpers, StripExtension) {
  EXPECT_EQ(strip_extension("user+tag", "+"), "user");
  EXPECT_EQ(strip_extension("user+tag+more", "+"), "user");
  EXPECT_EQ(strip_extension("user-tag+x", "+-"), "user");
  EXPECT_EQ(strip_extension("user", "+"), "user");
  EXPECT_EQ(strip_extension("+tag", "+"), "+tag");
  EXPECT_EQ(strip_extension("user+tag", ""), "user+tag");
}

TEST(AddressHelpers, FindPathEnd) {
  EXPECT_EQ(find_path_end("<a@b> SIZE=1"), 5u);
  EXPECT_EQ(find_path_end("<> BODY=8BITMIME"), 2u);
  EXPECT_EQ(find_path_end("<\"a>b\"@c> x"), 9u);
  EXPECT_EQ(find_path_end("<\"a\\\">\"@b> x"), 10u);
  EXPECT_EQ(find_path_end("<a"), std::string_view::npos);
  EXPECT_EQ(find_path_end("a@b>"), std::string_view::npos);
  EXPECT_EQ(find_path_end(""), std::string_view::npos);
  EXPECT_EQ(find_path_end("<\"a>"), std::string_view::npos);
}

}  // namespace
}  // namespace postern
