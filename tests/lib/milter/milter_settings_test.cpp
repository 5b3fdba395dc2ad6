// Tests lib/milter/milter_settings: Postfix's smtpd_milters list syntax (plain addresses
// separated by commas or white space, and `{ address, name=value, ... }` groups with every
// per-milter setting), each error the admin can make (unknown setting, bad time, missing '}',
// bad port, unknown address kind, more than 32 milters at N and N+1), the address kinds
// resolve_milter_address takes (numeric and localhost only: no DNS), and load_milter_settings
// from MainConfig::parse with the milter_* parameters and their Postfix defaults.
#include "lib/milter/milter_settings.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <string>
#include <vector>

namespace postern::milter {
namespace {

using std::chrono::milliseconds;

std::vector<MilterSpec> parse_ok(std::string_view text, const MilterSpec& base = MilterSpec()) {
  Result<std::vector<MilterSpec>> list = parse_milter_list(text, base);
  EXPECT_TRUE(list.ok()) << text << ": " << (list.ok() ? "" : list.error().message);
  if (!list.ok()) return {};
  return std::move(list).value();
}

std::string parse_error(std::string_view text) {
  Result<std::vector<MilterSpec>> list = parse_milter_list(text, MilterSpec());
  EXPECT_FALSE(list.ok()) << "accepted: " << text;
  if (list.ok()) return "";
  EXPECT_EQ(list.error().kind, ErrorKind::kConfig);
  return list.error().message;
}

// "a.b.c.d:port" or "[v6]:port" of an inet address, "unix:path" of a Unix one.
std::string describe(const MilterAddress& address) {
  char text[INET6_ADDRSTRLEN] = {};
  switch (address.storage.ss_family) {
    case AF_INET: {
      const auto* in = reinterpret_cast<const sockaddr_in*>(&address.storage);
      EXPECT_EQ(address.length, sizeof(sockaddr_in));
      inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
      return std::string(text) + ":" + std::to_string(ntohs(in->sin_port));
    }
    case AF_INET6: {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address.storage);
      EXPECT_EQ(address.length, sizeof(sockaddr_in6));
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
      return "[" + std::string(text) + "]:" + std::to_string(ntohs(in6->sin6_port));
    }
    case AF_UNIX: {
      const auto* un = reinterpret_cast<const sockaddr_un*>(&address.storage);
      const std::string path(un->sun_path);
      EXPECT_EQ(address.length, offsetof(sockaddr_un, sun_path) + path.size() + 1);
      return "unix:" + path;
    }
    default:
      return "family " + std::to_string(address.storage.ss_family);
  }
}

std::string resolved(std::string_view text) {
  Result<MilterAddress> address = resolve_milter_address(text);
  EXPECT_TRUE(address.ok()) << text << ": " << (address.ok() ? "" : address.error().message);
  return address.ok() ? describe(*address) : "";
}

std::vector<std::string> names(const std::vector<MilterSpec>& milters) {
  std::vector<std::string> out;
  for (const MilterSpec& spec : milters) out.push_back(spec.name);
  return out;
}

TEST(MilterList, EmptyListHasNoMilters) {
  EXPECT_TRUE(parse_ok("").empty());
  EXPECT_TRUE(parse_ok(" ,\t, \n").empty());
}

TEST(MilterList, PlainAddressesSeparatedByCommasAndWhiteSpace) {
  std::vector<MilterSpec> milters =
      parse_ok("inet:127.0.0.1:11332, unix:/run/a.sock  local:/run/b.sock,inet6:[::1]:8891\n"
               "\tinet:10025");
  EXPECT_EQ(names(milters),
            (std::vector<std::string>{"inet:127.0.0.1:11332", "unix:/run/a.sock",
                                      "local:/run/b.sock", "inet6:[::1]:8891", "inet:10025"}));
  ASSERT_EQ(milters.size(), 5u);
  EXPECT_EQ(describe(milters[0].address), "127.0.0.1:11332");
  EXPECT_EQ(describe(milters[1].address), "unix:/run/a.sock");
  EXPECT_EQ(describe(milters[2].address), "unix:/run/b.sock");
  EXPECT_EQ(describe(milters[3].address), "[::1]:8891");
  EXPECT_EQ(describe(milters[4].address), "127.0.0.1:10025");
}

TEST(MilterList, PlainEntriesTakeTheBaseSettings) {
  MilterSpec base;
  base.default_action = DefaultAction::kAccept;
  base.connect_timeout = milliseconds(1000);
  base.command_timeout = milliseconds(2000);
  base.content_timeout = milliseconds(3000);
  base.protocol = 4;
  std::vector<MilterSpec> milters = parse_ok("inet:1.2.3.4:5 { unix:/x, protocol=6 }", base);
  ASSERT_EQ(milters.size(), 2u);
  for (const MilterSpec& spec : milters) {
    EXPECT_EQ(spec.default_action, DefaultAction::kAccept);
    EXPECT_EQ(spec.connect_timeout, milliseconds(1000));
    EXPECT_EQ(spec.command_timeout, milliseconds(2000));
    EXPECT_EQ(spec.content_timeout, milliseconds(3000));
  }
  EXPECT_EQ(milters[0].protocol, 4u);
  EXPECT_EQ(milters[1].protocol, 6u);
}

TEST(MilterList, GroupWithEverySetting) {
  std::vector<MilterSpec> milters = parse_ok(
      "{ inet:127.0.0.1:11332, default_action=accept, connect_timeout=250ms,\n"
      "  command_timeout = 5s, content_timeout=2m, protocol=4 }, unix:/run/after.sock");
  ASSERT_EQ(milters.size(), 2u);
  const MilterSpec& spec = milters[0];
  EXPECT_EQ(spec.name, "inet:127.0.0.1:11332");
  EXPECT_EQ(describe(spec.address), "127.0.0.1:11332");
  EXPECT_EQ(spec.default_action, DefaultAction::kAccept);
  EXPECT_EQ(spec.connect_timeout, milliseconds(250));
  EXPECT_EQ(spec.command_timeout, milliseconds(5000));
  EXPECT_EQ(spec.content_timeout, milliseconds(120000));
  EXPECT_EQ(spec.protocol, 4u);
  // The settings of a group stay inside it.
  EXPECT_EQ(milters[1].name, "unix:/run/after.sock");
  EXPECT_EQ(milters[1].default_action, DefaultAction::kTempfail);
  EXPECT_EQ(milters[1].command_timeout, milliseconds(30000));
}

TEST(MilterList, GroupSettingsSeparatedByWhiteSpaceOnly) {
  std::vector<MilterSpec> milters =
      parse_ok("{ inet:127.0.0.1:11332 default_action=accept command_timeout= 5s }");
  ASSERT_EQ(milters.size(), 1u);
  EXPECT_EQ(milters[0].name, "inet:127.0.0.1:11332");
  EXPECT_EQ(milters[0].default_action, DefaultAction::kAccept);
  EXPECT_EQ(milters[0].command_timeout, milliseconds(5000));
}

TEST(MilterList, GroupWithAddressOnlyAndGroupsSideBySide) {
  std::vector<MilterSpec> milters =
      parse_ok("{inet:127.0.0.1:1}{ unix:/a , default_action=reject }{unix:/b,}");
  ASSERT_EQ(milters.size(), 3u);
  EXPECT_EQ(names(milters), (std::vector<std::string>{"inet:127.0.0.1:1", "unix:/a", "unix:/b"}));
  EXPECT_EQ(milters[0].default_action, DefaultAction::kTempfail);
  EXPECT_EQ(milters[1].default_action, DefaultAction::kReject);
}

TEST(MilterList, EveryDefaultAction) {
  const std::pair<const char*, DefaultAction> cases[] = {
      {"accept", DefaultAction::kAccept},
      {"reject", DefaultAction::kReject},
      {"tempfail", DefaultAction::kTempfail},
      {"quarantine", DefaultAction::kQuarantine}};
  for (const auto& [text, action] : cases) {
    std::vector<MilterSpec> milters =
        parse_ok(std::string("{ unix:/m, default_action=") + text + " }");
    ASSERT_EQ(milters.size(), 1u);
    EXPECT_EQ(milters[0].default_action, action) << text;
    EXPECT_EQ(default_action_name(action), text);
  }
}

TEST(MilterList, TimeUnits) {
  const std::pair<const char*, milliseconds> cases[] = {
      {"7", milliseconds(7000)},      {"7s", milliseconds(7000)},
      {"1ms", milliseconds(1)},       {"1500ms", milliseconds(1500)},
      {"3m", milliseconds(180000)},   {"1h", milliseconds(3600000)},
      {"3600s", milliseconds(3600000)}, {"60m", milliseconds(3600000)},
      {"3600000ms", milliseconds(3600000)}};
  for (const auto& [text, expected] : cases) {
    for (const char* setting : {"connect_timeout", "command_timeout", "content_timeout"}) {
      std::vector<MilterSpec> milters =
          parse_ok(std::string("{ unix:/m, ") + setting + "=" + text + " }");
      ASSERT_EQ(milters.size(), 1u);
      const MilterSpec& spec = milters[0];
      const milliseconds got = std::string_view(setting) == "connect_timeout" ? spec.connect_timeout
                               : std::string_view(setting) == "command_timeout"
                                   ? spec.command_timeout
                                   : spec.content_timeout;
      EXPECT_EQ(got, expected) << setting << "=" << text;
    }
  }
}

TEST(MilterList, BadTimes) {
  for (const char* text : {"", "s", "5x", "5 s", "-5s", "0", "0ms", "3601s", "61m", "2h",
                           "3600001ms", "99999999999999999999s", "1.5s"}) {
    std::string message =
        parse_error(std::string("{ unix:/m, command_timeout=") + text + " }");
    EXPECT_NE(message.find("unix:/m"), std::string::npos) << text << ": " << message;
  }
}

TEST(MilterList, ProtocolVersions) {
  for (char version = '2'; version <= '6'; ++version) {
    std::vector<MilterSpec> milters = parse_ok(std::string("{ unix:/m, protocol=") + version + "}");
    ASSERT_EQ(milters.size(), 1u);
    EXPECT_EQ(milters[0].protocol, static_cast<uint32_t>(version - '0'));
  }
  for (const char* bad : {"1", "7", "66", "", "six"}) {
    std::string message = parse_error(std::string("{ unix:/m, protocol=") + bad + " }");
    EXPECT_NE(message.find("protocol"), std::string::npos) << message;
  }
}

TEST(MilterList, UnknownOrMalformedSetting) {
  EXPECT_NE(parse_error("{ unix:/m, read_timeout=5s }").find("unknown milter setting read_timeout"),
            std::string::npos);
  EXPECT_NE(parse_error("{ unix:/m, default_action }").find("without '='"), std::string::npos);
  EXPECT_NE(parse_error("{ unix:/m, default_action=discard }").find("default_action"),
            std::string::npos);
}

TEST(MilterList, GroupErrors) {
  EXPECT_NE(parse_error("{ unix:/m, default_action=accept").find("without '}'"),
            std::string::npos);
  EXPECT_NE(parse_error("unix:/a, { unix:/m").find("without '}'"), std::string::npos);
  EXPECT_NE(parse_error("{ }").find("without an address"), std::string::npos);
  parse_error("{ , default_action=accept }");  // the setting is taken for an address
}

TEST(MilterList, BadPorts) {
  for (const char* text : {"inet:127.0.0.1:0", "inet:127.0.0.1:65536", "inet:127.0.0.1:",
                           "inet:127.0.0.1:123456", "inet:127.0.0.1:port", "inet:127.0.0.1:-1",
                           "inet:[::1]:99999", "inet:", "inet:12a"}) {
    EXPECT_NE(parse_error(text).find("bad milter port"), std::string::npos) << text;
  }
  EXPECT_EQ(resolved("inet:127.0.0.1:65535"), "127.0.0.1:65535");
  EXPECT_EQ(resolved("inet:127.0.0.1:1"), "127.0.0.1:1");
}

TEST(MilterList, UnknownAddressKind) {
  for (const char* text : {"tcp:127.0.0.1:25", "127.0.0.1:25", "/run/milter.sock", "INET:1:2",
                           "inet4:127.0.0.1:25"}) {
    EXPECT_NE(parse_error(text).find("needs unix:, local:, inet: or inet6:"), std::string::npos)
        << text;
  }
}

TEST(MilterList, AtMost32Milters) {
  std::string list;
  for (int i = 0; i < 32; ++i) list += "unix:/run/m" + std::to_string(i) + " ";
  EXPECT_EQ(parse_ok(list).size(), 32u);
  EXPECT_NE(parse_error(list + "unix:/run/one-too-many").find("more than 32"), std::string::npos);
  EXPECT_NE(parse_error(list + "{ unix:/run/one-too-many }").find("more than 32"),
            std::string::npos);
}

TEST(MilterAddress, UnixAndLocal) {
  EXPECT_EQ(resolved("unix:/var/run/milter.sock"), "unix:/var/run/milter.sock");
  EXPECT_EQ(resolved("local:relative/milter"), "unix:relative/milter");
  // sun_path holds 108 bytes with the NUL: 107 characters at most.
  const std::string longest(sizeof(sockaddr_un::sun_path) - 1, 'p');
  EXPECT_EQ(resolved("unix:" + longest), "unix:" + longest);
  EXPECT_FALSE(resolve_milter_address("unix:" + longest + "p").ok());
  EXPECT_FALSE(resolve_milter_address("unix:").ok());
  EXPECT_FALSE(resolve_milter_address("local:").ok());
}

TEST(MilterAddress, Inet) {
  EXPECT_EQ(resolved("inet:127.0.0.1:11332"), "127.0.0.1:11332");
  EXPECT_EQ(resolved("inet:192.0.2.7:25"), "192.0.2.7:25");
  EXPECT_EQ(resolved("inet:[::1]:8891"), "[::1]:8891");
  EXPECT_EQ(resolved("inet:[127.0.0.1]:8891"), "127.0.0.1:8891");
  EXPECT_EQ(resolved("inet:localhost:10025"), "127.0.0.1:10025");
  EXPECT_EQ(resolved("inet:LocalHost:10025"), "127.0.0.1:10025");
  // Postfix: a port alone means the local host.
  EXPECT_EQ(resolved("inet:10025"), "127.0.0.1:10025");
}

TEST(MilterAddress, Inet6) {
  EXPECT_EQ(resolved("inet6:[::1]:8891"), "[::1]:8891");
  EXPECT_EQ(resolved("inet6:::1:8891"), "[::1]:8891");
  EXPECT_EQ(resolved("inet6:[2001:db8::5]:25"), "[2001:db8::5]:25");
  EXPECT_EQ(resolved("inet6:localhost:8891"), "[::1]:8891");
  EXPECT_EQ(resolved("inet6:8891"), "[::1]:8891");
  // inet6: asks for an IPv6 address only.
  EXPECT_FALSE(resolve_milter_address("inet6:127.0.0.1:25").ok());
}

TEST(MilterAddress, MalformedInet) {
  for (const char* text : {"inet:[::1]", "inet:[::1]8891", "inet:[::1:8891", "inet:[::1]:",
                           "nocolon"}) {
    EXPECT_FALSE(resolve_milter_address(text).ok()) << text;
  }
}

MainConfig config_ok(std::string_view text) {
  std::vector<ConfigWarning> warnings;
  Result<MainConfig> config = MainConfig::parse(text, "main.cf", &warnings);
  EXPECT_TRUE(config.ok()) << (config.ok() ? "" : config.error().message);
  EXPECT_TRUE(warnings.empty());
  return config.ok() ? std::move(config).value() : MainConfig();
}

std::vector<std::string> split(std::string_view words) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < words.size()) {
    size_t end = words.find(' ', start);
    if (end == std::string_view::npos) end = words.size();
    if (end > start) out.emplace_back(words.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

TEST(LoadMilterSettings, PostfixDefaults) {
  MainConfig config = config_ok("myhostname = mx.example.org\n");
  Result<MilterSettings> settings = load_milter_settings(config, "smtpd_milters");
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_TRUE(settings->empty());
  EXPECT_EQ(settings->daemon_name, "mx.example.org");  // $myhostname
  EXPECT_EQ(settings->hostname, "mx.example.org");
  EXPECT_EQ(settings->stage_macros(MacroStage::kConnect),
            split("j {daemon_name} {daemon_addr} v _"));
  EXPECT_EQ(settings->stage_macros(MacroStage::kHelo),
            split("{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}"));
  EXPECT_EQ(settings->stage_macros(MacroStage::kMail),
            split("i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} "
                  "{mail_mailer}"));
  EXPECT_EQ(settings->stage_macros(MacroStage::kRcpt),
            split("i {rcpt_addr} {rcpt_host} {rcpt_mailer}"));
  EXPECT_EQ(settings->stage_macros(MacroStage::kData), split("i"));
  EXPECT_EQ(settings->stage_macros(MacroStage::kEndOfHeaders), split("i"));
  EXPECT_EQ(settings->stage_macros(MacroStage::kEndOfMessage), split("i"));
  EXPECT_TRUE(settings->stage_macros(MacroStage::kUnknown).empty());
}

TEST(LoadMilterSettings, DefaultsOfEachMilter) {
  MainConfig config = config_ok("smtpd_milters = inet:127.0.0.1:11332\n");
  Result<MilterSettings> settings = load_milter_settings(config, "smtpd_milters");
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  ASSERT_EQ(settings->milters.size(), 1u);
  const MilterSpec& spec = settings->milters[0];
  EXPECT_EQ(spec.default_action, DefaultAction::kTempfail);
  EXPECT_EQ(spec.connect_timeout, milliseconds(30000));
  EXPECT_EQ(spec.command_timeout, milliseconds(30000));
  EXPECT_EQ(spec.content_timeout, milliseconds(300000));
  EXPECT_EQ(spec.protocol, 6u);
}

TEST(LoadMilterSettings, MilterParametersAndMacroLists) {
  MainConfig config = config_ok(
      "myhostname = mx.example.org\n"
      "milter_default_action = accept\n"
      "milter_connect_timeout = 10s\n"
      "milter_command_timeout = 2m\n"
      "milter_content_timeout = 1h\n"
      "milter_protocol = 4\n"
      "milter_macro_daemon_name = postern-in\n"
      "milter_connect_macros = j _\n"
      "milter_helo_macros =\n"
      "milter_mail_macros = i, {mail_addr}\n"
      "milter_rcpt_macros = {rcpt_addr}\n"
      "milter_data_macros = i {client_addr}\n"
      "milter_end_of_header_macros = {hdr}\n"
      "milter_end_of_data_macros = {eom}\n"
      "milter_unknown_command_macros = {unknown}\n"
      "submission_milters = unix:/run/sub.sock,\n"
      "    { inet:127.0.0.1:8891, default_action=reject, command_timeout=5s }\n"
      "smtpd_milters = inet:127.0.0.1:11332\n");
  Result<MilterSettings> settings = load_milter_settings(config, "submission_milters");
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  ASSERT_EQ(settings->milters.size(), 2u);
  const MilterSpec& first = settings->milters[0];
  EXPECT_EQ(first.name, "unix:/run/sub.sock");
  EXPECT_EQ(first.default_action, DefaultAction::kAccept);
  EXPECT_EQ(first.connect_timeout, milliseconds(10000));
  EXPECT_EQ(first.command_timeout, milliseconds(120000));
  EXPECT_EQ(first.content_timeout, milliseconds(3600000));
  EXPECT_EQ(first.protocol, 4u);
  const MilterSpec& second = settings->milters[1];
  EXPECT_EQ(second.name, "inet:127.0.0.1:8891");
  EXPECT_EQ(second.default_action, DefaultAction::kReject);
  EXPECT_EQ(second.connect_timeout, milliseconds(10000));
  EXPECT_EQ(second.command_timeout, milliseconds(5000));
  EXPECT_EQ(settings->daemon_name, "postern-in");
  EXPECT_EQ(settings->hostname, "mx.example.org");
  EXPECT_EQ(settings->stage_macros(MacroStage::kConnect), split("j _"));
  EXPECT_TRUE(settings->stage_macros(MacroStage::kHelo).empty());
  EXPECT_EQ(settings->stage_macros(MacroStage::kMail), split("i {mail_addr}"));
  EXPECT_EQ(settings->stage_macros(MacroStage::kRcpt), split("{rcpt_addr}"));
  EXPECT_EQ(settings->stage_macros(MacroStage::kData), split("i {client_addr}"));
  EXPECT_EQ(settings->stage_macros(MacroStage::kEndOfHeaders), split("{hdr}"));
  EXPECT_EQ(settings->stage_macros(MacroStage::kEndOfMessage), split("{eom}"));
  EXPECT_EQ(settings->stage_macros(MacroStage::kUnknown), split("{unknown}"));

  Result<MilterSettings> smtpd = load_milter_settings(config, "smtpd_milters");
  ASSERT_TRUE(smtpd.ok()) << smtpd.error().message;
  ASSERT_EQ(smtpd->milters.size(), 1u);
  EXPECT_EQ(describe(smtpd->milters[0].address), "127.0.0.1:11332");
  Result<MilterSettings> none = load_milter_settings(config, "non_smtpd_milters");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(LoadMilterSettings, BadListNamesTheParameter) {
  MainConfig config = config_ok("smtpd_milters = { inet:127.0.0.1:1, bogus=1 }\n");
  Result<MilterSettings> settings = load_milter_settings(config, "smtpd_milters");
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.error().message.rfind("smtpd_milters: ", 0), 0u) << settings.error().message;
  EXPECT_NE(settings.error().message.find("bogus"), std::string::npos);
}

TEST(LoadMilterSettings, MainCfChecksTheGlobalParameters) {
  std::vector<ConfigWarning> warnings;
  EXPECT_FALSE(MainConfig::parse("milter_default_action = discard\n", "main.cf", &warnings).ok());
  EXPECT_FALSE(MainConfig::parse("milter_protocol = 7\n", "main.cf", &warnings).ok());
  EXPECT_FALSE(MainConfig::parse("milter_command_timeout = 2h\n", "main.cf", &warnings).ok());
}

// A relative unix path is relative to the directory given (queue_directory for the daemons),
// as Postfix's daemons, which run there, read "unix:private/..."; an absolute one is kept.
TEST(MilterAddress, RelativeUnixPathIsUnderTheGivenDirectory) {
  Result<MilterAddress> relative =
      resolve_milter_address("unix:private/authmilter", "/var/spool/postern");
  ASSERT_TRUE(relative.ok());
  EXPECT_EQ(describe(*relative), "unix:/var/spool/postern/private/authmilter");
  Result<MilterAddress> absolute = resolve_milter_address("unix:/run/x.sock", "/var/spool/postern");
  ASSERT_TRUE(absolute.ok());
  EXPECT_EQ(describe(*absolute), "unix:/run/x.sock");
  Result<std::vector<MilterSpec>> list =
      parse_milter_list("{ unix:private/a, default_action=accept }", MilterSpec(), "/q");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(describe(list->front().address), "unix:/q/private/a");
}

}  // namespace
}  // namespace postern::milter
