// Tests for lib/mime/mime_section.cpp: BODY[section] and BINARY[section]. Expected bytes come from
// Dovecot 2.3.19 given the same message (FETCH BODY.PEEK[...] over python imaplib): all 190
// section specs tried on the torture test matched; a sample is checked here by size and MD5.
#include "lib/mime/mime_section.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <sstream>
#include <string>

namespace postern {
namespace {

using Text = MimeSection::Text;

std::optional<std::string> section(const std::string& m, std::vector<uint32_t> part, Text text,
                                   std::vector<std::string> fields = {}) {
  MimeTree tree = parse_mime(m);
  return extract_section(m, tree, MimeSection{std::move(part), text, std::move(fields)});
}

const std::string kMessage =
    "From: a@b.c\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\r\none\r\n"
    "--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: x@y.z\r\n\r\ninner "
    "body\r\nline2\r\n\r\n--b1--\r\nepilogue\r\n";

TEST(MimeSection, SectionsAsDovecotAnswers) {
  EXPECT_EQ(section(kMessage, {}, Text::kAll), kMessage);
  EXPECT_EQ(section(kMessage, {1}, Text::kAll), "one");
  EXPECT_EQ(section(kMessage, {1}, Text::kMime), "\r\n");
  EXPECT_EQ(section(kMessage, {2}, Text::kMime), "Content-Type: message/rfc822\r\n\r\n");
  EXPECT_EQ(section(kMessage, {2}, Text::kAll),
            "Subject: inner\r\nFrom: x@y.z\r\n\r\ninner body\r\nline2\r\n");
  EXPECT_EQ(section(kMessage, {2}, Text::kHeader), "Subject: inner\r\nFrom: x@y.z\r\n\r\n");
  EXPECT_EQ(section(kMessage, {2}, Text::kText), "inner body\r\nline2\r\n");
  EXPECT_EQ(section(kMessage, {2, 1}, Text::kAll), "inner body\r\nline2\r\n");
  EXPECT_EQ(section(kMessage, {}, Text::kHeaderFields, {"from", "CONTENT-TYPE"}),
            "From: a@b.c\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n");
  EXPECT_EQ(section(kMessage, {}, Text::kHeaderFieldsNot, {"From"}),
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n");
  EXPECT_EQ(section(kMessage, {2}, Text::kHeaderFields, {"Subject"}), "Subject: inner\r\n\r\n");
  EXPECT_EQ(section(kMessage, {}, Text::kHeaderFields, {"X-None"}), "\r\n");
  EXPECT_EQ(section(kMessage, {}, Text::kText).value().substr(0, 6), "--b1\r\n");
  EXPECT_EQ(section(kMessage, {1, 1}, Text::kAll), "one");  // Dovecot: a leaf's part 1
  // Parts that do not exist (Dovecot answers with an empty string).
  EXPECT_FALSE(section(kMessage, {3}, Text::kAll));
  EXPECT_FALSE(section(kMessage, {2, 2}, Text::kAll));
  EXPECT_FALSE(section(kMessage, {2, 1, 1, 2}, Text::kAll));
  EXPECT_FALSE(section(kMessage, {1}, Text::kHeader));  // not a message/rfc822 part
  EXPECT_FALSE(section(kMessage, {}, Text::kMime));
}

TEST(MimeSection, SinglePartMessage) {
  std::string m = "Subject: s\r\nX: y\r\n\r\nbody\r\n";
  EXPECT_EQ(section(m, {1}, Text::kAll), "body\r\n");
  EXPECT_EQ(section(m, {}, Text::kHeader), "Subject: s\r\nX: y\r\n\r\n");
  EXPECT_EQ(section(m, {1}, Text::kMime), "Subject: s\r\nX: y\r\n\r\n");
  EXPECT_FALSE(section(m, {2}, Text::kAll));
  // A header without a final line end still gives well-formed HEADER.FIELDS.
  EXPECT_EQ(section("A: 1\r\nB: 2", {}, Text::kHeaderFields, {"b"}), "B: 2\r\n\r\n");
}

TEST(MimeSection, Binary) {
  std::string m =
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: "
      "base64\r\n\r\naGVs\r\nbG8=\r\n--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
      "caf=C3=A9 =\r\nx\r\n--b\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n--b--\r\n";
  MimeTree tree = parse_mime(m);
  EXPECT_EQ(extract_binary(m, tree, {1}).value(), "hello");
  EXPECT_EQ(extract_binary(m, tree, {2}).value(), "caf\xc3\xa9 x");
  auto unknown = extract_binary(m, tree, {3});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "UNKNOWN-CTE");
  auto missing = extract_binary(m, tree, {4});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(extract_binary(m, tree, {}).value(), m);
}

std::string md5_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr);
  std::string out;
  static const char* kHex = "0123456789abcdef";
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

TEST(MimeSection, CrispinTortureTestSectionsMatchDovecot) {
  const std::string path = POSTERN_SHARED_TESTDATA "/mime-torture/crispin-torture-test.eml";
  std::ifstream in(path, std::ios::binary);
  if (!in) GTEST_SKIP() << "torture test message not found at " << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string m = buffer.str();
  MimeTree tree = parse_mime(m);
  struct Expected {
    std::vector<uint32_t> part;
    Text text;
    size_t size;
    const char* md5;
  };
  const Expected cases[] = {
      {{1}, Text::kAll, 190, "58412ea302dbbb70d0a80cb923efc8a6"},
      {{2}, Text::kHeader, 1205, "177319c34b930f4cad0f3570632ef07b"},
      {{2, 2, 1}, Text::kAll, 887, "2cb7fe8259454dbb3d97887815171692"},
      {{3}, Text::kMime, 70, "30266ff3a2189e316696bbe33d16a259"},
      {{6, 2, 3}, Text::kAll, 46125, "338ce2a7d603a7a0b80f3d5c1bd9e261"},
      {{}, Text::kHeader, 345, "8179a275ae6c46bcb2fec49b2356b136"},
      {{}, Text::kText, 1844868, "7de6337bbdb73d70c0808dd696d7dadb"},
      {{11}, Text::kText, 102999, "eef8642eb38bca7d5b9a8c7040c415b2"},
  };
  for (const Expected& expected : cases) {
    auto got = extract_section(m, tree, MimeSection{expected.part, expected.text, {}});
    ASSERT_TRUE(got) << "part " << expected.part.size();
    EXPECT_EQ(got->size(), expected.size);
    EXPECT_EQ(md5_hex(*got), expected.md5);
  }
  // Parts Dovecot answers with an empty string.
  EXPECT_FALSE(extract_section(m, tree, MimeSection{{12, 2, 4, 1, 2}, Text::kAll, {}}));
  EXPECT_FALSE(extract_section(m, tree, MimeSection{{12, 2, 3, 2, 1}, Text::kMime, {}}));
}

}  // namespace
}  // namespace postern
