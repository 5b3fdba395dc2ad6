// cli/setup_modes: what each mode of `postern setup` sets, and the checks of its inputs.
#include "cli/setup_modes.hpp"

#include <gtest/gtest.h>

#include <map>

#include "lib/config/main_cf.hpp"

namespace postern::cli {
namespace {

std::map<std::string, std::string> settings_of(const SetupRequest& request) {
  std::map<std::string, std::string> found;
  for (const Setting& setting : mode_settings(request)) {
    EXPECT_EQ(found.count(setting.name), 0u) << setting.name << " set twice";
    found[setting.name] = setting.value;
  }
  return found;
}

SetupRequest request_for(SetupMode mode) {
  SetupRequest request;
  request.mode = mode;
  request.domains = {"example.org", "example.net"};
  request.mailname = "mail.example.org";
  request.mailname_file = "/etc/mailname";
  request.local_only_table = "texthash:/etc/postern/transport_local_only";
  if (mode_info(mode).needs_relayhost) request.relayhost = "[smtp.example.com]:587";
  return request;
}

TEST(SetupModes, ParsesTheFourNames) {
  EXPECT_EQ(parse_setup_mode("internet"), SetupMode::kInternet);
  EXPECT_EQ(parse_setup_mode("smarthost"), SetupMode::kSmarthost);
  EXPECT_EQ(parse_setup_mode("satellite"), SetupMode::kSatellite);
  EXPECT_EQ(parse_setup_mode("local"), SetupMode::kLocal);
  EXPECT_EQ(parse_setup_mode("Internet"), std::nullopt);
  EXPECT_EQ(parse_setup_mode(""), std::nullopt);
}

TEST(SetupModes, Internet) {
  auto s = settings_of(request_for(SetupMode::kInternet));
  EXPECT_EQ(s["myorigin"], "/etc/mailname");
  EXPECT_EQ(s["mydestination"],
            "$myhostname, mail.example.org, example.org, example.net, localhost.$mydomain, "
            "localhost");
  EXPECT_EQ(s["relayhost"], "");
  EXPECT_EQ(s["inet_interfaces"], "all");
  EXPECT_EQ(s["mynetworks"], "");
  EXPECT_EQ(s["smtp_tls_security_level"], "may");
  EXPECT_EQ(s["transport_maps"], "");
  EXPECT_EQ(s.count("smtp_sasl_password_maps"), 0u);
}

TEST(SetupModes, SmarthostWithAndWithoutLogin) {
  SetupRequest request = request_for(SetupMode::kSmarthost);
  auto s = settings_of(request);
  EXPECT_EQ(s["relayhost"], "[smtp.example.com]:587");
  EXPECT_EQ(s["inet_interfaces"], "all");
  EXPECT_EQ(s["smtp_tls_security_level"], "may");
  EXPECT_EQ(s.count("smtp_sasl_password_maps"), 0u);
  request.credentials_table = "texthash:/etc/postern/relay_credentials";
  s = settings_of(request);
  EXPECT_EQ(s["smtp_sasl_password_maps"], "texthash:/etc/postern/relay_credentials");
  EXPECT_EQ(s["smtp_tls_security_level"], "verify");
  EXPECT_EQ(s["mynetworks"], "");
  // A later run without --relay-user leaves the table, and the login still needs verify.
  request.credentials_table.clear();
  request.current_password_maps = "texthash:/etc/postern/relay_credentials";
  s = settings_of(request);
  EXPECT_EQ(s.count("smtp_sasl_password_maps"), 0u);
  EXPECT_EQ(s["smtp_tls_security_level"], "verify");
  request.mode = SetupMode::kInternet;  // no smart host: no login is used
  EXPECT_EQ(settings_of(request)["smtp_tls_security_level"], "may");
}

TEST(SetupModes, SatelliteKeepsOnlyLocalhostAndTheNamedDomains) {
  SetupRequest request = request_for(SetupMode::kSatellite);
  request.domains.clear();
  auto s = settings_of(request);
  // root@<mailname> (cron's mail) and $myhostname go to the smart host.
  EXPECT_EQ(s["mydestination"], "localhost.$mydomain, localhost");
  EXPECT_EQ(s["relayhost"], "[smtp.example.com]:587");
  EXPECT_EQ(s["inet_interfaces"], "loopback-only");
  EXPECT_EQ(s["mynetworks"], "");
}

TEST(SetupModes, LocalRoutesEverythingToLocalDeliveryKeepingTheAdminsTables) {
  SetupRequest request = request_for(SetupMode::kLocal);
  request.current_transport_maps = "texthash:/etc/postern/transport";
  auto s = settings_of(request);
  EXPECT_EQ(s["relayhost"], "");
  EXPECT_EQ(s["inet_interfaces"], "loopback-only");
  EXPECT_EQ(s["transport_maps"],
            "texthash:/etc/postern/transport_local_only, texthash:/etc/postern/transport");
  const std::string table = local_only_transport_text();
  EXPECT_TRUE(table.ends_with("\n*\tlocal:\n")) << table;
  // Run again on its own result: the same; another mode takes our table out again.
  request.current_transport_maps = s["transport_maps"];
  EXPECT_EQ(settings_of(request)["transport_maps"], s["transport_maps"]);
  request.mode = SetupMode::kInternet;
  EXPECT_EQ(settings_of(request)["transport_maps"], "texthash:/etc/postern/transport");
}

TEST(SetupModes, ListenOverridesTheModesInterfaces) {
  SetupRequest request = request_for(SetupMode::kLocal);
  request.listen = "192.0.2.1, ::1";
  EXPECT_EQ(settings_of(request)["inet_interfaces"], "192.0.2.1, ::1");
}

TEST(SetupModes, EveryModeGivesAMainCfThatParses) {
  for (SetupMode mode :
       {SetupMode::kInternet, SetupMode::kSmarthost, SetupMode::kSatellite, SetupMode::kLocal}) {
    std::string text;
    for (const Setting& setting : mode_settings(request_for(mode))) {
      text += setting.name + " = " + setting.value + "\n";
    }
    Result<MainConfig> config = MainConfig::parse(text, "main.cf", nullptr);
    ASSERT_TRUE(config) << mode_info(mode).name << ": " << config.error().message;
    EXPECT_TRUE(config->get_list("mynetworks").empty());
    std::string block = mode_comment_block(request_for(mode));
    EXPECT_TRUE(block.starts_with(kModeBlockBegin));
    EXPECT_NE(block.find(mode_info(mode).name), std::string::npos);
  }
}

TEST(SetupModes, Domains) {
  EXPECT_EQ(*normalize_domain("Example.ORG."), "example.org");
  EXPECT_EQ(*normalize_domain("a-b.c1"), "a-b.c1");
  EXPECT_EQ(*normalize_domain("localhost"), "localhost");
  for (std::string_view bad : {"", ".", "a..b", ".a", "-a.b", "a-.b", "a b", "a_b.c", "a@b", "a/b",
                               "a,b", "a$b", "a\nb"}) {
    EXPECT_FALSE(normalize_domain(bad)) << bad;
  }
  std::string label(63, 'a');
  EXPECT_TRUE(normalize_domain(label + ".org"));
  EXPECT_FALSE(normalize_domain(label + "a.org"));
  std::string name;
  while (name.size() + 2 <= kMaxDomainBytes) name += "a.";
  name += "a";
  name.resize(kMaxDomainBytes);
  if (name.back() == '.') name.back() = 'b';
  EXPECT_TRUE(normalize_domain(name)) << name.size();
  EXPECT_FALSE(normalize_domain(name + "b"));
}

TEST(SetupModes, RelayHosts) {
  EXPECT_EQ(*normalize_relayhost("smtp.example.com"), "[smtp.example.com]");
  EXPECT_EQ(*normalize_relayhost("SMTP.example.com:587"), "[smtp.example.com]:587");
  EXPECT_EQ(*normalize_relayhost("[smtp.example.com]:0587"), "[smtp.example.com]:587");
  EXPECT_EQ(*normalize_relayhost("127.0.0.1:2525"), "[127.0.0.1]:2525");
  EXPECT_EQ(*normalize_relayhost("[2001:DB8::1]:25"), "[2001:db8::1]:25");
  EXPECT_EQ(*normalize_relayhost("[IPv6:2001:db8::1]"), "[2001:db8::1]");
  EXPECT_EQ(*normalize_relayhost("[h]:65535"), "[h]:65535");
  for (std::string_view bad : {"", ":25", "h:", "h:0", "h:65536", "h:x", "[h", "[h]x",
                               "[h]:", "2001:db8::1", "h:25:26", "h b", "[h]:25 extra", "h;rm"}) {
    EXPECT_FALSE(normalize_relayhost(bad)) << bad;
  }
}

TEST(SetupModes, Listen) {
  EXPECT_EQ(*normalize_listen("all"), "all");
  EXPECT_EQ(*normalize_listen("loopback"), "loopback-only");
  EXPECT_EQ(*normalize_listen("192.0.2.1,[::1], 192.0.2.1"), "192.0.2.1, ::1");
  for (std::string_view bad : {"", "all,127.0.0.1", "eth0", "192.0.2.300", "1.2.3.4,", "*"}) {
    EXPECT_FALSE(normalize_listen(bad)) << bad;
  }
  std::string many;
  for (size_t i = 0; i < kMaxListenAddresses; ++i) many += "10.0.0." + std::to_string(i) + ",";
  many.pop_back();
  EXPECT_TRUE(normalize_listen(many));
  EXPECT_FALSE(normalize_listen(many + ",10.0.1.1"));
}

TEST(SetupModes, RelayLogin) {
  EXPECT_TRUE(check_relay_user("resend"));
  EXPECT_TRUE(check_relay_user(std::string(kMaxRelayUserBytes, 'u')));
  EXPECT_FALSE(check_relay_user(std::string(kMaxRelayUserBytes + 1, 'u')));
  for (std::string_view bad : {"", "a b", "a:b", "a\tb", "a\nb"}) {
    EXPECT_FALSE(check_relay_user(bad)) << bad;
  }
  EXPECT_TRUE(check_relay_password("pass word:with$odd#chars"));
  EXPECT_TRUE(check_relay_password(std::string(kMaxRelayPasswordBytes, 'p')));
  EXPECT_FALSE(check_relay_password(std::string(kMaxRelayPasswordBytes + 1, 'p')));
  for (std::string_view bad :
       {std::string_view(""), std::string_view(" lead"), std::string_view("trail "),
        std::string_view("a\rb"), std::string_view("a\0b", 3)}) {
    EXPECT_FALSE(check_relay_password(bad));
  }
  EXPECT_EQ(relay_credentials_text("[h]:587", "u", "p")
                .substr(relay_credentials_text("[h]:587", "u", "p").find('\n') + 1),
            "[h]:587 u:p\n");
}

}  // namespace
}  // namespace postern::cli
