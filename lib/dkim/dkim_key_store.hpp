// The DKIM signing keys on disk, as `postern dkim` writes them and postern-authmilter reads them:
// one folder per domain under main.cf's dkim_key_directory (default $config_directory/dkim),
//
//   $dkim_key_directory/example.org/rsa-20261207.key       signs (PEM, PKCS#8)
//   $dkim_key_directory/example.org/ed25519-20261207.key   signs too: one RSA + one Ed25519 key
//                                                          is dual signing (RFC 8463)
//   $dkim_key_directory/example.org/retired/rsa-20250101.key  signs no more; its DNS record
//                                                          stays published a while
//
// The file name is the selector; the key type is read from the key itself. Folders are 0700 and
// files 0600, owned by mail_owner (the milter's user); every write is atomic (a temporary file in
// the same folder, fsync, rename without replacing, fsync of the folder), so a crash leaves the
// old state or the new one and never half a key. This file also makes keys (OpenSSL EVP: RSA of
// kMinGeneratedDkimRsaBits..kMaxGeneratedDkimRsaBits bits, or Ed25519) and their DNS record text
// ("v=DKIM1; k=rsa; p=<base64 SubjectPublicKeyInfo>", or k=ed25519 with the raw 32-byte key),
// cut into the <= 255-byte character-strings of a zone file's TXT record.
//
// Runs in the `postern` command (root or mail_owner) and in postern-authmilter (read only).
// Hostile: the domain and selector, which come from the command line and become path
// components: both must be lower-case DNS names (is_valid_dkim_domain / is_valid_dkim_selector:
// no "/", no "..", no leading dot), checked by every function here before any path is built.
// The key files are ours but read bounded (kMaxDkimKeyFileBytes), without following a symbolic
// link, and a file that is not a key is an error naming it. Listings are bounded
// (kMaxDkimKeysPerDomain, kMaxDkimDomains). Errors come back as Result; OpenSSL's error queue is
// left empty.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/dkim/dkim_key_record.hpp"  // DkimKeyType

namespace postern {

inline constexpr size_t kMaxDkimDomainBytes = 253;  // without the final dot (RFC 1035)
inline constexpr size_t kMaxDnsLabelBytes = 63;
inline constexpr size_t kMaxDkimSelectorBytes = 63;        // a selector here is one DNS label
inline constexpr int kMinGeneratedDkimRsaBits = 1024;      // RFC 8301: verifiers may refuse less
inline constexpr int kMaxGeneratedDkimRsaBits = 4096;      // a TXT record of ~ 740 bytes
inline constexpr int kDefaultDkimRsaBits = 2048;           // RFC 8301's recommendation
inline constexpr size_t kMaxDkimKeyFileBytes = 16 * 1024;  // a 4096-bit PKCS#8 PEM is ~ 3.3 KB
inline constexpr size_t kMaxDkimKeysPerDomain = 64;        // signing and retired together
inline constexpr size_t kMaxDkimDomains = 10000;
inline constexpr size_t kMaxTxtCharacterStringBytes = 255;  // RFC 1035 <character-string>
inline constexpr mode_t kDkimFolderMode = 0700;
inline constexpr mode_t kDkimKeyFileMode = 0600;
inline constexpr std::string_view kDkimKeyFileSuffix = ".key";
inline constexpr std::string_view kDkimRetiredFolder = "retired";

// "rsa" / "ed25519": the k= tag of the record and the word of the command line.
std::string_view dkim_key_type_name(DkimKeyType type);
std::optional<DkimKeyType> parse_dkim_key_type(std::string_view word);

// A domain: lower-case LDH labels of 1..kMaxDnsLabelBytes separated by single dots, no hyphen
// at either end of a label, at most kMaxDkimDomainBytes, no final dot.
bool is_valid_dkim_domain(std::string_view domain);
// A selector: one lower-case LDH label of 1..kMaxDkimSelectorBytes, no hyphen at either end.
bool is_valid_dkim_selector(std::string_view selector);

struct DkimPublishedKey {
  DkimKeyType type = DkimKeyType::kRsa;
  int bits = 0;        // the RSA modulus; 256 for Ed25519
  std::string record;  // "v=DKIM1; k=rsa; p=MIIBIjANBg..."
};

// The public half of a private key in PEM (PKCS#8, or RSA's traditional form), as its DKIM
// record. kParse for anything else: no key, an encrypted key (never a password prompt), a key
// of another type.
Result<DkimPublishedKey> dkim_public_key_from_pem(std::string_view pem);

struct GeneratedDkimKey {
  std::string private_pem;  // PKCS#8, "-----BEGIN PRIVATE KEY-----"
  DkimPublishedKey public_key;
};

// A new key. rsa_bits (kMinGeneratedDkimRsaBits..kMaxGeneratedDkimRsaBits) counts for RSA only;
// kLimit outside.
Result<GeneratedDkimKey> generate_dkim_key(DkimKeyType type, int rsa_bits = kDefaultDkimRsaBits);

// text cut into pieces of at most max_bytes (the last one shorter; none for ""). A TXT record's
// strings are concatenated without separator by the reader (RFC 6376 3.6.2.2).
std::vector<std::string> split_character_strings(std::string_view text,
                                                 size_t max_bytes = kMaxTxtCharacterStringBytes);
// The strings of text as a zone file writes them: "v=DKIM1; k=rsa; p=MIIB..." "...", with '"'
// and '\' escaped and every string at most kMaxTxtCharacterStringBytes bytes.
std::string zone_character_strings(std::string_view text);

struct DkimKeyEntry {
  std::string domain;
  std::string selector;
  std::string path;
  bool retired = false;
  DkimPublishedKey public_key;
};

// The key folder of one installation. owner/group: given to every folder and file this
// creates (-1: the writer's own, as when `postern` runs as mail_owner).
class DkimKeyStore {
 public:
  explicit DkimKeyStore(std::string directory, uid_t owner = static_cast<uid_t>(-1),
                        gid_t group = static_cast<gid_t>(-1));

  const std::string& directory() const { return directory_; }
  // Where a key of domain with selector lies (both must be valid).
  std::string key_path(std::string_view domain, std::string_view selector, bool retired) const;

  // The keys of domain, signing ones first, each group by selector; none when the domain has no
  // folder. kParse naming the file for a file that is not a key.
  Result<std::vector<DkimKeyEntry>> domain_keys(std::string_view domain) const;
  // The domains that have a folder (sorted); none when the directory does not exist yet.
  Result<std::vector<std::string>> domains() const;
  // Whether selector is taken in domain, signing or retired (a selector is never reused while
  // its old record may still be published).
  Result<bool> selector_taken(std::string_view domain, std::string_view selector) const;

  // Installs private_pem as a signing key; the folders are made as needed. kPermanent when the
  // selector is taken (nothing is ever overwritten); kParse when private_pem is not a key.
  Status add_key(std::string_view domain, std::string_view selector, std::string_view private_pem);
  // Moves a signing key to retired/.
  Status retire_key(std::string_view domain, std::string_view selector);
  // Deletes a key (retired or signing, as the caller says); kNotFound when it is not there.
  Status remove_key(std::string_view domain, std::string_view selector, bool retired);

 private:
  Status make_folder(const std::string& path) const;
  std::string directory_;
  uid_t owner_;
  gid_t group_;
};

}  // namespace postern
