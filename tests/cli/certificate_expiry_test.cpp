// Tests cli/certificate_expiry: which main.cf and master.cf parameters name certificates, the
// notAfter of each certificate in a chain file (made here with OpenSSL), days left around the
// boundaries, and damaged files (missing, empty, garbage, too large) as errors.
#include "cli/certificate_expiry.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <memory>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace postern::cli {
namespace {

// A self-signed certificate for cn valid from now for days days, in PEM.
std::string make_certificate(const std::string& cn, long days, int64_t* not_after) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 86400);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  X509_sign(cert.get(), key.get(), EVP_sha256());
  std::tm tm{};
  ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm);
  *not_after = ::timegm(&tm);
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(out.get(), cert.get());
  char* data = nullptr;
  long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(CertificateExpiry, ReadsEveryCertificateOfAChain) {
  test_support::TempDir dir("cert_test");
  int64_t leaf_end = 0;
  int64_t ca_end = 0;
  const std::string path = dir.path() + "/chain.pem";
  write_file(path, make_certificate("mx.example.org", 10, &leaf_end) +
                       make_certificate("Example CA", 400, &ca_end));
  CertificateFile file;
  file.path = path;
  read_certificates(file);
  ASSERT_EQ(file.error, "");
  ASSERT_EQ(file.certificates.size(), 2u);
  EXPECT_EQ(file.certificates[0].subject, "CN=mx.example.org");
  EXPECT_EQ(file.certificates[0].not_after, leaf_end);
  EXPECT_EQ(file.certificates[1].subject, "CN=Example CA");
  EXPECT_EQ(file.certificates[1].not_after, ca_end);
}

TEST(CertificateExpiry, DamagedFilesAreErrors) {
  test_support::TempDir dir("cert_test");
  for (const auto& [name, text] : std::initializer_list<std::pair<std::string, std::string>>{
           {"empty", ""},
           {"garbage", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"},
           {"binary", std::string("\0\xff\x30\x82", 4)},
           {"huge", std::string(kMaxCertificateFileBytes + 1, 'A')}}) {
    CertificateFile file;
    file.path = dir.path() + "/" + name;
    write_file(file.path, text);
    read_certificates(file);
    EXPECT_NE(file.error, "") << name;
    EXPECT_TRUE(file.certificates.empty()) << name;
  }
  CertificateFile missing;
  missing.path = dir.path() + "/missing.pem";
  read_certificates(missing);
  EXPECT_NE(missing.error.find("missing.pem"), std::string::npos);
}

TEST(CertificateExpiry, AtMostSoManyCertificatesPerFile) {
  test_support::TempDir dir("cert_test");
  int64_t end = 0;
  std::string one = make_certificate("a", 5, &end);
  std::string many;
  for (size_t i = 0; i < kMaxCertificatesPerFile + 3; ++i) many += one;
  CertificateFile file;
  file.path = dir.path() + "/many.pem";
  write_file(file.path, many);
  read_certificates(file);
  EXPECT_EQ(file.certificates.size(), kMaxCertificatesPerFile);
}

TEST(CertificateExpiry, NamedByMainCfAndMasterCfOverrides) {
  test_support::TempDir dir("cert_test");
  std::vector<ConfigWarning> warnings;
  auto config = MainConfig::parse("smtpd_tls_cert_file = /etc/ssl/mx.pem\n", "main.cf",
                                  &warnings);
  ASSERT_TRUE(config);
  write_file(dir.path() + "/master.cf",
             "smtp inet n - n - - smtpd\n"
             "submission inet n - n - - submission -o smtpd_tls_cert_file=/etc/ssl/sub.pem\n"
             "465 inet n - n - - submission -o smtpd_tls_cert_file=/etc/ssl/mx.pem\n");
  auto files = named_certificate_files(*config, dir.path() + "/master.cf");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].path, "/etc/ssl/mx.pem");
  EXPECT_EQ(files[0].parameters,
            (std::vector<std::string>{"smtpd_tls_cert_file", "465: smtpd_tls_cert_file"}));
  EXPECT_EQ(files[1].path, "/etc/ssl/sub.pem");
  // No master.cf: main.cf's alone.
  EXPECT_EQ(named_certificate_files(*config, dir.path() + "/none.cf").size(), 1u);
}

TEST(CertificateExpiry, DaysLeft) {
  EXPECT_EQ(days_left(1000 + 14 * 86400, 1000), 14);
  EXPECT_EQ(days_left(1000 + 14 * 86400 - 1, 1000), 13);
  EXPECT_EQ(days_left(1000, 1000), 0);
  EXPECT_EQ(days_left(999, 1000), -1);
  EXPECT_EQ(days_left(1000 - 86400, 1000), -1);
  EXPECT_EQ(days_left(1000 - 86401, 1000), -2);
}

}  // namespace
}  // namespace postern::cli
