// Tests for lib/auth/password_hash.cpp: fixed vectors made with `openssl passwd` and `mkpasswd`
// (embedded), fresh hashes made by those tools at test time (skipped when a tool is absent),
// round trips through make_password_hash, weak schemes refused, and the password length limit at
// kMaxPasswordBytes (accepted) and kMaxPasswordBytes + 1 (refused).
#include "lib/auth/password_hash.hpp"

#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>

#include <optional>
#include <string>

namespace postern {
namespace {

// `openssl passwd -6 -salt Q9xS2bLm 'correct horse'`
const char kSha512Hash[] =
    "$6$Q9xS2bLm$zxfvzLpCVGjUXg3NNT2F2o/eBCda8NzUihrJd/8/SCN5o8olqysU.lxiXPPystXwu0jVKHwzRtsM6hn9"
    "FY0DU0";
// `openssl passwd -5 -salt abcdefgh 'battery staple'`
const char kSha256Hash[] = "$5$abcdefgh$33n7Jc5uosQec.Ws8vBMiW7zwhRp9uukSThN6e7EmqA";
// `mkpasswd -m yescrypt 'Tr0ub4dor&3'`
const char kYescryptHash[] =
    "$y$j9T$.VtyyoNC7YwVwdoGlHiyv/$N4jg7A2SRxkD5Ry1b1Qg4SKW.XHw3sixqKXn76HpJf0";
// `mkpasswd -m bcrypt -R 5 'bcrypt pw'`
const char kBcryptHash[] = "$2b$05$RGkiDWbzpTnDrHfNjb5fX.HrvV8nSEsSNlhQo8t5QCHjH9epJsLmG";
// `openssl passwd -1 -salt abc pw` and `mkpasswd -m descrypt pw`: valid, but too weak.
const char kMd5Hash[] = "$1$abc$Kb85XxsXB.VXinPhbS4431";
const char kDesHash[] = "mmFyMlGfYXxu.";

bool verifies(std::string_view password, std::string_view hash) {
  Result<bool> result = verify_password(password, hash);
  EXPECT_TRUE(result.ok()) << result.error().describe();
  return result.ok() && *result;
}

// Runs a shell command with the password on its stdin; nullopt when the tool is missing.
std::optional<std::string> tool_hash(const std::string& command, const std::string& password) {
  const std::string line = "printf '%s' '" + password + "' | " + command + " 2>/dev/null";
  FILE* pipe = ::popen(line.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  char buffer[512];
  size_t got;
  while ((got = ::fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, got);
  const int status = ::pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (out.empty() || out[0] != '$') return std::nullopt;
  return out;
}

TEST(PasswordHashTest, FixedVectorsMatchTheirPasswordOnly) {
  EXPECT_TRUE(verifies("correct horse", kSha512Hash));
  EXPECT_FALSE(verifies("correct horsE", kSha512Hash));
  EXPECT_FALSE(verifies("correct horse ", kSha512Hash));
  EXPECT_TRUE(verifies("battery staple", kSha256Hash));
  EXPECT_FALSE(verifies("battery", kSha256Hash));
  EXPECT_TRUE(verifies("Tr0ub4dor&3", kYescryptHash));
  EXPECT_FALSE(verifies("Tr0ub4dor&4", kYescryptHash));
  EXPECT_TRUE(verifies("bcrypt pw", kBcryptHash));
  EXPECT_FALSE(verifies("bcrypt pW", kBcryptHash));
}

TEST(PasswordHashTest, SchemesAreRecognised) {
  EXPECT_EQ(password_hash_scheme(kYescryptHash), HashScheme::kYescrypt);
  EXPECT_EQ(password_hash_scheme(kSha512Hash), HashScheme::kSha512Crypt);
  EXPECT_EQ(password_hash_scheme(kSha256Hash), HashScheme::kSha256Crypt);
  EXPECT_EQ(password_hash_scheme(kBcryptHash), HashScheme::kBcrypt);
  EXPECT_EQ(password_hash_scheme(kMd5Hash), HashScheme::kWeak);
  EXPECT_EQ(password_hash_scheme(kDesHash), HashScheme::kWeak);
  EXPECT_EQ(password_hash_scheme("_J9..CCCCXBrJUJV154M"), HashScheme::kWeak);
  EXPECT_EQ(password_hash_scheme("$7$CU..../....abc"), HashScheme::kUnknown);
}

TEST(PasswordHashTest, WeakAndUnknownHashesAreRefusedEvenWithTheRightPassword) {
  for (const char* hash : {kMd5Hash, kDesHash, "", "$7$CU..../....abc", "$gy$j9T$a$b"}) {
    Result<bool> result = verify_password("pw", hash);
    ASSERT_FALSE(result.ok()) << hash;
    EXPECT_EQ(result.error().kind, ErrorKind::kConfig) << hash;
  }
}

TEST(PasswordHashTest, MalformedHashOfAnAcceptedSchemeIsAnError) {
  Result<bool> result = verify_password("pw", "$y$garbage");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kConfig);
  EXPECT_FALSE(verify_password("pw", "$6$" + std::string(kMaxPasswordHashBytes, 'a')).ok());
}

TEST(PasswordHashTest, PasswordLimits) {
  Result<bool> empty = verify_password("", kSha512Hash);
  ASSERT_FALSE(empty.ok());
  Result<bool> with_nul = verify_password(std::string("correct horse\0x", 15), kSha512Hash);
  ASSERT_FALSE(with_nul.ok());
  EXPECT_EQ(with_nul.error().kind, ErrorKind::kParse);

  Result<std::string> at_limit_hash = make_password_hash(std::string(kMaxPasswordBytes, 'p'));
  ASSERT_TRUE(at_limit_hash.ok()) << at_limit_hash.error().describe();
  EXPECT_TRUE(verifies(std::string(kMaxPasswordBytes, 'p'), *at_limit_hash));
  Result<bool> over = verify_password(std::string(kMaxPasswordBytes + 1, 'p'), *at_limit_hash);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
  EXPECT_FALSE(make_password_hash(std::string(kMaxPasswordBytes + 1, 'p')).ok());
  EXPECT_FALSE(make_password_hash("").ok());
}

TEST(PasswordHashTest, MakeProducesFreshYescryptHashes) {
  Result<std::string> first = make_password_hash("s3cret word");
  Result<std::string> second = make_password_hash("s3cret word");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(password_hash_scheme(*first), HashScheme::kYescrypt) << *first;
  EXPECT_NE(*first, *second);  // random salt
  EXPECT_TRUE(verifies("s3cret word", *first));
  EXPECT_TRUE(verifies("s3cret word", *second));
  EXPECT_FALSE(verifies("s3cret Word", *first));
}

TEST(PasswordHashTest, HashesFromOpensslAtTestTime) {
  std::optional<std::string> hash = tool_hash("openssl passwd -6 -stdin", "open sesame");
  if (!hash) GTEST_SKIP() << "openssl not available";
  EXPECT_EQ(password_hash_scheme(*hash), HashScheme::kSha512Crypt);
  EXPECT_TRUE(verifies("open sesame", *hash));
  EXPECT_FALSE(verifies("open sesamE", *hash));
}

TEST(PasswordHashTest, HashesFromMkpasswdAtTestTime) {
  std::optional<std::string> hash = tool_hash("mkpasswd -m yescrypt --stdin", "open sesame");
  if (!hash) GTEST_SKIP() << "mkpasswd (package whois) not available";
  EXPECT_EQ(password_hash_scheme(*hash), HashScheme::kYescrypt);
  EXPECT_TRUE(verifies("open sesame", *hash));
  EXPECT_FALSE(verifies("open sesamf", *hash));
}

}  // namespace
}  // namespace postern
