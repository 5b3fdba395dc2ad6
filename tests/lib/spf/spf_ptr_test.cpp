// Unit tests for lib/spf/spf_ptr.cpp over a zone in the openspf format: names validated by
// their own A/AAAA, names that do not validate, the PTR name limit at N and N+1, a DNS error
// on one name, and the p macro's preference for the checked domain.
#include "lib/spf/spf_ptr.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "tests/lib/spf/openspf_zone.hpp"

namespace postern::spf {
namespace {

TEST(SpfPtr, ValidatesEachNameByItsAddresses) {
  testing::OpenSpfZone zone(
      YAML::Load("1.2.0.192.in-addr.arpa:\n  - PTR: Good.Example.com.\n  - PTR: liar.example.net\n"
                 "  - PTR: slow.example.org\n  - PTR: mx.sub.example.org\n"
                 "good.example.com:\n  - A: 192.0.2.1\n"
                 "liar.example.net:\n  - A: 198.51.100.1\n"
                 "slow.example.org:\n  - TIMEOUT\n"
                 "mx.sub.example.org:\n  - A: 198.51.100.7\n  - A: 192.0.2.1\n"));
  SpfPtrNames names = spf_validated_names(zone, *parse_spf_client_address("192.0.2.1"));
  EXPECT_EQ(names.ptr_status, DnsLookupStatus::kOk);
  EXPECT_EQ(names.ptr_answers, 4u);
  EXPECT_EQ(names.validated, (std::vector<std::string>{"good.example.com", "mx.sub.example.org"}));
  EXPECT_EQ(spf_pick_validated_name(names.validated, "example.org"), "mx.sub.example.org");
  EXPECT_EQ(spf_pick_validated_name(names.validated, "example.net"), "good.example.com");
  EXPECT_EQ(spf_pick_validated_name({}, "example.net"), "");
}

TEST(SpfPtr, NameLimitAndMissingNames) {
  std::string zone_text = "1.2.0.192.in-addr.arpa:\n";
  for (size_t i = 1; i <= kMaxSpfPtrNames + 1; ++i) {
    zone_text += "  - PTR: h" + std::to_string(i) + ".example.com\n";
  }
  for (size_t i = 1; i <= kMaxSpfPtrNames + 1; ++i) {
    zone_text += "h" + std::to_string(i) + ".example.com:\n  - A: 192.0.2.1\n";
  }
  testing::OpenSpfZone zone(YAML::Load(zone_text));
  SpfAddress client = *parse_spf_client_address("192.0.2.1");
  EXPECT_EQ(spf_validated_names(zone, client).validated.size(), kMaxSpfPtrNames);
  EXPECT_EQ(spf_validated_names(zone, client, kMaxSpfPtrNames + 1).validated.size(),
            kMaxSpfPtrNames + 1);
  SpfPtrNames none = spf_validated_names(zone, *parse_spf_client_address("192.0.2.2"));
  EXPECT_EQ(none.ptr_status, DnsLookupStatus::kNxDomain);
  EXPECT_TRUE(none.validated.empty());
}

}  // namespace
}  // namespace postern::spf
