// Unit tests for lib/spf/spf_resinfo.cpp: smtp.mailfrom with the full address, smtp.helo for
// the HELO identity and MAIL FROM:<>, and values the client chose that must be quoted or
// cleaned so they cannot end the header line or add a property.
#include "lib/spf/spf_resinfo.hpp"

#include <gtest/gtest.h>

namespace postern::spf {
namespace {

SpfRequest request(std::string mail_from, std::string helo) {
  SpfRequest out;
  out.mail_from = std::move(mail_from);
  out.helo = std::move(helo);
  return out;
}

TEST(SpfResinfo, MailFromAndHelo) {
  SpfResult pass;
  pass.code = SpfResultCode::kPass;
  EXPECT_EQ(spf_resinfo(pass, request("user@example.org", "mail.example.org")),
            "spf=pass smtp.mailfrom=user@example.org");
  SpfResult null_sender;
  null_sender.code = SpfResultCode::kNone;
  null_sender.identity = SpfIdentity::kHelo;
  EXPECT_EQ(spf_resinfo(null_sender, request("", "mail.example.org")),
            "spf=none smtp.helo=mail.example.org");
  SpfResult helo;
  helo.code = SpfResultCode::kSoftFail;
  helo.identity = SpfIdentity::kHelo;
  EXPECT_EQ(spf_resinfo(helo, request("user@example.org", "mail.example.org")),
            "spf=softfail smtp.helo=mail.example.org");
}

TEST(SpfResinfo, HostileValuesAreQuoted) {
  SpfResult fail;
  fail.code = SpfResultCode::kFail;
  EXPECT_EQ(spf_resinfo(fail, request("Macro Error@example.org", "x")),
            "spf=fail smtp.mailfrom=\"Macro Error@example.org\"");
  EXPECT_EQ(spf_resinfo(fail, request("a\"b\\c;d@example.org", "x")),
            "spf=fail smtp.mailfrom=\"a\\\"b\\\\c;d@example.org\"");
  EXPECT_EQ(spf_resinfo(fail, request("x@example.org\r\n X-Evil: 1", "x")),
            "spf=fail smtp.mailfrom=\"x@example.org?? X-Evil: 1\"");
  SpfResult helo;
  helo.identity = SpfIdentity::kHelo;
  EXPECT_EQ(spf_resinfo(helo, request("", "")), "spf=none smtp.helo=\"\"");
  EXPECT_EQ(spf_resinfo(helo, request("", "[192.0.2.1]")), "spf=none smtp.helo=\"[192.0.2.1]\"");
}

}  // namespace
}  // namespace postern::spf
