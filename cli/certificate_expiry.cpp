// Certificate expiry dates for `postern status` (see certificate_expiry.hpp). OpenSSL parses the
// PEM; we bound what it is given and what we keep.
#include "cli/certificate_expiry.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <ctime>
#include <memory>

#include "lib/base/file_read.hpp"
#include "lib/config/master_cf.hpp"
#include "lib/config/parameters.hpp"

namespace postern::cli {
namespace {

bool names_certificates(std::string_view name) {
  return name.ends_with("_cert_file") || name.ends_with("_chain_file") ||
         name.ends_with("_chain_files");
}

void add_file(std::vector<CertificateFile>& files, const std::string& path,
              const std::string& parameter) {
  if (path.empty()) return;
  for (CertificateFile& file : files) {
    if (file.path == path) {
      if (std::find(file.parameters.begin(), file.parameters.end(), parameter) ==
          file.parameters.end()) {
        file.parameters.push_back(parameter);
      }
      return;
    }
  }
  CertificateFile file;
  file.path = path;
  file.parameters.push_back(parameter);
  files.push_back(std::move(file));
}

// A value may list several files (the _chain_files parameters): comma or white space.
std::vector<std::string> split_paths(std::string_view value) {
  std::vector<std::string> paths;
  size_t pos = 0;
  while (pos < value.size()) {
    size_t end = value.find_first_of(", \t", pos);
    if (end == std::string_view::npos) end = value.size();
    if (end > pos) paths.emplace_back(value.substr(pos, end - pos));
    pos = end + 1;
  }
  return paths;
}

std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxSubjectBytes)) {
    auto byte = static_cast<unsigned char>(c);
    out += (byte < 0x20 || byte >= 0x7f) ? '?' : c;
  }
  return out;
}

std::string subject_of(X509* certificate) {
  X509_NAME* name = X509_get_subject_name(certificate);
  if (name == nullptr) return "";
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), BIO_free);
  if (!out) return "";
  if (X509_NAME_print_ex(out.get(), name, 0, XN_FLAG_RFC2253) < 0) return "";
  char* data = nullptr;
  long size = BIO_get_mem_data(out.get(), &data);
  if (size <= 0 || data == nullptr) return "";
  return printable(std::string_view(data, static_cast<size_t>(size)));
}

}  // namespace

std::vector<CertificateFile> named_certificate_files(const MainConfig& config,
                                                     const std::string& master_cf_path) {
  std::vector<CertificateFile> files;
  for (const ParamSpec& spec : all_parameters()) {
    if (!names_certificates(spec.name)) continue;
    for (const std::string& path : split_paths(config.get(spec.name))) {
      add_file(files, path, std::string(spec.name));
    }
  }
  auto services = load_master_cf(master_cf_path);
  if (!services) return files;
  for (const ServiceEntry& service : *services) {
    for (const auto& [name, raw] : service.overrides) {
      if (!names_certificates(name)) continue;
      auto value = config.expand_text(raw);
      if (!value) continue;
      for (const std::string& path : split_paths(*value)) {
        add_file(files, path, service.name + ": " + name);
      }
    }
  }
  return files;
}

void read_certificates(CertificateFile& file) {
  Result<std::string> text = read_small_file(file.path, kMaxCertificateFileBytes);
  if (!text) {
    file.error = text.error().describe();
    return;
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> in(
      BIO_new_mem_buf(text->data(), static_cast<int>(text->size())), BIO_free);
  if (!in) {
    file.error = "out of memory";
    return;
  }
  while (file.certificates.size() < kMaxCertificatesPerFile) {
    std::unique_ptr<X509, decltype(&X509_free)> certificate(
        PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr), X509_free);
    if (!certificate) break;
    const ASN1_TIME* not_after = X509_get0_notAfter(certificate.get());
    std::tm tm{};
    if (not_after == nullptr || ASN1_TIME_to_tm(not_after, &tm) != 1) continue;
    Certificate entry;
    entry.subject = subject_of(certificate.get());
    entry.not_after = static_cast<int64_t>(::timegm(&tm));
    file.certificates.push_back(std::move(entry));
  }
  ERR_clear_error();  // the end of the PEM text is an "error" too
  if (file.certificates.empty()) file.error = "no PEM certificate in " + file.path;
}

int64_t days_left(int64_t not_after, int64_t now) {
  int64_t seconds = not_after - now;
  return seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
}

}  // namespace postern::cli
