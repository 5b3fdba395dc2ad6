// Tests cli/accounts_yaml: the leading comment block is kept byte for byte and the marker added
// once; what is rendered reads back, through the loader master uses, as exactly the data it was
// made from, for ordinary and for hostile names (YAML's special characters, "null", quotes).
#include "cli/accounts_yaml.hpp"

#include <gtest/gtest.h>

#include <random>

#include "cli/accounts_edit.hpp"
#include "lib/base/ascii.hpp"

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

// Random data as the loader makes it (lower-case names of every character a dot-atom allows),
// rendered and read back: always the same data. A fixed seed, so a failure repeats.
TEST(AccountsYamlTest, RandomDataReadsBackTheSame) {
  std::mt19937 random(20261207);
  const std::string atom_chars = "abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-=?^_`{|}~";
  auto pick = [&](size_t n) { return static_cast<size_t>(random() % n); };
  auto local = [&] {
    std::string text;
    const size_t length = 1 + pick(12);
    for (size_t i = 0; i < length; ++i) {
      if (i > 0 && i + 1 < length && pick(6) == 0 && text.back() != '.') {
        text.push_back('.');
      } else {
        text.push_back(atom_chars[pick(atom_chars.size())]);
      }
    }
    return text;
  };
  for (int round = 0; round < 300; ++round) {
    AccountsData data;
    const char* domains[] = {"example.org", "n.example", "xn--bcher-kva.example", "0.test"};
    for (size_t i = 0; i <= pick(4); ++i) data.domains.insert(domains[pick(4)]);
    std::vector<std::string> ours(data.domains.begin(), data.domains.end());
    auto address = [&] {
      std::string domain = pick(4) == 0 ? "Remote.example" : ours[pick(ours.size())];
      if (domain == "Remote.example") return ascii_lowercase(local()) + "X@remote.example";
      return local() + "@" + domain;
    };
    auto list = [&] {
      std::vector<std::string> items;
      for (size_t i = 0; i <= pick(3); ++i) items.push_back(address());
      return items;
    };
    for (size_t i = 0; i < pick(6); ++i) {
      std::string user = local();
      if (user.find('/') != std::string::npos) continue;
      user += "@" + ours[pick(ours.size())];
      data.passwords[user] = pick(3) == 0 ? "" : "$6$s" + std::to_string(pick(1000)) + "$h";
      if (pick(3) == 0) data.send_as[user] = list();
    }
    for (size_t i = 0; i < pick(6); ++i) {
      data.aliases[local() + "@" + ours[pick(ours.size())]] = list();
    }
    if (pick(2) == 0) data.catch_alls[ours[pick(ours.size())]] = list();
    if (pick(2) == 0) data.postmaster = address();
    normalise_accounts(data);  // de-duplicated lists, as the loader keeps them
    std::string rendered = render_accounts_file("# header\n", data);
    Result<AccountsData> reread = parse_accounts_yaml(rendered, "accounts.yaml");
    ASSERT_TRUE(reread.ok()) << reread.error().describe() << "\n" << rendered;
    ASSERT_TRUE(*reread == data) << rendered;
  }
}

}  // namespace
}  // namespace postern::cli
