// Unit tests for lib/dkim/dkim_canonicalization.cpp and dkim_body_hash.cpp: the examples of
// RFC 6376 3.4.5 written out, every split of that body giving the same bytes, LF-only folding,
// the empty-body hashes, l= truncation, and the header block of 3.7 (instances taken from the
// bottom, names not present contributing nothing).
#include "lib/dkim/dkim_canonicalization.hpp"

#include <gtest/gtest.h>

#include <string>

#include "lib/dkim/dkim_base64.hpp"
#include "lib/dkim/dkim_body_hash.hpp"

namespace postern {
namespace {

std::string body(DkimCanon canon, std::string_view text, size_t chunk = 1 << 20,
                 std::optional<uint64_t> limit = std::nullopt, uint64_t* total = nullptr) {
  std::string out;
  DkimBodyCanonicalizer canonicalizer(canon, limit, [&](std::string_view b) { out += b; });
  for (size_t at = 0; at < text.size(); at += chunk) canonicalizer.add(text.substr(at, chunk));
  canonicalizer.finish();
  if (total) *total = canonicalizer.canonical_bytes();
  return out;
}

// RFC 6376 3.4.5, written out: "A: X", "B : Y<TAB>", folded "<TAB>Z  ", and the body.
const std::string kExampleBody = " C \r\nD \t E\r\n\r\n\r\n";

TEST(DkimCanonicalizationTest, Rfc6376Example345Relaxed) {
  EXPECT_EQ(dkim_canonicalize_header(DkimCanon::kRelaxed, "A", " X"), "a:X\r\n");
  EXPECT_EQ(dkim_canonicalize_header(DkimCanon::kRelaxed, "B ", " Y\t\r\n\tZ  "), "b:Y Z\r\n");
  EXPECT_EQ(body(DkimCanon::kRelaxed, kExampleBody), " C\r\nD E\r\n");
}

TEST(DkimCanonicalizationTest, Rfc6376Example345Simple) {
  EXPECT_EQ(dkim_canonicalize_header(DkimCanon::kSimple, "A", " X"), "A: X\r\n");
  EXPECT_EQ(dkim_canonicalize_header(DkimCanon::kSimple, "B ", " Y\t\r\n\tZ  "),
            "B : Y\t\r\n\tZ  \r\n");
  EXPECT_EQ(body(DkimCanon::kSimple, kExampleBody), " C \r\nD \t E\r\n");
}

TEST(DkimCanonicalizationTest, EverySplitOfTheBodyGivesTheSameBytes) {
  const std::string text = "a  b\t\r\n\r\n \r\nx\ry\r\n\r\n  \r\n\r\nend";
  for (DkimCanon canon : {DkimCanon::kSimple, DkimCanon::kRelaxed}) {
    std::string whole = body(canon, text);
    for (size_t chunk = 1; chunk <= text.size(); ++chunk) {
      EXPECT_EQ(body(canon, text, chunk), whole) << chunk;
    }
  }
  EXPECT_EQ(body(DkimCanon::kSimple, text), "a  b\t\r\n\r\n \r\nx\ry\r\n\r\n  \r\n\r\nend\r\n");
  EXPECT_EQ(body(DkimCanon::kRelaxed, text), "a b\r\n\r\n\r\nx\ry\r\n\r\n\r\n\r\nend\r\n");
}

TEST(DkimCanonicalizationTest, LfLineEndsAreLineEnds) {
  EXPECT_EQ(body(DkimCanon::kSimple, "a\nb\n\n"), "a\r\nb\r\n");
  EXPECT_EQ(dkim_canonicalize_header(DkimCanon::kSimple, "Subject", " a\n b"),
            "Subject: a\r\n b\r\n");
  EXPECT_EQ(dkim_canonicalize_header(DkimCanon::kRelaxed, "Subject", " a\n b"), "subject:a b\r\n");
}

TEST(DkimCanonicalizationTest, EmptyBodies) {
  EXPECT_EQ(body(DkimCanon::kSimple, ""), "\r\n");
  EXPECT_EQ(body(DkimCanon::kSimple, "\r\n\r\n"), "\r\n");
  EXPECT_EQ(body(DkimCanon::kRelaxed, ""), "");
  EXPECT_EQ(body(DkimCanon::kRelaxed, " \r\n\t\r\n"), "");
  // The well-known empty-body hashes (RFC 6376 3.4.3 and 3.4.4 with SHA-256).
  DkimBodyHash simple(DkimCanon::kSimple, DkimHashAlgorithm::kSha256, std::nullopt);
  simple.finish();
  EXPECT_EQ(dkim_base64_encode(simple.digest()), "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
  DkimBodyHash relaxed(DkimCanon::kRelaxed, DkimHashAlgorithm::kSha256, std::nullopt);
  relaxed.finish();
  EXPECT_EQ(dkim_base64_encode(relaxed.digest()), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

TEST(DkimCanonicalizationTest, LengthLimitCutsTheCanonicalBytes) {
  uint64_t total = 0;
  EXPECT_EQ(body(DkimCanon::kRelaxed, kExampleBody, 3, 5, &total), " C\r\nD");
  EXPECT_EQ(total, 9u);
  EXPECT_EQ(body(DkimCanon::kRelaxed, kExampleBody, 3, 0, &total), "");
  EXPECT_EQ(body(DkimCanon::kRelaxed, kExampleBody, 3, 100, &total), " C\r\nD E\r\n");
}

TEST(DkimCanonicalizationTest, LongBlankRunsStayBounded) {
  std::string blanks(200000, '\n');
  std::string out;
  size_t largest_piece = 0;
  DkimBodyCanonicalizer canonicalizer(DkimCanon::kSimple, std::nullopt, [&](std::string_view b) {
    out += b;
    largest_piece = std::max(largest_piece, b.size());
  });
  canonicalizer.add(blanks);
  canonicalizer.add("x");
  canonicalizer.finish();
  EXPECT_EQ(out.size(), 400000u + 3u);
  EXPECT_LE(largest_piece, kDkimCanonBufferBytes);
}

TEST(DkimCanonicalizationTest, HeaderBlockTakesInstancesFromTheBottom) {
  std::vector<DkimHeader> headers = {
      {"Received", " one"}, {"From", " a@example.org"}, {"Received", " two"}, {"To", " b"}};
  std::string block = dkim_header_hash_input(DkimCanon::kRelaxed, headers,
                                             {"received", "from", "received", "received", "cc"},
                                             "DKIM-Signature", " v=1; b=");
  EXPECT_EQ(block, "received:two\r\nfrom:a@example.org\r\nreceived:one\r\ndkim-signature:v=1; b=");
}

}  // namespace
}  // namespace postern
