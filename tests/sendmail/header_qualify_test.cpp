// Tests sendmail/header_qualify: bare names in address fields get the origin; everything else in
// the field (display names, comments, quoted strings, folding, groups) stays as written.
#include "sendmail/header_qualify.hpp"

#include <gtest/gtest.h>

namespace postern::sendmail {
namespace {

constexpr std::string_view kOrigin = "host.example";

TEST(HeaderQualify, BareNamesGetTheOrigin) {
  EXPECT_EQ(qualify_address_list(" alice", kOrigin), " alice@host.example");
  EXPECT_EQ(qualify_address_list(" alice, bob", kOrigin), " alice@host.example, bob@host.example");
  EXPECT_EQ(qualify_address_list(" root (Cron Daemon)", kOrigin),
            " root@host.example (Cron Daemon)");
  EXPECT_EQ(qualify_address_list(" Anacron <root>", kOrigin), " Anacron <root@host.example>");
  EXPECT_EQ(qualify_address_list(" \"Doe, John\" <john>", kOrigin),
            " \"Doe, John\" <john@host.example>");
  EXPECT_EQ(qualify_address_list(" first.last", kOrigin), " first.last@host.example");
  EXPECT_EQ(qualify_address_list(" \"john doe\"", kOrigin), " \"john doe\"@host.example");
}

TEST(HeaderQualify, QualifiedAddressesAndOtherShapesStayAsWritten) {
  for (std::string_view value :
       {" alice@example.org", " Alice <alice@example.org>", " undisclosed-recipients:;",
        " team: alice, bob;", " <>", " (just a comment)", " ", "", " \"unterminated",
        " alice (unterminated comment", " <@route:user@x.org>", " alice@x.org (a, b)",
        // Angle brackets out of order or doubled (a fuzz finding: the first made the '@'
        // go before a stray '>', and a second pass added another)
        " + \"Doe, John\"><<oh", " a>b", " <<a>>", " <a> <b>"}) {
    EXPECT_EQ(qualify_address_list(value, kOrigin), value) << value;
  }
}

TEST(HeaderQualify, MixedListsAndFolding) {
  EXPECT_EQ(qualify_address_list(" a@x.org,\r\n\tbob, \"C\" <c@y.org>, dan (D)", kOrigin),
            " a@x.org,\r\n\tbob@host.example, \"C\" <c@y.org>, dan@host.example (D)");
  // A comma inside a comment, a quoted string or angle brackets does not split the list.
  EXPECT_EQ(qualify_address_list(" eve (x, y), \"f, g\" <fg>", kOrigin),
            " eve@host.example (x, y), \"f, g\" <fg@host.example>");
}

TEST(HeaderQualify, WhichFields) {
  for (std::string_view name : {"From", "to", "CC", "Bcc", "Reply-To", "Sender", "Resent-To",
                                "resent-from", "Resent-Cc", "Resent-Bcc"}) {
    EXPECT_TRUE(is_address_field(name)) << name;
  }
  for (std::string_view name : {"Subject", "Message-ID", "In-Reply-To", "Received", "X-To"}) {
    EXPECT_FALSE(is_address_field(name)) << name;
  }
}

}  // namespace
}  // namespace postern::sendmail
