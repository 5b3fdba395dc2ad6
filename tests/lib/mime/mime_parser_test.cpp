// Tests for lib/mime/mime_parser.cpp: part offsets, boundaries (preamble, epilogue, missing final
// boundary, header cut by a boundary), parameters, part numbering, each limit at N and N+1, and
// hostile shapes (endless nesting, a huge header, boundary floods) that must stay fast.
#include "lib/mime/mime_parser.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

namespace postern {
namespace {

std::string_view body_of(std::string_view m, const MimePart& p) {
  return m.substr(p.body_start, p.body_end - p.body_start);
}
std::string_view header_of(std::string_view m, const MimePart& p) {
  return m.substr(p.header_start, p.header_end - p.header_start);
}

TEST(MimeParser, SinglePartOffsets) {
  std::string m = "Subject: x\r\nContent-Type: Text/HTML; Charset=\"utf-8\"\r\n\r\nab\r\ncd";
  MimeTree tree = parse_mime(m);
  ASSERT_EQ(tree.parts.size(), 1u);
  const MimePart& p = tree.parts[0];
  EXPECT_EQ(header_of(m, p), "Subject: x\r\nContent-Type: Text/HTML; Charset=\"utf-8\"\r\n\r\n");
  EXPECT_EQ(body_of(m, p), "ab\r\ncd");
  EXPECT_EQ(p.body_lines, 1u);
  EXPECT_EQ(p.type, "Text");
  EXPECT_TRUE(p.is_type("text", "html"));
  EXPECT_EQ(mime_param(p.type_params, "charset"), std::optional<std::string_view>("utf-8"));
  EXPECT_FALSE(tree.limited);
}

TEST(MimeParser, MultipartPreambleEpilogueAndOffsets) {
  std::string m =
      "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\npreamble\r\n--b\r\nContent-Type: "
      "text/plain\r\n\r\nfirst\r\n--b \r\n\r\nsecond\r\n\r\n--b--\r\nepilogue\r\n";
  MimeTree tree = parse_mime(m);
  ASSERT_EQ(tree.parts.size(), 3u);
  ASSERT_EQ(tree.parts[0].children.size(), 2u);
  const MimePart& a = tree.parts[tree.parts[0].children[0]];
  const MimePart& b = tree.parts[tree.parts[0].children[1]];
  EXPECT_EQ(header_of(m, a), "Content-Type: text/plain\r\n\r\n");
  EXPECT_EQ(body_of(m, a), "first");
  EXPECT_EQ(header_of(m, b), "\r\n");
  EXPECT_EQ(body_of(m, b), "second\r\n");
  EXPECT_TRUE(b.type_defaulted);
  EXPECT_EQ(body_of(m, tree.parts[0]), m.substr(m.find("preamble")));
}

TEST(MimeParser, BareLfAndHeaderCutByBoundary) {
  std::string m =
      "Content-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain\n--q\n\nx\n--q--\n";
  MimeTree tree = parse_mime(m);
  ASSERT_EQ(tree.parts[0].children.size(), 2u);
  const MimePart& cut = tree.parts[tree.parts[0].children[0]];
  EXPECT_EQ(header_of(m, cut), "Content-Type: text/plain\n");
  EXPECT_EQ(cut.body_size(), 0u);
  EXPECT_EQ(body_of(m, tree.parts[tree.parts[0].children[1]]), "x");
}

TEST(MimeParser, OuterBoundaryEndsInnerMultipart) {
  std::string m =
      "Content-Type: multipart/mixed; boundary=outer\r\n\r\n--outer\r\nContent-Type: "
      "multipart/alternative; boundary=inner\r\n\r\n--inner\r\n\r\nA\r\n--outer\r\n\r\nB\r\n"
      "--outer--\r\n";
  MimeTree tree = parse_mime(m);
  ASSERT_EQ(tree.parts[0].children.size(), 2u);
  const MimePart& inner = tree.parts[tree.parts[0].children[0]];
  ASSERT_EQ(inner.children.size(), 1u);
  EXPECT_EQ(body_of(m, tree.parts[inner.children[0]]), "A");
  EXPECT_EQ(body_of(m, tree.parts[tree.parts[0].children[1]]), "B");
}

TEST(MimeParser, Rfc2231AndQuotedParameters) {
  std::string m =
      "Content-Type: application/x; (c) a=\"q\\\"x\"; b*1=\"two\"; b*0=one; c*=utf-8''%41;\r\n"
      " junk; d = (cmt) \"e f\"\r\n\r\n";
  MimeTree tree = parse_mime(m);
  const auto& params = tree.parts[0].type_params;
  ASSERT_EQ(params.size(), 4u);
  EXPECT_EQ(params[0].name, "a");
  EXPECT_EQ(params[0].value, "q\"x");
  EXPECT_EQ(params[1].name, "d");
  EXPECT_EQ(params[1].value, "e f");
  EXPECT_EQ(params[2].name, "b");
  EXPECT_EQ(params[2].value, "onetwo");
  EXPECT_EQ(params[3].name, "c*");
  EXPECT_EQ(params[3].value, "utf-8''%41");
}

TEST(MimeParser, PartNumbers) {
  std::string m =
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\nContent-Type: "
      "message/rfc822\r\n\r\nSubject: in\r\n\r\ninner\r\n--b--\r\n";
  MimeTree tree = parse_mime(m);
  auto at = [&](std::vector<uint32_t> path) { return find_mime_part(tree, path); };
  EXPECT_EQ(at({}), 0u);
  ASSERT_TRUE(at({1}));
  EXPECT_EQ(body_of(m, tree.parts[*at({1})]), "one");
  EXPECT_EQ(at({1, 1}), at({1}));  // a leaf's part 1 is itself (Dovecot)
  EXPECT_FALSE(at({1, 2}));
  ASSERT_TRUE(at({2}));
  EXPECT_TRUE(tree.parts[*at({2})].is_message());
  ASSERT_TRUE(at({2, 1}));
  EXPECT_EQ(body_of(m, tree.parts[*at({2, 1})]), "inner");
  EXPECT_FALSE(at({3}));
  EXPECT_FALSE(at({0}));
  EXPECT_FALSE(at({2, 2}));
  MimeTree single = parse_mime("Subject: s\r\n\r\nbody");
  EXPECT_EQ(find_mime_part(single, {1}), 0u);
  EXPECT_FALSE(find_mime_part(single, {2}));
}

std::string nested_multiparts(int levels) {
  std::string m;
  for (int i = 0; i < levels; ++i) {
    // "b<i>x": no boundary is a prefix of another.
    m += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "x\r\n\r\n--b" +
         std::to_string(i) + "x\r\n";
  }
  m += "\r\nleaf\r\n";
  return m;
}

uint32_t max_depth(const MimeTree& tree) {
  uint32_t depth = 0;
  for (const MimePart& p : tree.parts) depth = std::max(depth, p.depth);
  return depth;
}

TEST(MimeParser, DepthLimitAtNAndNPlusOne) {
  MimeLimits limits;
  limits.max_depth = 10;
  // 10 nested multiparts: the leaf sits at depth 10, the limit: accepted.
  MimeTree ok = parse_mime(nested_multiparts(10), limits);
  EXPECT_FALSE(ok.limited);
  EXPECT_EQ(max_depth(ok), 10u);
  EXPECT_EQ(ok.parts.size(), 11u);
  // 11: the innermost multipart may not hold parts.
  MimeTree over = parse_mime(nested_multiparts(11), limits);
  EXPECT_TRUE(over.limited);
  EXPECT_EQ(max_depth(over), 10u);
  EXPECT_TRUE(over.parts.back().is_multipart());
  EXPECT_TRUE(over.parts.back().children.empty());
}

std::string many_parts(int count) {
  std::string m = "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (int i = 0; i < count; ++i) m += "--b\r\n\r\npart" + std::to_string(i) + "\r\n";
  m += "--b--\r\n";
  return m;
}

TEST(MimeParser, PartsLimitAtNAndNPlusOne) {
  MimeLimits limits;
  limits.max_parts = 100;  // the root and 99 parts
  MimeTree ok = parse_mime(many_parts(99), limits);
  EXPECT_FALSE(ok.limited);
  EXPECT_EQ(ok.parts.size(), 100u);
  std::string m = many_parts(100);
  MimeTree over = parse_mime(m, limits);
  EXPECT_TRUE(over.limited);
  EXPECT_EQ(over.parts.size(), 100u);
  EXPECT_EQ(over.parts[0].body_end, m.size());
}

TEST(MimeParser, HeaderFieldLimitAtNAndNPlusOne) {
  MimeLimits limits;
  limits.max_header_fields = 5;
  std::string four = "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n";
  MimeTree ok = parse_mime(four + "Content-Type: text/html\r\n\r\nx", limits);
  EXPECT_TRUE(ok.parts[0].is_type("text", "html"));
  MimeTree over = parse_mime(four + "E: 5\r\nContent-Type: text/html\r\n\r\nx", limits);
  EXPECT_TRUE(over.parts[0].is_type("text", "plain"));  // the 6th field is not read
}

TEST(MimeParser, HostileInputsStayLinear) {
  auto started = std::chrono::steady_clock::now();
  // Endless nesting of message/rfc822.
  std::string nest;
  for (int i = 0; i < 100000; ++i) nest += "Content-Type: message/rfc822\r\n\r\n";
  MimeTree a = parse_mime(nest);
  EXPECT_TRUE(a.limited);
  EXPECT_EQ(max_depth(a), MimeLimits{}.max_depth);
  // One 4 MB header field.
  std::string huge = "Subject: " + std::string(4 << 20, 'x') + "\r\n\r\nbody";
  MimeTree b = parse_mime(huge);
  EXPECT_EQ(body_of(huge, b.parts[0]), "body");
  // 50 open multiparts, then 200,000 lines that start with "--" but match none.
  std::string flood = nested_multiparts(50);
  for (int i = 0; i < 200000; ++i) flood += "--b\r\n";  // "--b" is a prefix of none
  MimeTree c = parse_mime(flood);
  EXPECT_LE(c.parts.size(), 52u);
  // A multipart whose every line is its boundary: parts up to the limit, then opaque.
  std::string boundaries = "Content-Type: multipart/mixed; boundary=x\r\n\r\n";
  for (int i = 0; i < 200000; ++i) boundaries += "--x\r\n";
  MimeTree d = parse_mime(boundaries);
  EXPECT_TRUE(d.limited);
  EXPECT_EQ(d.parts.size(), MimeLimits{}.max_parts);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST(MimeParser, FedByteByByteEveryPrefixParses) {
  // Every prefix of a message is a message too: parse each one (catches reads past the end).
  std::string m =
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: "
      "message/rfc822\r\n\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\nx"
      "\r\n--c--\r\n--b--\r\n";
  for (size_t n = 0; n <= m.size(); ++n) {
    std::string prefix = m.substr(0, n);
    MimeTree tree = parse_mime(prefix);
    for (const MimePart& p : tree.parts) {
      ASSERT_LE(p.header_start, p.header_end);
      ASSERT_EQ(p.header_end, p.body_start);
      ASSERT_LE(p.body_start, p.body_end);
      ASSERT_LE(p.body_end, prefix.size());
    }
  }
}

TEST(MimeParser, HeaderFields) {
  std::string m = "A: 1\r\nB:\r\n two\r\n no colon\r\nC : 3\r\n\r\nbody";
  MimeTree tree = parse_mime(m);
  auto fields = mime_header_fields(m, tree.parts[0]);
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].name, "A");
  EXPECT_EQ(fields[1].value, "\r\n two\r\n no colon");
  EXPECT_EQ(fields[2].name, "C");
  EXPECT_EQ(fields[2].raw, "C : 3\r\n");
  EXPECT_EQ(mime_header_fields(m, tree.parts[0], 2).size(), 2u);
}

TEST(MimeParser, CrispinTortureTestStructure) {
  const std::string path = POSTERN_SHARED_TESTDATA "/mime-torture/crispin-torture-test.eml";
  std::ifstream in(path, std::ios::binary);
  if (!in) GTEST_SKIP() << "torture test message not found at " << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string m = buffer.str();
  MimeTree tree = parse_mime(m);
  EXPECT_FALSE(tree.limited);
  EXPECT_EQ(m.size(), 1845213u);
  // Dovecot's BODYSTRUCTURE: 12 top-level parts; part 3 is a message/rfc822 holding audio/basic
  // (561308 bytes, base64); part 12.3 an embedded message nested further.
  ASSERT_EQ(tree.parts[0].children.size(), 12u);
  auto p3 = find_mime_part(tree, {3});
  ASSERT_TRUE(p3);
  EXPECT_EQ(tree.parts[*p3].body_size(), 562270u);
  EXPECT_EQ(tree.parts[*p3].body_lines, 7605u);
  auto p31 = find_mime_part(tree, {3, 1});
  ASSERT_TRUE(p31);
  EXPECT_TRUE(tree.parts[*p31].is_type("audio", "basic"));
  EXPECT_EQ(tree.parts[*p31].body_size(), 561308u);
  auto p11 = find_mime_part(tree, {11});
  ASSERT_TRUE(p11);
  EXPECT_EQ(tree.parts[*p11].body_size(), 103687u);  // the close delimiter's line end counts
  EXPECT_TRUE(find_mime_part(tree, {12, 3}));
  EXPECT_FALSE(find_mime_part(tree, {13}));
}

}  // namespace
}  // namespace postern
