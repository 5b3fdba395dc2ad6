// The DKIM key folder and the keys in it (see dkim_key_store.hpp): names checked before any path
// is built, keys made and read with OpenSSL's EVP interface, every write atomic and fsynced.
#include "lib/dkim/dkim_key_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "lib/base/unique_fd.hpp"

namespace postern {
namespace {

constexpr size_t kEd25519PublicKeyBytes = 32;
constexpr int kEd25519Bits = 256;
constexpr std::string_view kTemporaryPrefix = ".new-";

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// OpenSSL's first queued error as text (the queue emptied), or fallback.
std::string openssl_error(std::string_view fallback) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return std::string(fallback);
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return std::string(fallback) + " (" + text + ")";
}

Error permanent(std::string what) {
  return Error{ErrorKind::kPermanent, std::move(what), 0};
}

bool is_ldh_label(std::string_view label) {
  if (label.empty() || label.size() > kMaxDnsLabelBytes) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  return std::all_of(label.begin(), label.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

std::string base64(const unsigned char* bytes, size_t size) {
  std::string text(4 * ((size + 2) / 3) + 1, '\0');
  int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), bytes, static_cast<int>(size));
  text.resize(written > 0 ? static_cast<size_t>(written) : 0);
  return text;
}

// Never a prompt: an encrypted key simply does not load.
int no_password(char*, int, int, void*) {
  return 0;
}

Result<DkimPublishedKey> public_key_of(EVP_PKEY* key) {
  DkimPublishedKey public_key;
  const int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_RSA) {
    public_key.type = DkimKeyType::kRsa;
    public_key.bits = EVP_PKEY_get_bits(key);
    unsigned char* der = nullptr;
    const int size = i2d_PUBKEY(key, &der);  // SubjectPublicKeyInfo, as RFC 6376 3.6.1 says
    if (size <= 0) return Error::parse(openssl_error("cannot encode the RSA public key"));
    public_key.record = "v=DKIM1; k=rsa; p=" + base64(der, static_cast<size_t>(size));
    OPENSSL_free(der);
    return public_key;
  }
  if (id == EVP_PKEY_ED25519) {
    public_key.type = DkimKeyType::kEd25519;
    public_key.bits = kEd25519Bits;
    unsigned char raw[kEd25519PublicKeyBytes];
    size_t size = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key, raw, &size) != 1 || size != kEd25519PublicKeyBytes) {
      return Error::parse(openssl_error("cannot read the Ed25519 public key"));
    }
    // RFC 8463 section 4.2: the bare 32-byte key, not a SubjectPublicKeyInfo.
    public_key.record = "v=DKIM1; k=ed25519; p=" + base64(raw, size);
    return public_key;
  }
  return Error::parse("neither an RSA nor an Ed25519 key");
}

std::string join(std::string_view folder, std::string_view name) {
  std::string path(folder);
  path += '/';
  path += name;
  return path;
}

Status fsync_folder(const std::string& folder) {
  UniqueFd fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Error::system("open " + folder);
  if (::fsync(fd.get()) != 0) return Error::system("fsync " + folder);
  return Status::success();
}

// A key file's text, without following a symbolic link, bounded.
Result<std::string> read_key_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd) {
    if (errno == ENOENT) return Error::not_found(path + ": no such key");
    return Error::system("open " + path);
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return Error::system("stat " + path);
  if (!S_ISREG(info.st_mode)) return Error::parse(path + ": not a regular file");
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Error::system("read " + path);
    if (got == 0) break;
    if (text.size() + static_cast<size_t>(got) > kMaxDkimKeyFileBytes) {
      return Error::limit(path + ": longer than " + std::to_string(kMaxDkimKeyFileBytes) +
                          " bytes: not a DKIM key");
    }
    text.append(buffer, static_cast<size_t>(got));
  }
  return text;
}

// The selectors of the *.key regular files in folder (sorted); none when it does not exist. A
// symbolic link in place of the folder is not followed (an error).
Result<std::vector<std::string>> selectors_in(const std::string& folder) {
  std::vector<std::string> selectors;
  int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return selectors;
    return Error::system("open " + folder);
  }
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(fd), ::closedir);
  if (!dir) {
    Error error = Error::system("open " + folder);
    ::close(fd);
    return error;
  }
  for (;;) {
    errno = 0;  // readdir's end and its failure differ only in errno
    dirent* entry = ::readdir(dir.get());
    if (entry == nullptr) break;
    std::string_view name = entry->d_name;
    if (name.size() <= kDkimKeyFileSuffix.size() || !name.ends_with(kDkimKeyFileSuffix)) continue;
    std::string_view selector = name.substr(0, name.size() - kDkimKeyFileSuffix.size());
    if (!is_valid_dkim_selector(selector)) continue;  // temporary files, the admin's notes
    struct stat info {};
    if (::fstatat(::dirfd(dir.get()), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(info.st_mode)) {
      continue;
    }
    if (selectors.size() == kMaxDkimKeysPerDomain) {
      return Error::limit(folder + ": more than " + std::to_string(kMaxDkimKeysPerDomain) +
                          " keys");
    }
    selectors.emplace_back(selector);
  }
  if (errno != 0) return Error::system("read " + folder);
  std::sort(selectors.begin(), selectors.end());
  return selectors;
}

Error bad_name(std::string_view what, std::string_view name) {
  return Error::parse("not a valid DKIM " + std::string(what) + ": \"" + std::string(name) + "\"");
}

Status check_names(std::string_view domain, std::string_view selector) {
  if (!is_valid_dkim_domain(domain)) return bad_name("domain", domain);
  if (!is_valid_dkim_selector(selector)) return bad_name("selector", selector);
  return Status::success();
}

}  // namespace

std::string_view dkim_key_type_name(DkimKeyType type) {
  return type == DkimKeyType::kEd25519 ? "ed25519" : "rsa";
}

std::optional<DkimKeyType> parse_dkim_key_type(std::string_view word) {
  if (word == "rsa") return DkimKeyType::kRsa;
  if (word == "ed25519") return DkimKeyType::kEd25519;
  return std::nullopt;
}

bool is_valid_dkim_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > kMaxDkimDomainBytes) return false;
  size_t start = 0;
  for (;;) {
    size_t dot = domain.find('.', start);
    std::string_view label =
        domain.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!is_ldh_label(label)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool is_valid_dkim_selector(std::string_view selector) {
  return selector.size() <= kMaxDkimSelectorBytes && is_ldh_label(selector);
}

Result<DkimPublishedKey> dkim_public_key_from_pem(std::string_view pem) {
  if (pem.size() > kMaxDkimKeyFileBytes) {
    return Error::limit("longer than " + std::to_string(kMaxDkimKeyFileBytes) + " bytes");
  }
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Error::system(openssl_error("out of memory"), ENOMEM);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
  if (!key) return Error::parse(openssl_error("not an unencrypted PEM private key"));
  Result<DkimPublishedKey> public_key = public_key_of(key.get());
  ERR_clear_error();
  return public_key;
}

Result<GeneratedDkimKey> generate_dkim_key(DkimKeyType type, int rsa_bits) {
  if (type == DkimKeyType::kRsa &&
      (rsa_bits < kMinGeneratedDkimRsaBits || rsa_bits > kMaxGeneratedDkimRsaBits)) {
    return Error::limit("RSA keys have " + std::to_string(kMinGeneratedDkimRsaBits) + " to " +
                        std::to_string(kMaxGeneratedDkimRsaBits) + " bits, not " +
                        std::to_string(rsa_bits));
  }
  ERR_clear_error();
  PkeyPtr key(type == DkimKeyType::kRsa
                  ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(rsa_bits))
                  : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return Error::system(openssl_error("cannot make the key"), 0);
  BioPtr bio(BIO_new(BIO_s_mem()));
  // PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY") for every type.
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Error::system(openssl_error("cannot write the key"), 0);
  }
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  GeneratedDkimKey generated;
  generated.private_pem.assign(data, size > 0 ? static_cast<size_t>(size) : 0);
  Result<DkimPublishedKey> public_key = public_key_of(key.get());
  ERR_clear_error();
  if (!public_key) return public_key.error();
  generated.public_key = std::move(public_key).value();
  return generated;
}

std::vector<std::string> split_character_strings(std::string_view text, size_t max_bytes) {
  std::vector<std::string> pieces;
  if (max_bytes == 0) return pieces;
  for (size_t at = 0; at < text.size(); at += max_bytes) {
    pieces.emplace_back(text.substr(at, max_bytes));
  }
  return pieces;
}

std::string zone_character_strings(std::string_view text) {
  std::string zone;
  // Cut before escaping: the 255-byte limit is on the string's bytes, not on its zone syntax.
  std::vector<std::string> pieces = split_character_strings(text);
  if (pieces.empty()) pieces.emplace_back();
  for (const std::string& piece : pieces) {
    if (!zone.empty()) zone += ' ';
    zone += '"';
    for (char c : piece) {
      if (c == '"' || c == '\\') zone += '\\';
      zone += c;
    }
    zone += '"';
  }
  return zone;
}

DkimKeyStore::DkimKeyStore(std::string directory, uid_t owner, gid_t group)
    : directory_(std::move(directory)), owner_(owner), group_(group) {}

std::string DkimKeyStore::key_path(std::string_view domain, std::string_view selector,
                                   bool retired) const {
  std::string folder = join(directory_, domain);
  if (retired) folder = join(folder, kDkimRetiredFolder);
  return join(folder, std::string(selector) + std::string(kDkimKeyFileSuffix));
}

Result<std::vector<DkimKeyEntry>> DkimKeyStore::domain_keys(std::string_view domain) const {
  if (!is_valid_dkim_domain(domain)) return bad_name("domain", domain);
  std::vector<DkimKeyEntry> keys;
  for (bool retired : {false, true}) {
    std::string folder = join(directory_, domain);
    if (retired) folder = join(folder, kDkimRetiredFolder);
    Result<std::vector<std::string>> selectors = selectors_in(folder);
    if (!selectors) return selectors.error();
    for (const std::string& selector : *selectors) {
      if (keys.size() == kMaxDkimKeysPerDomain) {
        return Error::limit(join(directory_, domain) + ": more than " +
                            std::to_string(kMaxDkimKeysPerDomain) + " keys");
      }
      DkimKeyEntry entry{
          std::string(domain), selector, key_path(domain, selector, retired), retired, {}};
      Result<std::string> pem = read_key_file(entry.path);
      if (!pem) return pem.error();
      Result<DkimPublishedKey> public_key = dkim_public_key_from_pem(*pem);
      if (!public_key) return Error::parse(entry.path + ": " + public_key.error().message);
      entry.public_key = std::move(public_key).value();
      keys.push_back(std::move(entry));
    }
  }
  return keys;
}

Result<std::vector<std::string>> DkimKeyStore::domains() const {
  std::vector<std::string> found;
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(directory_.c_str()), ::closedir);
  if (!dir) {
    if (errno == ENOENT) return found;
    return Error::system("open " + directory_);
  }
  for (;;) {
    errno = 0;
    dirent* entry = ::readdir(dir.get());
    if (entry == nullptr) break;
    if (!is_valid_dkim_domain(entry->d_name)) continue;
    struct stat info {};
    if (::fstatat(::dirfd(dir.get()), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISDIR(info.st_mode)) {
      continue;
    }
    if (found.size() == kMaxDkimDomains) {
      return Error::limit(directory_ + ": more than " + std::to_string(kMaxDkimDomains) +
                          " domains");
    }
    found.emplace_back(entry->d_name);
  }
  if (errno != 0) return Error::system("read " + directory_);
  std::sort(found.begin(), found.end());
  return found;
}

Result<bool> DkimKeyStore::selector_taken(std::string_view domain,
                                          std::string_view selector) const {
  if (Status names = check_names(domain, selector); !names) return names.error();
  for (bool retired : {false, true}) {
    struct stat info {};
    const std::string path = key_path(domain, selector, retired);
    if (::lstat(path.c_str(), &info) == 0) return true;
    if (errno != ENOENT && errno != ENOTDIR) return Error::system("stat " + path);
  }
  return false;
}

Status DkimKeyStore::make_folder(const std::string& path) const {
  if (::mkdir(path.c_str(), kDkimFolderMode) != 0) {
    if (errno != EEXIST) return Error::system("mkdir " + path);
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) return Error::system("stat " + path);
    if (!S_ISDIR(info.st_mode)) return Error::config(path + ": not a folder");
    return Status::success();
  }
  // mkdir's mode passed through the umask: set it as meant, then the owner.
  if (::chmod(path.c_str(), kDkimFolderMode) != 0) return Error::system("chmod " + path);
  if ((owner_ != static_cast<uid_t>(-1) || group_ != static_cast<gid_t>(-1)) &&
      ::lchown(path.c_str(), owner_, group_) != 0) {
    return Error::system("chown " + path);
  }
  std::string::size_type slash = path.find_last_of('/');
  return fsync_folder(slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash));
}

Status DkimKeyStore::add_key(std::string_view domain, std::string_view selector,
                             std::string_view private_pem) {
  if (Status names = check_names(domain, selector); !names) return names;
  Result<DkimPublishedKey> checked = dkim_public_key_from_pem(private_pem);
  if (!checked) return Error::parse("refusing to install: " + checked.error().message);
  Result<bool> taken = selector_taken(domain, selector);
  if (!taken) return taken.error();
  if (*taken) {
    return permanent("selector " + std::string(selector) + " of " + std::string(domain) +
                     " exists already: a key is never overwritten");
  }
  const std::string folder = join(directory_, domain);
  for (const std::string& path : {directory_, folder}) {
    if (Status made = make_folder(path); !made) return made;
  }
  const std::string final_path = key_path(domain, selector, false);
  std::string temporary =
      join(folder, std::string(kTemporaryPrefix) + std::string(selector) + ".XXXXXX");
  UniqueFd fd(::mkostemp(temporary.data(), O_CLOEXEC));  // mode 0600
  if (!fd) return Error::system("create a temporary file in " + folder);
  auto fail = [&](Error error) -> Status {
    ::unlink(temporary.c_str());
    return error;
  };
  if (::fchmod(fd.get(), kDkimKeyFileMode) != 0) return fail(Error::system("chmod " + temporary));
  if ((owner_ != static_cast<uid_t>(-1) || group_ != static_cast<gid_t>(-1)) &&
      ::fchown(fd.get(), owner_, group_) != 0) {
    return fail(Error::system("chown " + temporary));
  }
  for (size_t written = 0; written < private_pem.size();) {
    ssize_t done = ::write(fd.get(), private_pem.data() + written, private_pem.size() - written);
    if (done < 0 && errno == EINTR) continue;
    if (done < 0) return fail(Error::system("write " + temporary));
    written += static_cast<size_t>(done);
  }
  if (::fsync(fd.get()) != 0) return fail(Error::system("fsync " + temporary));
  fd = UniqueFd();
  // RENAME_NOREPLACE: a key that appeared meanwhile (another admin's) is not replaced.
  if (::renameat2(AT_FDCWD, temporary.c_str(), AT_FDCWD, final_path.c_str(), RENAME_NOREPLACE) !=
      0) {
    if (errno == EEXIST) {
      return fail(permanent(final_path + " exists already: a key is never overwritten"));
    }
    return fail(Error::system("rename to " + final_path));
  }
  return fsync_folder(folder);
}

Status DkimKeyStore::retire_key(std::string_view domain, std::string_view selector) {
  if (Status names = check_names(domain, selector); !names) return names;
  const std::string from = key_path(domain, selector, false);
  const std::string to = key_path(domain, selector, true);
  struct stat info {};
  if (::lstat(from.c_str(), &info) != 0) {
    if (errno == ENOENT) return Error::not_found(from + ": no such signing key");
    return Error::system("stat " + from);
  }
  const std::string folder = join(directory_, domain);
  const std::string retired_folder = join(folder, kDkimRetiredFolder);
  if (Status made = make_folder(retired_folder); !made) return made;
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) return permanent(to + " exists already");
    return Error::system("rename " + from + " to " + to);
  }
  if (Status synced = fsync_folder(retired_folder); !synced) return synced;
  return fsync_folder(folder);
}

Status DkimKeyStore::remove_key(std::string_view domain, std::string_view selector, bool retired) {
  if (Status names = check_names(domain, selector); !names) return names;
  const std::string path = key_path(domain, selector, retired);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Error::not_found(path + ": no such key");
    return Error::system("remove " + path);
  }
  return fsync_folder(path.substr(0, path.find_last_of('/')));
}

}  // namespace postern
