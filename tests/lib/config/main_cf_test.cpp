// Tests for lib/config/main_cf.cpp: Postfix main.cf syntax (continuations, comments, expansion), the
// checks on every value (type, bounds, file:line in the message), the limits (line length,
// file size, expansion depth) at N and N+1, and -o overrides through MainConfig::set.
#include "lib/config/main_cf.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <string>

#include "lib/config/parameters.hpp"

namespace postern {
namespace {

MainConfig parse_ok(std::string_view text, std::vector<ConfigWarning>* warnings = nullptr) {
  std::vector<ConfigWarning> local;
  Result<MainConfig> config = MainConfig::parse(text, "main.cf", warnings ? warnings : &local);
  EXPECT_TRUE(config.ok()) << (config.ok() ? "" : config.error().message);
  if (!config.ok()) return MainConfig();
  return std::move(config).value();
}

std::string parse_error(std::string_view text) {
  std::vector<ConfigWarning> warnings;
  Result<MainConfig> config = MainConfig::parse(text, "main.cf", &warnings);
  EXPECT_FALSE(config.ok()) << "accepted: " << text.substr(0, 200);
  return config.ok() ? "" : config.error().message;
}

std::string this_host() {
  char buf[256] = {};
  EXPECT_EQ(gethostname(buf, sizeof buf - 1), 0);
  std::string name(buf);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

TEST(MainCfDefaults, EveryParameterHasAWorkingDefault) {
  MainConfig config;
  for (const ParamSpec& spec : all_parameters()) {
    SCOPED_TRACE(std::string(spec.name));
    switch (spec.type) {
      case ParamType::kInt: {
        int64_t v = config.get_int(spec.name);
        EXPECT_GE(v, spec.min);
        EXPECT_LE(v, spec.max);
        break;
      }
      case ParamType::kSize: {
        int64_t v = config.get_size(spec.name);
        EXPECT_GE(v, spec.min);
        EXPECT_LE(v, spec.max);
        break;
      }
      case ParamType::kTime: {
        int64_t v = config.get_seconds(spec.name);
        EXPECT_GE(v, spec.min);
        EXPECT_LE(v, spec.max);
        break;
      }
      case ParamType::kBool:
        (void)config.get_bool(spec.name);
        break;
      case ParamType::kList:
        (void)config.get_list(spec.name);
        break;
      case ParamType::kString:
        (void)config.get(spec.name);
        break;
    }
  }
  // An empty file is the same as the defaults and passes every check.
  parse_ok("");
}

TEST(MainCfDefaults, PostfixLikeValues) {
  MainConfig config;
  EXPECT_EQ(config.get("config_directory"), "/etc/postern");
  EXPECT_EQ(config.get("queue_directory"), "/var/spool/postern");
  EXPECT_EQ(config.get("accounts_file"), "/etc/postern/accounts.yaml");
  EXPECT_EQ(config.raw("accounts_file"), "$config_directory/accounts.yaml");
  EXPECT_EQ(config.get_size("message_size_limit"), 10240000);
  EXPECT_EQ(config.get_int("smtpd_recipient_limit"), 1000);
  EXPECT_EQ(config.get_seconds("smtpd_timeout"), 300);
  EXPECT_EQ(config.get_seconds("maximal_queue_lifetime"), 5 * 86400);
  EXPECT_EQ(config.get_seconds("maximal_backoff_time"), 4000);
  EXPECT_EQ(config.get_seconds("delay_warning_time"), 0);
  EXPECT_EQ(config.get_int("delivery_concurrency_limit"), 4);
  EXPECT_TRUE(config.get_bool("smtpd_forbid_bare_newline"));
  EXPECT_FALSE(config.get_bool("soft_bounce"));
  EXPECT_TRUE(config.get_list("mynetworks").empty());  // loopback is not trusted by default
  EXPECT_EQ(config.get("smtpd_tls_security_level"), "may");
  EXPECT_EQ(config.get("milter_default_action"), "tempfail");
  EXPECT_EQ(config.get("recipient_delimiter"), "+");
  EXPECT_TRUE(config.explicit_values().empty());
}

TEST(MainCfDefaults, HostAndDomainAreComputed) {
  MainConfig config;
  std::string host = this_host();
  EXPECT_EQ(config.get("myhostname"), host);
  EXPECT_EQ(config.get("myorigin"), host);
  EXPECT_EQ(config.get("smtpd_banner"), host + " ESMTP Postern");
  size_t dot = host.find('.');
  std::string domain = dot == std::string::npos ? "localdomain" : host.substr(dot + 1);
  EXPECT_EQ(config.get("mydomain"), domain);

  MainConfig set = parse_ok("myhostname = Mail.Example.COM\n");
  EXPECT_EQ(set.get("myhostname"), "Mail.Example.COM");  // an explicit value is kept as written
  EXPECT_EQ(set.get("mydomain"), "Example.COM");
  EXPECT_EQ(parse_ok("myhostname = single\n").get("mydomain"), "localdomain");
  EXPECT_EQ(parse_ok("myhostname = mx.a.b\nmydomain = other.org\n").get("mydomain"), "other.org");
  EXPECT_EQ(parse_ok("myhostname = mx.a.b\n").get_list("mydestination"),
            (std::vector<std::string>{"mx.a.b", "localhost.a.b", "localhost"}));
}

TEST(MainCfSyntax, NameValueWithAndWithoutSpaces) {
  MainConfig config = parse_ok(
      "smtpd_recipient_limit=10\n"
      "smtpd_soft_error_limit =11\n"
      "smtpd_hard_error_limit= 12\n"
      "  \n"
      "relayhost   =   [smtp.example.com]:587   \n"
      "smtpd_banner = a = b\n");
  EXPECT_EQ(config.get_int("smtpd_recipient_limit"), 10);
  EXPECT_EQ(config.get_int("smtpd_soft_error_limit"), 11);
  EXPECT_EQ(config.get_int("smtpd_hard_error_limit"), 12);
  EXPECT_EQ(config.get("relayhost"), "[smtp.example.com]:587");
  EXPECT_EQ(config.get("smtpd_banner"), "a = b");
  EXPECT_EQ(config.explicit_values().size(), 5u);
}

TEST(MainCfSyntax, EmptyValue) {
  MainConfig config = parse_ok("myorigin =\nmynetworks=\n");
  EXPECT_EQ(config.get("myorigin"), "");
  EXPECT_TRUE(config.get_list("mynetworks").empty());
}

TEST(MainCfSyntax, ContinuationLines) {
  MainConfig config = parse_ok(
      "mynetworks = 127.0.0.0/8,\n"
      "    [::1]/128\n"
      "\t192.168.0.0/16\n"
      "smtpd_banner = $myhostname\n"
      " ESMTP\n");
  EXPECT_EQ(config.get_list("mynetworks"),
            (std::vector<std::string>{"127.0.0.0/8", "[::1]/128", "192.168.0.0/16"}));
  EXPECT_EQ(config.raw("smtpd_banner"), "$myhostname ESMTP");
}

TEST(MainCfSyntax, CommentsAndBlankLinesInsideAContinuation) {
  // As in Postfix, comment and blank lines are skipped and do not end the logical line.
  MainConfig config = parse_ok(
      "mynetworks = 10.0.0.0/8\n"
      "# a comment\n"
      "\n"
      "    # an indented comment\n"
      "  172.16.0.0/12\n");
  EXPECT_EQ(config.get_list("mynetworks"),
            (std::vector<std::string>{"10.0.0.0/8", "172.16.0.0/12"}));
}

TEST(MainCfSyntax, HashInsideAValueIsKept) {
  EXPECT_EQ(parse_ok("smtpd_banner = mail # not a comment\n").get("smtpd_banner"),
            "mail # not a comment");
}

TEST(MainCfSyntax, CrLfLineEndingsAndNoFinalNewline) {
  MainConfig config = parse_ok("smtpd_recipient_limit = 7\r\nrelayhost = x\r\nmyorigin = y");
  EXPECT_EQ(config.get_int("smtpd_recipient_limit"), 7);
  EXPECT_EQ(config.get("relayhost"), "x");
  EXPECT_EQ(config.get("myorigin"), "y");
}

TEST(MainCfSyntax, ContinuationWithoutParameterIsAnError) {
  EXPECT_EQ(parse_error("# header\n  mynetworks = x\n").substr(0, 10), "main.cf:2:");
}

TEST(MainCfSyntax, MissingEqualsIsAnErrorWithFileAndLine) {
  std::string error = parse_error("relayhost = x\n\nmynetworks 10.0.0.0/8\n");
  EXPECT_EQ(error.substr(0, 10), "main.cf:3:") << error;
  EXPECT_NE(error.find("missing '='"), std::string::npos) << error;
  // The line of a continued entry is the line where it starts.
  error = parse_error("relayhost = x\nfoo\n  bar\n");
  EXPECT_EQ(error.substr(0, 10), "main.cf:2:") << error;
}

TEST(MainCfSyntax, BadParameterName) {
  EXPECT_EQ(parse_error("bad-name = 1\n").substr(0, 10), "main.cf:1:");
  EXPECT_EQ(parse_error(" = 1\n").substr(0, 0), "");
  EXPECT_EQ(parse_error("x = 1\n= 1\n").substr(0, 10), "main.cf:2:");
}

TEST(MainCfWarnings, UnknownParameterIsAWarningAndStored) {
  std::vector<ConfigWarning> warnings;
  MainConfig config = parse_ok("relayhost = x\nmy_own_setting = 42\n", &warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].describe(), "main.cf:2: unknown parameter my_own_setting");
  EXPECT_EQ(warnings[0].line, 2);
  EXPECT_EQ(config.raw("my_own_setting"), "42");
  EXPECT_EQ(config.explicit_values().at("my_own_setting"), "42");
  // It can be used in the expansion of a known parameter, as in Postfix.
  MainConfig used = parse_ok("site = example.org\nmyorigin = $site\n");
  EXPECT_EQ(used.get("myorigin"), "example.org");
}

TEST(MainCfWarnings, LaterSettingOverridesEarlierWithAWarning) {
  std::vector<ConfigWarning> warnings;
  MainConfig config = parse_ok("relayhost = a\nrelayhost = b\n", &warnings);
  EXPECT_EQ(config.get("relayhost"), "b");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].line, 2);
  EXPECT_NE(warnings[0].message.find("line 1"), std::string::npos);
}

TEST(MainCfWarnings, DescribeWithoutLine) {
  EXPECT_EQ((ConfigWarning{"f", 0, "m"}).describe(), "f: m");
  EXPECT_EQ((ConfigWarning{"", 0, "m"}).describe(), "m");
}

TEST(MainCfExpansion, AllForms) {
  MainConfig config = parse_ok(
      "a = alpha\n"
      "empty =\n"
      "relayhost = <$a><${a}><$(a)><$a.x><${empty}>\n"
      "myorigin = [${a?set}][${empty?set}][${a:unset}][${empty:unset}]\n"
      "smtpd_banner = cost $$5 and $$a\n"
      "mydomain = ${a?${a}-${a}}${empty:$(a)}\n");
  EXPECT_EQ(config.get("relayhost"), "<alpha><alpha><alpha><alpha.x><>");
  EXPECT_EQ(config.get("myorigin"), "[set][][][unset]");
  EXPECT_EQ(config.get("smtpd_banner"), "cost $5 and $a");
  EXPECT_EQ(config.get("mydomain"), "alpha-alphaalpha");
}

TEST(MainCfExpansion, UndefinedNameExpandsToNothing) {
  EXPECT_EQ(parse_ok("relayhost = [$never_defined]\n").get("relayhost"), "[]");
}

TEST(MainCfExpansion, ChainsThroughDefaults) {
  MainConfig config = parse_ok("config_directory = /srv/postern\n");
  EXPECT_EQ(config.get("accounts_file"), "/srv/postern/accounts.yaml");
}

TEST(MainCfExpansion, BadDollarSyntaxIsAnErrorWithLine) {
  EXPECT_EQ(parse_error("x = 1\nrelayhost = ${a\n").substr(0, 10), "main.cf:2:");
  EXPECT_EQ(parse_error("relayhost = a$\n").substr(0, 10), "main.cf:1:");
  EXPECT_EQ(parse_error("relayhost = a$-b\n").substr(0, 10), "main.cf:1:");
  EXPECT_EQ(parse_error("relayhost = ${}\n").substr(0, 10), "main.cf:1:");
  EXPECT_EQ(parse_error("relayhost = ${a!b}\n").substr(0, 10), "main.cf:1:");
}

TEST(MainCfExpansion, LoopIsReportedWithFileLineAndName) {
  std::string error = parse_error("relayhost = x\na = $b\nb = ${a}\n");
  EXPECT_EQ(error, "main.cf:2: loop in expansion of a");
  EXPECT_EQ(parse_error("myorigin = $myorigin\n"), "main.cf:1: loop in expansion of myorigin");
}

TEST(MainCfExpansion, DepthLimitAtNAndNPlusOne) {
  // p0 = $p1, p1 = $p2, ..., p(refs) = end: the value of p0 is refs references deep.
  auto chain = [](int refs) {
    std::string text;
    for (int i = 0; i < refs; ++i) text += fmt::format("p{} = $p{}\n", i, i + 1);
    text += fmt::format("p{} = end\n", refs);
    return text;
  };
  std::vector<ConfigWarning> warnings;
  Result<MainConfig> deep = MainConfig::parse(chain(100), "main.cf", &warnings);
  ASSERT_TRUE(deep.ok()) << deep.error().message;
  EXPECT_EQ(*deep->expand_text("$p0"), "end");
  EXPECT_EQ(*deep->expand_text("<$p0>"), "<end>");
  EXPECT_EQ(parse_error(chain(101)), "main.cf:1: loop in expansion of p0");
}

TEST(MainCfExpansion, ExponentialExpansionIsBounded) {
  // Each name doubles the previous one: 2^40 bytes if nothing stopped it.
  std::string text = "q0 = xxxxxxxxxxxxxxxx\n";
  for (int i = 1; i <= 40; ++i) text += fmt::format("q{} = $q{}$q{}\n", i, i - 1, i - 1);
  std::string error = parse_error(text);
  EXPECT_NE(error.find("main.cf:"), std::string::npos) << error;
  // Conditionals produce no output but still cost lookups.
  text = "c0 = x\n";
  for (int i = 1; i <= 40; ++i) text += fmt::format("c{} = ${{c{}?}}${{c{}?}}\n", i, i - 1, i - 1);
  error = parse_error(text);
  EXPECT_NE(error.find("too many lookups"), std::string::npos) << error;
}

TEST(MainCfValues, IntegerBoundsAtNAndNPlusOne) {
  EXPECT_EQ(parse_ok("smtpd_recipient_limit = 1\n").get_int("smtpd_recipient_limit"), 1);
  EXPECT_EQ(parse_ok("smtpd_recipient_limit = 1000000\n").get_int("smtpd_recipient_limit"),
            1000000);
  EXPECT_EQ(parse_error("smtpd_recipient_limit = 0\n"),
            "main.cf:1: bad value for smtpd_recipient_limit: '0' (expected an integer from 1 to "
            "1000000)");
  EXPECT_EQ(parse_error("x = 1\nsmtpd_recipient_limit = 1000001\n").substr(0, 10), "main.cf:2:");
  EXPECT_EQ(parse_ok("smtpd_tls_loglevel = 4\n").get_int("smtpd_tls_loglevel"), 4);
  parse_error("smtpd_tls_loglevel = 5\n");
  parse_error("smtpd_tls_loglevel = -1\n");
  for (const char* bad : {"abc", "1x", "1 2", "+1", "", "99999999999999999999999"}) {
    SCOPED_TRACE(bad);
    parse_error(fmt::format("smtpd_recipient_limit = {}\n", bad));
  }
}

TEST(MainCfValues, Sizes) {
  EXPECT_EQ(parse_ok("message_size_limit = 0\n").get_size("message_size_limit"), 0);
  EXPECT_EQ(parse_ok("message_size_limit = 52428800\n").get_size("message_size_limit"), 52428800);
  EXPECT_EQ(parse_ok("message_size_limit = 1099511627776\n").get_size("message_size_limit"),
            int64_t{1} << 40);
  parse_error("message_size_limit = 1099511627777\n");
  // Plain bytes only, as in Postfix.
  parse_error("message_size_limit = 10k\n");
  parse_error("message_size_limit = 10m\n");
  parse_error("message_size_limit = -1\n");
}

TEST(MainCfValues, TimesWithUnitsAndDefaultUnit) {
  EXPECT_EQ(parse_ok("smtpd_timeout = 45s\n").get_seconds("smtpd_timeout"), 45);
  EXPECT_EQ(parse_ok("smtpd_timeout = 45\n").get_seconds("smtpd_timeout"), 45);
  EXPECT_EQ(parse_ok("smtpd_timeout = 2m\n").get_seconds("smtpd_timeout"), 120);
  EXPECT_EQ(parse_ok("smtpd_timeout = 1h\n").get_seconds("smtpd_timeout"), 3600);
  EXPECT_EQ(parse_ok("smtpd_timeout = 3600\n").get_seconds("smtpd_timeout"), 3600);
  parse_error("smtpd_timeout = 3601\n");  // max 1h: N+1
  parse_error("smtpd_timeout = 61m\n");
  parse_error("smtpd_timeout = 0\n");  // min 1s
  EXPECT_EQ(parse_ok("maximal_queue_lifetime = 2\n").get_seconds("maximal_queue_lifetime"),
            2 * 86400);  // bare number: days
  EXPECT_EQ(parse_ok("maximal_queue_lifetime = 1w\n").get_seconds("maximal_queue_lifetime"),
            7 * 86400);
  EXPECT_EQ(parse_ok("delay_warning_time = 4\n").get_seconds("delay_warning_time"), 4 * 3600);
  EXPECT_EQ(parse_ok("delay_warning_time = 4H\n").get_seconds("delay_warning_time"), 4 * 3600);
  for (const char* bad : {"5x", "m", "s5", "-5s", "1.5h", "5 s", "1h30m", "9999999999999999w"}) {
    SCOPED_TRACE(bad);
    std::string error = parse_error(fmt::format("smtpd_timeout = {}\n", bad));
    EXPECT_NE(error.find("expected a time"), std::string::npos) << error;
  }
}

TEST(MainCfValues, Booleans) {
  EXPECT_TRUE(parse_ok("soft_bounce = yes\n").get_bool("soft_bounce"));
  EXPECT_TRUE(parse_ok("soft_bounce = YES\n").get_bool("soft_bounce"));
  EXPECT_TRUE(parse_ok("soft_bounce = true\n").get_bool("soft_bounce"));
  EXPECT_FALSE(parse_ok("soft_bounce = no\n").get_bool("soft_bounce"));
  EXPECT_FALSE(parse_ok("soft_bounce = false\n").get_bool("soft_bounce"));
  EXPECT_EQ(parse_error("soft_bounce = maybe\n"),
            "main.cf:1: bad value for soft_bounce: 'maybe' (expected yes or no)");
  parse_error("soft_bounce = 1\n");
}

TEST(MainCfValues, Choices) {
  EXPECT_EQ(parse_ok("smtpd_tls_security_level = encrypt\n").get("smtpd_tls_security_level"),
            "encrypt");
  parse_error("smtpd_tls_security_level = secure\n");
  EXPECT_EQ(parse_ok("milter_default_action = accept\n").get("milter_default_action"), "accept");
  parse_error("milter_default_action = discard\n");
  EXPECT_EQ(parse_ok("inet_protocols = ipv4, ipv6\n").get_list("inet_protocols").size(), 2u);
  parse_error("inet_protocols = ipv4, ipv5\n");
}

TEST(MainCfValues, ValuesWithDollarAreCheckedAfterExpansion) {
  EXPECT_EQ(parse_ok("n = 5\nsmtpd_recipient_limit = $n\n").get_int("smtpd_recipient_limit"), 5);
  // The value refers to a name set later in the file: checked once the file is read.
  EXPECT_EQ(parse_ok("smtpd_recipient_limit = ${n}0\nn = 5\n").get_int("smtpd_recipient_limit"),
            50);
  std::string error = parse_error("smtpd_recipient_limit = $n\nn = many\n");
  EXPECT_EQ(error.substr(0, 52), "main.cf:1: bad value for smtpd_recipient_limit: 'man");
  EXPECT_NE(error.find("expanded from '$n'"), std::string::npos) << error;
  // A default that refers to a bad explicit value is reported too.
  EXPECT_NE(parse_error("n = 1\nsoft_bounce = ${n:yes}\n").find("main.cf:2:"), std::string::npos);
}

TEST(MainCfLimits, LineLengthAtNAndNPlusOne) {
  constexpr size_t kLimit = 100000;
  std::string head = "x_long = ";
  std::string at_limit = head + std::string(kLimit - head.size(), 'a');
  ASSERT_EQ(at_limit.size(), kLimit);
  MainConfig config = parse_ok("relayhost = y\n" + at_limit + "\n");
  EXPECT_EQ(config.raw("x_long").size(), kLimit - head.size());
  std::string error = parse_error("relayhost = y\n" + at_limit + "a\n");
  EXPECT_EQ(error.substr(0, 10), "main.cf:2:") << error;
}

TEST(MainCfLimits, FileSizeAtNAndNPlusOne) {
  constexpr size_t kLimit = 4 * 1024 * 1024;
  std::string line = "#" + std::string(1022, 'c') + "\n";  // 1024 bytes
  std::string text;
  while (text.size() < kLimit) text += line;
  ASSERT_EQ(text.size(), kLimit);
  parse_ok(text);
  EXPECT_NE(parse_error(text + "\n").find("larger than"), std::string::npos);
}

TEST(MainCfSet, OverridesAreCheckedLikeFileValues) {
  MainConfig config;
  ASSERT_TRUE(config.set("smtpd_recipient_limit", "50").ok());
  EXPECT_EQ(config.get_int("smtpd_recipient_limit"), 50);
  Status bad = config.set("smtpd_recipient_limit", "0");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("bad value for smtpd_recipient_limit"), std::string::npos);
  EXPECT_EQ(config.get_int("smtpd_recipient_limit"), 50);  // unchanged

  ASSERT_TRUE(config.set("myhostname", "mx.example.net").ok());
  EXPECT_EQ(config.get("mydomain"), "example.net");
  ASSERT_TRUE(config.set("my_flag", "$soft_bounce").ok());  // unknown names are allowed
  ASSERT_TRUE(config.set("smtpd_helo_required", "$my_flag").ok());
  EXPECT_FALSE(config.get_bool("smtpd_helo_required"));
  // A change that breaks a value depending on it is refused as a whole.
  EXPECT_FALSE(config.set("my_flag", "perhaps").ok());
  EXPECT_EQ(config.raw("my_flag"), "$soft_bounce");
  EXPECT_FALSE(config.set("my_flag", "$smtpd_helo_required").ok());  // loop
  EXPECT_FALSE(config.set("bad name", "1").ok());
  EXPECT_FALSE(config.set("relayhost", std::string(100001, 'r')).ok());
  EXPECT_TRUE(config.set("relayhost", std::string(100000, 'r')).ok());
}

TEST(MainCfLoad, ReadsAFileAndNamesItInErrors) {
  char dir_template[] = "/tmp/main_cf_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::string dir = dir_template;
  std::string path = dir + "/main.cf";
  {
    std::ofstream out(path);
    out << "# test\nrelayhost = [relay.example]:587\nunknown_thing = 1\n";
  }
  std::vector<ConfigWarning> warnings;
  Result<MainConfig> config = MainConfig::load(path, &warnings);
  ASSERT_TRUE(config.ok()) << config.error().describe();
  EXPECT_EQ(config->get("relayhost"), "[relay.example]:587");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].describe(), path + ":3: unknown parameter unknown_thing");
  {
    std::ofstream out(path);
    out << "relayhost = x\nsoft_bounce = sometimes\n";
  }
  Result<MainConfig> bad = MainConfig::load(path, &warnings);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.substr(0, path.size() + 3), path + ":2:");
  Result<MainConfig> missing = MainConfig::load(dir + "/nonexistent.cf", &warnings);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kSystem);
  EXPECT_EQ(missing.error().sys_errno, ENOENT);
  Result<MainConfig> directory = MainConfig::load(dir, &warnings);
  EXPECT_FALSE(directory.ok());
  std::remove(path.c_str());
  rmdir(dir.c_str());
}

TEST(MainCfRobustness, EveryPrefixOfAFileParsesOrFailsCleanly) {
  std::string text =
      "# comment\nmyhostname = mx.example.com\nmynetworks = 10.0.0.0/8,\n  [::1]/128\n"
      "smtpd_banner = ${myhostname?$myhostname} $$ ESMTP\nsmtpd_timeout = 5m\n";
  for (size_t n = 0; n <= text.size(); ++n) {
    std::vector<ConfigWarning> warnings;
    Result<MainConfig> config = MainConfig::parse(text.substr(0, n), "main.cf", &warnings);
    if (!config.ok()) {
      EXPECT_EQ(config.error().message.rfind("main.cf:", 0), 0u);
    }
  }
}

TEST(MainCfLoad, TheShippedMainCfLoadsWithoutWarnings) {
  std::string file = __FILE__;
  std::string root = file.substr(0, file.size() - std::string("tests/lib/config/main_cf_test.cpp").size());
  std::vector<ConfigWarning> warnings;
  Result<MainConfig> config = MainConfig::load(root + "etc/main.cf", &warnings);
  ASSERT_TRUE(config.ok()) << config.error().describe();
  for (const ConfigWarning& warning : warnings) ADD_FAILURE() << warning.describe();
  EXPECT_EQ(config->get("queue_directory"), "/var/spool/postern");
}

using MainCfDeathTest = ::testing::Test;
TEST(MainCfDeathTest, UnknownNameInCodeIsABug) {
  MainConfig config;
  EXPECT_DEATH((void)config.get("no_such_parameter"), "unknown parameter no_such_parameter");
  EXPECT_DEATH((void)config.get_int("smtpd_timeout"), "has type time, not integer");
}

}  // namespace
}  // namespace postern
