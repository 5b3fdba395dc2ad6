// Tests for lib/dkim/dkim_key_store.cpp: the names that may become paths (each limit at N and
// N+1, every hostile shape), the records of the RFC 8463 Appendix A keys (shared testdata: the
// records published there, byte for byte), keys made here read back by an independent decode of
// their record, the 255-byte character-strings, and the folder itself: modes, no overwrite,
// retire, remove, listings and their limits, files that are not keys.
#include "lib/dkim/dkim_key_store.hpp"
// Both in one translation unit: the key store's names once clashed with the verifier's.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "lib/dkim/dkim_crypto.hpp"

namespace postern {
namespace {

namespace fs = std::filesystem;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string testdata(const std::string& file) {
  return std::string(POSTERN_SHARED_TESTDATA) + "/dkim/rfc8463/" + file;
}

mode_t mode_of(const std::string& path) {
  struct stat info {};
  EXPECT_EQ(::lstat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

// The value of the record's p= tag, base64-decoded by OpenSSL's decoder (not our encoder).
std::string decoded_p(const std::string& record) {
  const size_t at = record.find("p=");
  EXPECT_NE(at, std::string::npos) << record;
  std::string b64 = record.substr(at + 2);
  std::string bytes(b64.size(), '\0');
  int size = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                             reinterpret_cast<const unsigned char*>(b64.data()),
                             static_cast<int>(b64.size()));
  EXPECT_GT(size, 0);
  size_t padding = b64.size() - b64.find_last_not_of('=') - 1;
  bytes.resize(static_cast<size_t>(size) - padding);
  return bytes;
}

// The private key of pem and the public key of record are one key pair.
bool record_matches_pem(const std::string& record, const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* private_key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (private_key == nullptr) return false;
  std::string raw = decoded_p(record);
  EVP_PKEY* public_key = nullptr;
  if (record.find("k=ed25519") != std::string::npos) {
    public_key = EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  } else {
    const unsigned char* at = reinterpret_cast<const unsigned char*>(raw.data());
    public_key = d2i_PUBKEY(nullptr, &at, static_cast<long>(raw.size()));
  }
  bool same = public_key != nullptr && EVP_PKEY_eq(private_key, public_key) == 1;
  EVP_PKEY_free(public_key);
  EVP_PKEY_free(private_key);
  return same;
}

// One key of kMaxGeneratedDkimRsaBits for the tests that need it (they take seconds to make).
const GeneratedDkimKey& largest_rsa_key() {
  static const GeneratedDkimKey key = [] {
    Result<GeneratedDkimKey> made = generate_dkim_key(DkimKeyType::kRsa, kMaxGeneratedDkimRsaBits);
    EXPECT_TRUE(made.ok());
    return made.ok() ? std::move(made).value() : GeneratedDkimKey{};
  }();
  return key;
}

class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/dkim_key_store_test.XXXXXX";
    path_ = ::mkdtemp(name);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(DkimNames, Domains) {
  for (std::string_view good : {"example.org", "mail.example.co.uk", "xn--bcher-kva.example", "a",
                                "1.2.3", "a-b.c-d.example"}) {
    EXPECT_TRUE(is_valid_dkim_domain(good)) << good;
  }
  const std::vector<std::string_view> bad_domains = {"",
                                                     ".",
                                                     "..",
                                                     "../etc",
                                                     "example.org/..",
                                                     "a/b",
                                                     "example..org",
                                                     ".example.org",
                                                     "example.org.",
                                                     "-a.example",
                                                     "a-.example",
                                                     "Example.org",
                                                     "exa mple.org",
                                                     "ex_ample.org",
                                                     "example.org\n",
                                                     std::string_view("exa\0mple.org", 12),
                                                     "retired/x"};
  for (std::string_view bad : bad_domains) {
    EXPECT_FALSE(is_valid_dkim_domain(bad)) << bad;
  }
  // A label of kMaxDnsLabelBytes, not one more; a name of kMaxDkimDomainBytes, not one more.
  EXPECT_TRUE(is_valid_dkim_domain(std::string(kMaxDnsLabelBytes, 'a') + ".org"));
  EXPECT_FALSE(is_valid_dkim_domain(std::string(kMaxDnsLabelBytes + 1, 'a') + ".org"));
  std::string name;
  while (name.size() + 2 <= kMaxDkimDomainBytes) name += name.empty() ? "a" : ".a";
  if (name.size() < kMaxDkimDomainBytes) name = "b" + name;
  ASSERT_EQ(name.size(), kMaxDkimDomainBytes);
  EXPECT_TRUE(is_valid_dkim_domain(name));
  EXPECT_FALSE(is_valid_dkim_domain("c" + name));
}

TEST(DkimNames, Selectors) {
  for (std::string_view good :
       {"rsa-20261207", "s1", "brisbane", "retired", "ed25519-20261207-2"}) {
    EXPECT_TRUE(is_valid_dkim_selector(good)) << good;
  }
  for (std::string_view bad :
       {"", ".", "..", "a.b", "a/b", "../x", "-a", "a-", "A", ".new-x", "sel key", "x\n"}) {
    EXPECT_FALSE(is_valid_dkim_selector(bad)) << bad;
  }
  EXPECT_TRUE(is_valid_dkim_selector(std::string(kMaxDkimSelectorBytes, 's')));
  EXPECT_FALSE(is_valid_dkim_selector(std::string(kMaxDkimSelectorBytes + 1, 's')));
}

TEST(DkimNames, Types) {
  EXPECT_EQ(parse_dkim_key_type("rsa"), DkimKeyType::kRsa);
  EXPECT_EQ(parse_dkim_key_type("ed25519"), DkimKeyType::kEd25519);
  EXPECT_FALSE(parse_dkim_key_type("RSA"));
  EXPECT_FALSE(parse_dkim_key_type("ed448"));
  EXPECT_FALSE(parse_dkim_key_type(""));
  EXPECT_EQ(dkim_key_type_name(DkimKeyType::kEd25519), "ed25519");
  EXPECT_EQ(dkim_key_type_name(DkimKeyType::kRsa), "rsa");
}

TEST(DkimRecord, Rfc8463RsaKeyGivesThePublishedRecord) {
  if (!fs::exists(testdata("test.rsa.private.pem"))) {
    GTEST_SKIP() << "shared testdata absent: " << testdata("");
  }
  Result<DkimPublishedKey> key =
      dkim_public_key_from_pem(read_text(testdata("test.rsa.private.pem")));
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->type, DkimKeyType::kRsa);
  EXPECT_EQ(key->bits, 1024);
  const std::string zone = read_text(testdata("dns-records.zone"));
  EXPECT_NE(zone.find("test._domainkey.football.example.com. IN TXT \"" + key->record + "\""),
            std::string::npos)
      << key->record;
}

TEST(DkimRecord, Rfc8463Ed25519KeyGivesThePublishedRecord) {
  if (!fs::exists(testdata("brisbane.ed25519.seed.b64"))) {
    GTEST_SKIP() << "shared testdata absent: " << testdata("");
  }
  std::string seed_b64 = read_text(testdata("brisbane.ed25519.seed.b64"));
  seed_b64.erase(seed_b64.find_last_not_of("\r\n") + 1);
  unsigned char seed[48];
  ASSERT_EQ(EVP_DecodeBlock(seed, reinterpret_cast<const unsigned char*>(seed_b64.data()),
                            static_cast<int>(seed_b64.size())),
            33);  // 32 bytes and one of padding
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, 32);
  ASSERT_NE(key, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  const std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  EVP_PKEY_free(key);
  Result<DkimPublishedKey> public_key = dkim_public_key_from_pem(pem);
  ASSERT_TRUE(public_key.ok()) << public_key.error().message;
  EXPECT_EQ(public_key->type, DkimKeyType::kEd25519);
  EXPECT_EQ(public_key->record,
            "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
}

TEST(DkimRecord, GeneratedKeysMatchTheirRecords) {
  for (DkimKeyType type : {DkimKeyType::kRsa, DkimKeyType::kEd25519}) {
    Result<GeneratedDkimKey> key = generate_dkim_key(type, kMinGeneratedDkimRsaBits);
    ASSERT_TRUE(key.ok()) << key.error().message;
    EXPECT_EQ(key->private_pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);  // PKCS#8
    EXPECT_TRUE(record_matches_pem(key->public_key.record, key->private_pem));
    Result<DkimPublishedKey> read = dkim_public_key_from_pem(key->private_pem);
    ASSERT_TRUE(read.ok());
    EXPECT_EQ(read->record, key->public_key.record);
    EXPECT_EQ(read->type, type);
  }
  Result<GeneratedDkimKey> other = generate_dkim_key(DkimKeyType::kEd25519);
  Result<GeneratedDkimKey> one = generate_dkim_key(DkimKeyType::kEd25519);
  ASSERT_TRUE(other.ok() && one.ok());
  EXPECT_NE(other->public_key.record, one->public_key.record);
  EXPECT_FALSE(record_matches_pem(other->public_key.record, one->private_pem));
  // Ed25519: the bare 32 bytes (44 base64 characters), not a SubjectPublicKeyInfo.
  EXPECT_EQ(decoded_p(one->public_key.record).size(), 32u);
}

TEST(DkimRecord, RsaBitsAtTheLimits) {
  Result<GeneratedDkimKey> smallest =
      generate_dkim_key(DkimKeyType::kRsa, kMinGeneratedDkimRsaBits);
  ASSERT_TRUE(smallest.ok());
  EXPECT_EQ(smallest->public_key.bits, kMinGeneratedDkimRsaBits);
  EXPECT_TRUE(record_matches_pem(smallest->public_key.record, smallest->private_pem));
  const GeneratedDkimKey& largest = largest_rsa_key();
  EXPECT_EQ(largest.public_key.bits, kMaxGeneratedDkimRsaBits);
  EXPECT_TRUE(record_matches_pem(largest.public_key.record, largest.private_pem));
  for (int bits : {kMinGeneratedDkimRsaBits - 1, kMaxGeneratedDkimRsaBits + 1, 0, -2048}) {
    Result<GeneratedDkimKey> key = generate_dkim_key(DkimKeyType::kRsa, bits);
    ASSERT_FALSE(key.ok()) << bits;
    EXPECT_EQ(key.error().kind, ErrorKind::kLimit);
  }
}

TEST(DkimRecord, WhatIsNotAKey) {
  EXPECT_EQ(dkim_public_key_from_pem("").error().kind, ErrorKind::kParse);
  EXPECT_EQ(dkim_public_key_from_pem("hello\n").error().kind, ErrorKind::kParse);
  EXPECT_EQ(
      dkim_public_key_from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
          .error()
          .kind,
      ErrorKind::kParse);
  // Another type of key (EC P-256).
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(ec, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, ec, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  const std::string ec_pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  Result<DkimPublishedKey> ec_key = dkim_public_key_from_pem(ec_pem);
  ASSERT_FALSE(ec_key.ok());
  EXPECT_NE(ec_key.error().message.find("neither an RSA nor an Ed25519"), std::string::npos);
  // An encrypted key: an error, never a prompt (stdin is not read).
  bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, ec, EVP_aes_256_cbc(), nullptr, 0, nullptr,
                                     const_cast<char*>("secret")),
            1);
  size = BIO_get_mem_data(bio, &data);
  std::string encrypted(data, static_cast<size_t>(size));
  BIO_free(bio);
  EVP_PKEY_free(ec);
  EXPECT_EQ(dkim_public_key_from_pem(encrypted).error().kind, ErrorKind::kParse);
}

TEST(DkimRecord, KeyTextLimit) {
  Result<GeneratedDkimKey> key = generate_dkim_key(DkimKeyType::kEd25519);
  ASSERT_TRUE(key.ok());
  // Text before the PEM block is allowed (and ignored) up to the limit.
  std::string padded = std::string(kMaxDkimKeyFileBytes - key->private_pem.size() - 1, 'x') + "\n" +
                       key->private_pem;
  ASSERT_EQ(padded.size(), kMaxDkimKeyFileBytes);
  EXPECT_TRUE(dkim_public_key_from_pem(padded).ok());
  EXPECT_EQ(dkim_public_key_from_pem("x" + padded).error().kind, ErrorKind::kLimit);
}

TEST(DkimRecord, CharacterStrings) {
  EXPECT_TRUE(split_character_strings("").empty());
  EXPECT_EQ(split_character_strings("abc"), std::vector<std::string>{"abc"});
  const std::string exact(kMaxTxtCharacterStringBytes, 'p');
  EXPECT_EQ(split_character_strings(exact), std::vector<std::string>{exact});
  std::vector<std::string> two = split_character_strings(exact + "q");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0], exact);
  EXPECT_EQ(two[1], "q");
  EXPECT_EQ(split_character_strings(std::string(3 * kMaxTxtCharacterStringBytes, 'z')).size(), 3u);
  EXPECT_EQ(split_character_strings("abcdefg", 3), (std::vector<std::string>{"abc", "def", "g"}));

  EXPECT_EQ(zone_character_strings("v=spf1 mx -all"), "\"v=spf1 mx -all\"");
  EXPECT_EQ(zone_character_strings(""), "\"\"");
  EXPECT_EQ(zone_character_strings("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(zone_character_strings(exact + "q"), "\"" + exact + "\" \"q\"");
  // A 4096-bit key's record: every string at most 255 bytes, the whole record intact.
  const GeneratedDkimKey& big = largest_rsa_key();
  std::vector<std::string> pieces = split_character_strings(big.public_key.record);
  ASSERT_EQ(pieces.size(), 3u);
  std::string joined;
  for (const std::string& piece : pieces) {
    EXPECT_LE(piece.size(), kMaxTxtCharacterStringBytes);
    joined += piece;
  }
  EXPECT_EQ(joined, big.public_key.record);
}

TEST(DkimKeyStore, AddListRetireRemove) {
  TempDir temp;
  const std::string dir = temp.path() + "/dkim";
  DkimKeyStore store(dir);
  Result<std::vector<std::string>> none = store.domains();
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());  // no folder yet: no domains, no error
  Result<std::vector<DkimKeyEntry>> empty = store.domain_keys("example.org");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());

  Result<GeneratedDkimKey> rsa = generate_dkim_key(DkimKeyType::kRsa, kMinGeneratedDkimRsaBits);
  Result<GeneratedDkimKey> ed = generate_dkim_key(DkimKeyType::kEd25519);
  ASSERT_TRUE(rsa.ok() && ed.ok());
  ASSERT_TRUE(store.add_key("example.org", "s2", rsa->private_pem).ok());
  ASSERT_TRUE(store.add_key("example.org", "s1", ed->private_pem).ok());
  ASSERT_TRUE(store.add_key("other.example", "x", ed->private_pem).ok());

  EXPECT_EQ(mode_of(dir), kDkimFolderMode);
  EXPECT_EQ(mode_of(dir + "/example.org"), kDkimFolderMode);
  EXPECT_EQ(mode_of(dir + "/example.org/s2.key"), kDkimKeyFileMode);
  EXPECT_EQ(read_text(dir + "/example.org/s2.key"), rsa->private_pem);
  EXPECT_EQ(store.key_path("example.org", "s2", false), dir + "/example.org/s2.key");
  EXPECT_EQ(store.key_path("example.org", "s2", true), dir + "/example.org/retired/s2.key");

  // Never overwritten; nothing left behind by the refusal.
  Status again = store.add_key("example.org", "s2", ed->private_pem);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kPermanent);
  EXPECT_EQ(read_text(dir + "/example.org/s2.key"), rsa->private_pem);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir + "/example.org"), fs::directory_iterator()),
            2);
  // Not a key: refused before anything is written.
  EXPECT_EQ(store.add_key("example.org", "junk", "not a key").error().kind, ErrorKind::kParse);
  EXPECT_FALSE(fs::exists(dir + "/example.org/junk.key"));

  Result<std::vector<std::string>> domains = store.domains();
  ASSERT_TRUE(domains.ok());
  EXPECT_EQ(*domains, (std::vector<std::string>{"example.org", "other.example"}));
  Result<std::vector<DkimKeyEntry>> keys = store.domain_keys("example.org");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].selector, "s1");
  EXPECT_EQ((*keys)[0].public_key.type, DkimKeyType::kEd25519);
  EXPECT_EQ((*keys)[1].selector, "s2");
  EXPECT_EQ((*keys)[1].public_key.record, rsa->public_key.record);
  EXPECT_FALSE((*keys)[1].retired);

  ASSERT_TRUE(store.retire_key("example.org", "s2").ok());
  EXPECT_FALSE(fs::exists(dir + "/example.org/s2.key"));
  EXPECT_EQ(mode_of(dir + "/example.org/retired"), kDkimFolderMode);
  EXPECT_EQ(read_text(dir + "/example.org/retired/s2.key"), rsa->private_pem);
  EXPECT_EQ(store.retire_key("example.org", "s2").error().kind, ErrorKind::kNotFound);
  Result<bool> taken = store.selector_taken("example.org", "s2");
  ASSERT_TRUE(taken.ok());
  EXPECT_TRUE(*taken);  // a retired selector is still taken
  EXPECT_EQ(store.add_key("example.org", "s2", rsa->private_pem).error().kind,
            ErrorKind::kPermanent);
  keys = store.domain_keys("example.org");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].selector, "s1");  // signing keys first
  EXPECT_FALSE((*keys)[0].retired);
  EXPECT_EQ((*keys)[1].selector, "s2");
  EXPECT_TRUE((*keys)[1].retired);
  EXPECT_EQ((*keys)[1].path, dir + "/example.org/retired/s2.key");

  EXPECT_EQ(store.remove_key("example.org", "s2", false).error().kind, ErrorKind::kNotFound);
  ASSERT_TRUE(store.remove_key("example.org", "s2", true).ok());
  EXPECT_FALSE(fs::exists(dir + "/example.org/retired/s2.key"));
  EXPECT_EQ(store.remove_key("example.org", "s2", true).error().kind, ErrorKind::kNotFound);
  taken = store.selector_taken("example.org", "s2");
  ASSERT_TRUE(taken.ok());
  EXPECT_FALSE(*taken);
}

TEST(DkimKeyStore, HostileNamesNeverBecomePaths) {
  TempDir temp;
  DkimKeyStore store(temp.path() + "/dkim");
  Result<GeneratedDkimKey> key = generate_dkim_key(DkimKeyType::kEd25519);
  ASSERT_TRUE(key.ok());
  for (std::string_view domain : {"..", "../escape", "a/b", "", "."}) {
    EXPECT_EQ(store.add_key(domain, "s", key->private_pem).error().kind, ErrorKind::kParse);
    EXPECT_FALSE(store.domain_keys(domain).ok());
    EXPECT_FALSE(store.retire_key(domain, "s").ok());
    EXPECT_FALSE(store.remove_key(domain, "s", true).ok());
  }
  for (std::string_view selector : {"..", "../../escape", "a/b", "", "retired/x"}) {
    EXPECT_EQ(store.add_key("example.org", selector, key->private_pem).error().kind,
              ErrorKind::kParse);
    EXPECT_FALSE(store.selector_taken("example.org", selector).ok());
  }
  EXPECT_FALSE(fs::exists(temp.path() + "/escape"));
  EXPECT_FALSE(fs::exists(temp.path() + "/dkim"));  // nothing was made at all
}

TEST(DkimKeyStore, WhatTheListingSkipsAndRefuses) {
  TempDir temp;
  const std::string dir = temp.path() + "/dkim";
  DkimKeyStore store(dir);
  Result<GeneratedDkimKey> key = generate_dkim_key(DkimKeyType::kEd25519);
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(store.add_key("example.org", "good", key->private_pem).ok());
  const std::string folder = dir + "/example.org";
  write_text(folder + "/README", "notes\n");               // not *.key
  write_text(folder + "/.new-x.XXXXXX", "half");           // a temporary file
  write_text(folder + "/Bad_Name.key", key->private_pem);  // not a selector
  ASSERT_EQ(::symlink((folder + "/good.key").c_str(), (folder + "/link.key").c_str()), 0);
  fs::create_directory(folder + "/dir.key");
  write_text(dir + "/NOT-A-DOMAIN", "");
  ASSERT_EQ(::symlink(folder.c_str(), (dir + "/linked.example").c_str()), 0);
  Result<std::vector<DkimKeyEntry>> keys = store.domain_keys("example.org");
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].selector, "good");
  Result<std::vector<std::string>> domains = store.domains();
  ASSERT_TRUE(domains.ok());
  EXPECT_EQ(*domains, std::vector<std::string>{"example.org"});
  // A domain folder that is a symbolic link is not followed.
  EXPECT_FALSE(store.domain_keys("linked.example").ok());

  // A .key file that is no key is an error naming it, not silently skipped.
  write_text(folder + "/broken.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n");
  keys = store.domain_keys("example.org");
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.error().kind, ErrorKind::kParse);
  EXPECT_NE(keys.error().message.find(folder + "/broken.key"), std::string::npos);
  // One too long for a key file: kLimit, at kMaxDkimKeyFileBytes + 1.
  write_text(folder + "/broken.key",
             std::string(kMaxDkimKeyFileBytes - key->private_pem.size() - 1, '#') + "\n" +
                 key->private_pem);
  keys = store.domain_keys("example.org");
  ASSERT_TRUE(keys.ok()) << keys.error().message;  // exactly the limit: read
  EXPECT_EQ(keys->size(), 2u);
  write_text(
      folder + "/broken.key",
      std::string(kMaxDkimKeyFileBytes - key->private_pem.size(), '#') + "\n" + key->private_pem);
  keys = store.domain_keys("example.org");
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.error().kind, ErrorKind::kLimit);
}

TEST(DkimKeyStore, KeysPerDomainLimit) {
  TempDir temp;
  const std::string dir = temp.path() + "/dkim";
  DkimKeyStore store(dir);
  Result<GeneratedDkimKey> key = generate_dkim_key(DkimKeyType::kEd25519);
  ASSERT_TRUE(key.ok());
  // kMaxDkimKeysPerDomain across signing and retired: listed; one more: kLimit.
  for (size_t i = 0; i < kMaxDkimKeysPerDomain; ++i) {
    const std::string selector = "s" + std::to_string(i);
    ASSERT_TRUE(store.add_key("example.org", selector, key->private_pem).ok());
    if (i % 2 == 0) {
      ASSERT_TRUE(store.retire_key("example.org", selector).ok());
    }
  }
  Result<std::vector<DkimKeyEntry>> keys = store.domain_keys("example.org");
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  EXPECT_EQ(keys->size(), kMaxDkimKeysPerDomain);
  ASSERT_TRUE(store.add_key("example.org", "one-more", key->private_pem).ok());
  keys = store.domain_keys("example.org");
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.error().kind, ErrorKind::kLimit);
}

TEST(DkimKeyStore, FolderModesIgnoreTheUmask) {
  TempDir temp;
  const mode_t old_umask = ::umask(0);
  DkimKeyStore store(temp.path() + "/dkim");
  Result<GeneratedDkimKey> key = generate_dkim_key(DkimKeyType::kEd25519);
  ASSERT_TRUE(key.ok());
  Status added = store.add_key("example.org", "s", key->private_pem);
  ::umask(old_umask);
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(mode_of(temp.path() + "/dkim"), kDkimFolderMode);
  EXPECT_EQ(mode_of(temp.path() + "/dkim/example.org"), kDkimFolderMode);
  EXPECT_EQ(mode_of(temp.path() + "/dkim/example.org/s.key"), kDkimKeyFileMode);
}

}  // namespace
}  // namespace postern
