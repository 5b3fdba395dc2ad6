// The certificates main.cf names, and when each expires, for `postern status`: every parameter
// whose name ends in _cert_file, _chain_file or _chain_files (smtpd_tls_cert_file today), in
// main.cf and in master.cf "-o" overrides. Runs in the `postern` command. Treats the files as
// hostile: at most kMaxCertificateFileBytes read, at most kMaxCertificatesPerFile certificates
// taken from one file, the subject cut to kMaxSubjectBytes and made printable; a file that is
// missing, unreadable or holds no certificate is reported with its error, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/config/main_cf.hpp"

namespace postern::cli {

inline constexpr size_t kMaxCertificateFileBytes = 1024 * 1024;
inline constexpr size_t kMaxCertificatesPerFile = 32;
inline constexpr size_t kMaxSubjectBytes = 256;
inline constexpr int64_t kCertificateWarningDays = 14;

struct Certificate {
  std::string subject;    // "CN=mx.example.org", printable
  int64_t not_after = 0;  // Unix seconds (OpenSSL's notAfter)
};

struct CertificateFile {
  std::string path;
  std::vector<std::string> parameters;  // "smtpd_tls_cert_file", "submission: smtpd_tls_cert_file"
  std::vector<Certificate> certificates;  // in file order: the server's first, then its chain
  std::string error;                      // why none could be read, or ""
};

// The files named by main.cf (and master.cf's -o overrides, when master_cf_path can be read),
// each once, in the order first named; their certificates are not read yet.
std::vector<CertificateFile> named_certificate_files(const MainConfig& config,
                                                     const std::string& master_cf_path);

// Reads file.path into file.certificates, or sets file.error.
void read_certificates(CertificateFile& file);

// Whole days from now until not_after, rounded down (negative once expired).
int64_t days_left(int64_t not_after, int64_t now);

}  // namespace postern::cli
