// Tests cli/accounts_yaml: the leading comment block is kept byte for byte and the marker added
// once; what is rendered reads back, through the loader master uses, as exactly the data it was
// made from, for ordinary and for hostile names (YAML's special characters, "null", quotes).
#include "cli/accounts_yaml.hpp"

#include <gtest/gtest.h>

namespace postern::cli {
namespace {

AccountsData parse(const std::string& text) {
  Result<AccountsData> data = parse_accounts_yaml(text, "accounts.yaml");
  EXPECT_TRUE(data.ok()) << data.error().describe() << "\n" << text;
  return data.ok() ? std::move(data).value() : AccountsData{};
}

TEST(AccountsYamlTest, LeadingCommentBlock) {
  EXPECT_EQ(leading_comment_block("# one\n\n  # two\ndomains: {}\n# later\n"),
            "# one\n\n  # two\n");
  EXPECT_EQ(leading_comment_block("domains: {}\n# later\n"), "");
  EXPECT_EQ(leading_comment_block("# only\n# comments"), "# only\n# comments\n");
  EXPECT_EQ(leading_comment_block(""), "");
}

TEST(AccountsYamlTest, MarkerAddedOnce) {
  AccountsData data;
  std::string first = render_accounts_file("# mine\n", data);
  EXPECT_EQ(first.rfind("# mine\n", 0), 0u) << first;
  std::string second = render_accounts_file(leading_comment_block(first), data);
  EXPECT_EQ(first, second);
  EXPECT_EQ(second.find(kRewrittenMarker), second.rfind(kRewrittenMarker));
}

TEST(AccountsYamlTest, RoundTrip) {
  const std::string text = R"(postmaster: admin@example.org
domains:
  example.org:
    catch_all: [admin, x@remote.example]
    users:
      admin:
        password: "$y$j9T$abc$def"
        send_as: [sales, Sales@Other.Example]
      nologin:
    aliases:
      info: admin
      team: [admin, nologin, Dave@Remote.Example]
  empty.example: {}
)";
  AccountsData data = parse(text);
  std::string rendered = render_accounts_file("", data);
  EXPECT_TRUE(parse(rendered) == data) << rendered;
  // Targets in the domain are written as local parts, as an admin writes them.
  EXPECT_NE(rendered.find("info: admin\n"), std::string::npos) << rendered;
  EXPECT_NE(rendered.find("empty.example: {}"), std::string::npos) << rendered;
}

TEST(AccountsYamlTest, HostileNamesReadBackTheSame) {
  AccountsData data;
  data.domains = {"example.org"};
  for (const char* local :
       {"null",  "~",  "#x",    "a'b", "a\"b",   "{x}", "*star", "&amp", "!tag", "%p", "a:b",
        "-dash", "?q", "|pipe", "=eq", "`tick`", "y",   "no",    "0123", "a.b",  "x$y"}) {
    std::string user = std::string(local) + "@example.org";
    if (!is_valid_local_part(local)) continue;
    data.passwords[user] = "$6$salt$h'\"#";
    data.aliases[std::string(local) + "-alias@example.org"] = {user, "x@remote.example"};
  }
  ASSERT_GT(data.passwords.size(), 15u);
  std::string rendered = render_accounts_file("", data);
  EXPECT_TRUE(parse(rendered) == data) << rendered;
}

}  // namespace
}  // namespace postern::cli
