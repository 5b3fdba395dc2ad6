// Unit tests for lib/spf/spf_macro.cpp: the RFC 7208 7.4 examples (IPv4 and IPv6), every
// letter, transformers and delimiters, URL escaping of upper-case letters, %% %_ %-, the
// letters allowed only in explanations, each syntax error, and the bounds at N and N+1: part
// counts (kMaxSpfMacroParts), the 253-octet cut of a domain (7.3), the explanation cap, and a
// huge expansion through the bounded work buffer.
#include "lib/spf/spf_macro.hpp"

#include <gtest/gtest.h>

#include <string>

#include "lib/spf/spf_domain.hpp"

namespace postern::spf {
namespace {

SpfMacroContext rfc_context(const char* client) {
  SpfMacroContext context;
  context.client = *parse_spf_client_address(client);
  context.sender = "strong-bad@email.example.com";
  context.local_part = "strong-bad";
  context.sender_domain = "email.example.com";
  context.domain = "email.example.com";
  context.helo = "mx.example.org";
  context.receiving_host = "receiver.example.net";
  context.now_seconds = 1234567890;
  return context;
}

std::string expand(std::string_view text, const SpfMacroContext& context,
                   SpfMacroUse use = SpfMacroUse::kDomainSpec) {
  Result<std::string> out = expand_spf_macro_string(text, use, context);
  EXPECT_TRUE(out.ok()) << text << ": " << (out.ok() ? "" : out.error().message);
  return out.ok() ? *out : std::string("<error>");
}

TEST(SpfMacro, Rfc7208Section74Letters) {
  SpfMacroContext context = rfc_context("192.0.2.3");
  EXPECT_EQ(expand("%{s}", context), "strong-bad@email.example.com");
  EXPECT_EQ(expand("%{o}", context), "email.example.com");
  EXPECT_EQ(expand("%{d}", context), "email.example.com");
  EXPECT_EQ(expand("%{d4}", context), "email.example.com");
  EXPECT_EQ(expand("%{d3}", context), "email.example.com");
  EXPECT_EQ(expand("%{d2}", context), "example.com");
  EXPECT_EQ(expand("%{d1}", context), "com");
  EXPECT_EQ(expand("%{dr}", context), "com.example.email");
  EXPECT_EQ(expand("%{d2r}", context), "example.email");
  EXPECT_EQ(expand("%{l}", context), "strong-bad");
  EXPECT_EQ(expand("%{l-}", context), "strong.bad");
  EXPECT_EQ(expand("%{lr}", context), "strong-bad");
  EXPECT_EQ(expand("%{lr-}", context), "bad.strong");
  EXPECT_EQ(expand("%{l1r-}", context), "strong");
}

TEST(SpfMacro, Rfc7208Section74Strings) {
  SpfMacroContext v4 = rfc_context("192.0.2.3");
  EXPECT_EQ(expand("%{ir}.%{v}._spf.%{d2}", v4), "3.2.0.192.in-addr._spf.example.com");
  EXPECT_EQ(expand("%{lr-}.lp._spf.%{d2}", v4), "bad.strong.lp._spf.example.com");
  EXPECT_EQ(expand("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", v4),
            "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
  EXPECT_EQ(expand("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", v4),
            "3.2.0.192.in-addr.strong.lp._spf.example.com");
  EXPECT_EQ(expand("%{d2}.trusted-domains.example.net", v4),
            "example.com.trusted-domains.example.net");
  SpfMacroContext v6 = rfc_context("2001:db8::cb01");
  EXPECT_EQ(expand("%{ir}.%{v}._spf.%{d2}", v6),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
}

TEST(SpfMacro, OtherLettersAndExplanationOnlyLetters) {
  SpfMacroContext context = rfc_context("2001:db8::cb01");
  EXPECT_EQ(expand("%{h}", context), "mx.example.org");
  EXPECT_EQ(expand("%{v}", context), "ip6");
  EXPECT_EQ(expand("%{p}", context), "unknown");
  context.validated_name = [] { return std::string("host.example.com"); };
  EXPECT_EQ(expand("%{p}", context), "host.example.com");
  EXPECT_EQ(expand("%{p2}", context), "example.com");
  context.validated_name = [] { return std::string(); };
  EXPECT_EQ(expand("%{p}", context), "unknown");
  EXPECT_EQ(expand("%{c} %{r} %{t}", context, SpfMacroUse::kExplanation),
            "2001:db8::cb01 receiver.example.net 1234567890");
  for (const char* letter : {"%{c}", "%{r}", "%{t}", "%{C}"}) {
    EXPECT_FALSE(check_spf_macro_string(letter, SpfMacroUse::kDomainSpec).ok()) << letter;
    EXPECT_TRUE(check_spf_macro_string(letter, SpfMacroUse::kExplanation).ok()) << letter;
  }
  context.receiving_host = "";
  EXPECT_EQ(expand("%{r}", context, SpfMacroUse::kExplanation), "unknown");
  // An IPv4-mapped client is IPv4 for every letter.
  SpfMacroContext mapped = rfc_context("::ffff:192.0.2.3");
  EXPECT_EQ(expand("%{i} %{c} %{v}", mapped, SpfMacroUse::kExplanation),
            "192.0.2.3 192.0.2.3 in-addr");
}

TEST(SpfMacro, EscapesDelimitersAndUrlEscaping) {
  SpfMacroContext context = rfc_context("192.0.2.3");
  // %_ makes a space even in a domain (the lookup then finds nothing, or an odd zone's name).
  EXPECT_EQ(expand("a%%b%_c%-d.example.com", context), "a%b c%20d.example.com");
  EXPECT_EQ(expand("a%%b%_c%-d", context, SpfMacroUse::kExplanation), "a%b c%20d");
  context.local_part = "~jack&jill=up-a_b3.c";
  EXPECT_EQ(expand("%{L}", context, SpfMacroUse::kExplanation), "~jack%26jill%3Dup-a_b3.c");
  EXPECT_EQ(expand("%{l}", context, SpfMacroUse::kExplanation), "~jack&jill=up-a_b3.c");
  context.local_part = "foo-bar+zip+quux";
  EXPECT_EQ(expand("%{l2r+-}", context), "bar.foo");
  EXPECT_EQ(expand("%{l+}", context), "foo-bar.zip.quux");
  EXPECT_EQ(expand("%{L=/,_}", context), "foo-bar%2Bzip%2Bquux");
  EXPECT_EQ(expand("%{lR-}", context), "bar+zip+quux.foo");
}

TEST(SpfMacro, SyntaxErrors) {
  for (const char* bad : {"%", "foo%", "%x", "%(ir)", "%{", "%{d", "%{x}", "%{d0}", "%{d00}",
                          "%{d2r-x}", "%{dr2}", "%{}", "a b", "caf\xc3\xa9", "tab\there"}) {
    EXPECT_FALSE(check_spf_macro_string(bad, SpfMacroUse::kDomainSpec).ok()) << bad;
    EXPECT_FALSE(
        expand_spf_macro_string(bad, SpfMacroUse::kDomainSpec, rfc_context("192.0.2.3")).ok())
        << bad;
  }
  EXPECT_TRUE(check_spf_macro_string("a b", SpfMacroUse::kExplanation).ok());
  EXPECT_FALSE(check_spf_macro_string("caf\xc3\xa9", SpfMacroUse::kExplanation).ok());
  EXPECT_TRUE(check_spf_macro_string("", SpfMacroUse::kDomainSpec).ok());
}

TEST(SpfMacro, PartCountSaturatesAtTheLimit) {
  SpfMacroContext context = rfc_context("192.0.2.3");
  std::string many;
  for (size_t i = 0; i < kMaxSpfMacroParts + 2; ++i) many += "x.";
  many += "end";  // kMaxSpfMacroParts + 3 parts
  context.local_part = many;
  std::string at_limit =
      expand("%{l" + std::to_string(kMaxSpfMacroParts) + "}", context, SpfMacroUse::kExplanation);
  EXPECT_EQ(std::count(at_limit.begin(), at_limit.end(), '.') + 1,
            static_cast<long>(kMaxSpfMacroParts));
  // Past the limit a count keeps every part, as a count larger than the parts does.
  EXPECT_EQ(expand("%{l" + std::to_string(kMaxSpfMacroParts + 1) + "}", context,
                   SpfMacroUse::kExplanation),
            many);
  EXPECT_EQ(expand("%{l99999999999999999999}", context, SpfMacroUse::kExplanation), many);
}

TEST(SpfMacro, DomainCutTo253OctetsByWholeLabels) {
  SpfMacroContext context = rfc_context("192.0.2.3");
  std::string label63(63, 'a');
  // 63 * 4 + 3 dots = 255 octets; with "x." in front 257.
  std::string four = label63 + "." + label63 + "." + label63 + "." + label63;
  std::string exactly_253 = std::string(61, 'b') + "." + label63 + "." + label63 + "." + label63;
  ASSERT_EQ(exactly_253.size(), kMaxSpfDomainBytes);
  context.local_part = exactly_253;
  EXPECT_EQ(expand("%{l}", context), exactly_253);
  EXPECT_EQ(expand("%{l}.", context), exactly_253);  // a trailing dot is dropped first
  std::string over = std::string(62, 'b') + "." + label63 + "." + label63 + "." + label63;
  ASSERT_EQ(over.size(), kMaxSpfDomainBytes + 1);
  context.local_part = over;
  EXPECT_EQ(expand("%{l}", context), label63 + "." + label63 + "." + label63);
  context.local_part = four;
  EXPECT_EQ(expand("%{l}", context), label63 + "." + label63 + "." + label63);
}

TEST(SpfMacro, HugeDomainExpansionKeepsItsRightHandSide) {
  SpfMacroContext context = rfc_context("192.0.2.3");
  std::string value;
  while (value.size() < 900) value += "label" + std::to_string(value.size()) + ".";
  value += "example.com";
  context.local_part = value;
  std::string text;
  for (int i = 0; i < 40; ++i) text += "%{l}.";  // about 36 kB before the cut
  text += "tail.example";
  std::string naive;
  for (int i = 0; i < 40; ++i) naive += value + ".";
  naive += "tail.example";
  std::string out = expand(text, context);
  EXPECT_EQ(out, spf_truncate_domain(naive));
  EXPECT_LE(out.size(), kMaxSpfDomainBytes);
  EXPECT_TRUE(out.ends_with(".tail.example"));
}

TEST(SpfMacro, ExplanationIsPrintableAscii) {
  SpfMacroContext context = rfc_context("192.0.2.3");
  context.local_part = "a\r\nb\x7f\xc3\xa9";
  EXPECT_EQ(expand("%{l} denied", context, SpfMacroUse::kExplanation), "a??b??? denied");
  // A domain keeps the octets: DNS carries them, and the lookup then finds nothing.
  EXPECT_EQ(expand("%{l}.example.com", context), "a\r\nb\x7f\xc3\xa9.example.com");
}

TEST(SpfMacro, ExplanationStopsAtItsCap) {
  SpfMacroContext context = rfc_context("192.0.2.3");
  std::string exactly(kMaxSpfExplanationBytes, 'e');
  EXPECT_EQ(expand(exactly, context, SpfMacroUse::kExplanation), exactly);
  EXPECT_EQ(expand(exactly + "f", context, SpfMacroUse::kExplanation), exactly);
  std::string half(kMaxSpfExplanationBytes / 2, 'e');
  context.local_part = half;
  EXPECT_EQ(expand("%{l}%{l}%{l}", context, SpfMacroUse::kExplanation).size(),
            kMaxSpfExplanationBytes);
}

}  // namespace
}  // namespace postern::spf
