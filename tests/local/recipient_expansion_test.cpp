// Tests for local/recipient_expansion.cpp with fake sources (an alias map, a passwd map and a
// file map that answers only for the right owner): aliases to users, chains, loops, a
// .forward naming its own user, "\user", the postmaster/mailer-daemon fallback, unknown users,
// "user+tag" (its own alias first, then the user's), the Delivered-To loop, remote addresses,
// |command and /file per allow_mail_to_commands/files and per source, :include: read as root
// for aliases and as the user for a .forward, kMaxExpansionDepth and kMaxFinalDeliveries at N
// and N+1.
#include "local/recipient_expansion.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace postern::local {
namespace {

using Kind = FinalDelivery::Kind;

struct FakeWorld {
  std::map<std::string, std::string> aliases;
  std::map<std::string, Identity> users;
  std::map<std::string, std::pair<uid_t, std::string>> files;  // path -> (owner, text)
  bool any_u_user = false;                                     // "u<N>" users exist for every N
  std::vector<std::string> alias_lookups;
  std::vector<std::pair<std::string, uid_t>> reads;

  FakeWorld() {
    add_user("root", 0, "/root");
    add_user("alice", 1000, "/home/alice");
    add_user("bob", 1001, "/home/bob");
    add_user("nobody", 65534, "/nonexistent");
  }
  void add_user(const std::string& name, uid_t uid, const std::string& home) {
    users[name] = Identity{name, uid, uid, home, "/bin/sh"};
  }

  ExpansionSources sources() {
    ExpansionSources s;
    s.find_alias = [this](const std::string& name) -> Result<std::optional<std::string>> {
      alias_lookups.push_back(name);
      if (name == "broken") return Error{ErrorKind::kTemporary, "lmdb busy", 0};
      auto it = aliases.find(name);
      if (it == aliases.end()) return std::optional<std::string>();
      return std::optional<std::string>(it->second);
    };
    s.find_user = [this](const std::string& name) -> std::optional<Identity> {
      auto it = users.find(name);
      if (it != users.end()) return it->second;
      if (any_u_user && name.size() > 1 && name[0] == 'u') {
        return Identity{name, 5000, 5000, "/home/" + name, "/bin/sh"};
      }
      return std::nullopt;
    };
    s.read_file = [this](const std::string& path, uid_t owner) -> std::optional<std::string> {
      reads.emplace_back(path, owner);
      auto it = files.find(path);
      if (it == files.end() || it->second.first != owner) return std::nullopt;
      return it->second.second;
    };
    return s;
  }
};

LocalSettings settings() {
  LocalSettings s;
  s.hostname = "host.example.org";
  s.origin = "example.org";
  s.mydestination = {"example.org", "localhost"};
  s.recipient_delimiter = "+";
  s.allow_mail_to_commands = {"alias", "forward"};
  s.allow_mail_to_files = {"alias", "forward"};
  s.default_privs = "nobody";
  return s;
}

std::vector<FinalDelivery> expand(FakeWorld& world, const std::string& address,
                                  const LocalSettings& s = settings(),
                                  const std::set<std::string>& delivered_to = {}) {
  ExpansionSources sources = world.sources();
  return expand_recipient(address, s, sources, delivered_to);
}

// "mailbox:alice@example.org/alice", "command:...", "outcome:5.1.1" ... for compact checks.
std::vector<std::string> summary(const std::vector<FinalDelivery>& deliveries) {
  std::vector<std::string> out;
  for (const FinalDelivery& d : deliveries) {
    switch (d.kind) {
      case Kind::kMailbox:
        out.push_back("mailbox:" + d.address + "/" + d.who.name);
        break;
      case Kind::kCommand:
        out.push_back("command:" + d.target + "/" + d.who.name);
        break;
      case Kind::kFile:
        out.push_back("file:" + d.target + "/" + d.who.name);
        break;
      case Kind::kForward:
        out.push_back("forward:" + d.target);
        break;
      case Kind::kOutcome:
        out.push_back("outcome:" + std::string(status_word(d.outcome.kind)) + ":" + d.outcome.dsn);
        break;
    }
  }
  return out;
}

using Strings = std::vector<std::string>;

TEST(RecipientExpansionTest, PlainUserGetsTheMailbox) {
  FakeWorld world;
  std::vector<FinalDelivery> out = expand(world, "Alice@Example.ORG");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kMailbox);
  EXPECT_EQ(out[0].who.uid, 1000u);
  EXPECT_EQ(world.reads,
            (std::vector<std::pair<std::string, uid_t>>{{"/home/alice/.forward", 1000}}));
  EXPECT_EQ(summary(expand(world, "bob@localhost")), Strings{"mailbox:bob@localhost/bob"});
}

TEST(RecipientExpansionTest, AliasToUsersAndChains) {
  FakeWorld world;
  world.aliases["staff"] = "alice, bob@localhost";
  world.aliases["a"] = "b";
  world.aliases["b"] = "staff";
  EXPECT_EQ(summary(expand(world, "staff@example.org")),
            (Strings{"mailbox:alice@example.org/alice", "mailbox:bob@localhost/bob"}));
  EXPECT_EQ(summary(expand(world, "a@example.org")),
            (Strings{"mailbox:alice@example.org/alice", "mailbox:bob@localhost/bob"}));
}

TEST(RecipientExpansionTest, AliasLoopEndsWithNoDelivery) {
  FakeWorld world;
  world.aliases["a"] = "b";
  world.aliases["b"] = "a";
  EXPECT_TRUE(expand(world, "a@example.org").empty());
}

TEST(RecipientExpansionTest, ForwardNamingItsUserDeliversToTheMailbox) {
  FakeWorld world;
  world.files["/home/alice/.forward"] = {1000, "alice, carol@remote.example\n"};
  EXPECT_EQ(summary(expand(world, "alice@example.org")),
            (Strings{"mailbox:alice@example.org/alice", "forward:carol@remote.example"}));
}

TEST(RecipientExpansionTest, UserNamedTwiceFollowsTheForwardOnce) {
  // Only a .forward naming its own user means "my mailbox too"; the same user named twice by
  // aliases is expanded once, as its .forward says.
  FakeWorld world;
  world.aliases["team"] = "alice, ops";
  world.aliases["ops"] = "alice, bob";
  world.files["/home/alice/.forward"] = {1000, "alice@home.example\n"};
  EXPECT_EQ(summary(expand(world, "team@example.org")),
            (Strings{"forward:alice@home.example", "mailbox:bob@example.org/bob"}));
}

TEST(RecipientExpansionTest, BackslashUserIsThatMailboxOnly) {
  FakeWorld world;
  world.files["/home/alice/.forward"] = {1000, "\\alice, |/usr/bin/vacation alice\n"};
  world.aliases["bob"] = "\\bob, alice";
  EXPECT_EQ(summary(expand(world, "alice@example.org")),
            (Strings{"mailbox:alice@example.org/alice", "command:/usr/bin/vacation alice/alice"}));
  world.aliases["ghost"] = "\\nosuchuser";
  EXPECT_EQ(summary(expand(world, "ghost@example.org")), Strings{"outcome:bounced:5.1.1"});
}

TEST(RecipientExpansionTest, ForwardOfTheWrongOwnerIsIgnored) {
  FakeWorld world;
  world.files["/home/alice/.forward"] = {0, "carol@remote.example\n"};
  EXPECT_EQ(summary(expand(world, "alice@example.org")),
            Strings{"mailbox:alice@example.org/alice"});
}

TEST(RecipientExpansionTest, PostmasterAndMailerDaemonFallBackToRoot) {
  FakeWorld world;
  EXPECT_EQ(summary(expand(world, "postmaster@example.org")),
            Strings{"mailbox:root@example.org/root"});
  EXPECT_EQ(summary(expand(world, "MAILER-DAEMON@localhost")),
            Strings{"mailbox:root@localhost/root"});
  world.aliases["postmaster"] = "alice";  // an alias comes first
  EXPECT_EQ(summary(expand(world, "postmaster@example.org")),
            Strings{"mailbox:alice@example.org/alice"});
}

TEST(RecipientExpansionTest, UnknownUserBounces) {
  FakeWorld world;
  std::vector<FinalDelivery> out = expand(world, "nosuch@example.org");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kOutcome);
  EXPECT_EQ(out[0].outcome.kind, DeliveryOutcome::Kind::kBounced);
  EXPECT_EQ(out[0].outcome.dsn, "5.1.1");
  EXPECT_NE(out[0].outcome.reason.find("nosuch"), std::string::npos);
}

TEST(RecipientExpansionTest, ExtensionLooksUpItsOwnAliasThenTheUsers) {
  FakeWorld world;
  world.aliases["alice+lists"] = "bob";
  EXPECT_EQ(summary(expand(world, "Alice+Lists@example.org")),
            Strings{"mailbox:bob@example.org/bob"});
  EXPECT_EQ(world.alias_lookups.front(), "alice+lists");
  world.alias_lookups.clear();
  world.aliases["alice"] = "root";
  EXPECT_EQ(summary(expand(world, "alice+other@example.org")),
            Strings{"mailbox:root@example.org/root"});
  // "owner-alice": an alias's owner-NAME is looked up when the alias is expanded.
  EXPECT_EQ(world.alias_lookups,
            (Strings{"alice+other", "alice", "owner-alice", "root", "root"}));
  world.aliases.erase("alice");
  EXPECT_EQ(summary(expand(world, "alice+other@example.org")),
            Strings{"mailbox:alice+other@example.org/alice"});
}

TEST(RecipientExpansionTest, DeliveredToLoopBounces) {
  FakeWorld world;
  EXPECT_EQ(summary(expand(world, "Alice@example.org", settings(), {"alice@example.org"})),
            Strings{"outcome:bounced:5.4.6"});
  world.aliases["staff"] = "alice, bob";
  EXPECT_EQ(summary(expand(world, "staff@example.org", settings(), {"alice@example.org"})),
            (Strings{"outcome:bounced:5.4.6", "mailbox:bob@example.org/bob"}));
}

TEST(RecipientExpansionTest, RemoteAddressIsForwarded) {
  FakeWorld world;
  world.aliases["ext"] = "someone@Remote.Example, alice";
  EXPECT_EQ(summary(expand(world, "ext@example.org")),
            (Strings{"forward:someone@Remote.Example", "mailbox:alice@example.org/alice"}));
}

TEST(RecipientExpansionTest, CommandsAndFilesFromAliasesRunAsDefaultPrivs) {
  FakeWorld world;
  world.aliases["prog"] = "|/usr/bin/handler --x, /var/log/mail-archive";
  std::vector<FinalDelivery> out = expand(world, "prog@example.org");
  EXPECT_EQ(summary(out),
            (Strings{"command:/usr/bin/handler --x/nobody", "file:/var/log/mail-archive/nobody"}));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].who.uid, 65534u);
  EXPECT_EQ(out[0].address, "prog@example.org");
}

TEST(RecipientExpansionTest, CommandsAndFilesFromForwardRunAsTheUser) {
  FakeWorld world;
  world.files["/home/alice/.forward"] = {1000, "|procmail\n/home/alice/mbox\n"};
  EXPECT_EQ(summary(expand(world, "alice@example.org")),
            (Strings{"command:procmail/alice", "file:/home/alice/mbox/alice"}));
}

TEST(RecipientExpansionTest, RestrictedCommandsAndFilesBounce) {
  FakeWorld world;
  world.aliases["prog"] = "|/bin/x, /tmp/f";
  world.files["/home/alice/.forward"] = {1000, "|/bin/y, /tmp/g\n"};
  LocalSettings only_alias = settings();
  only_alias.allow_mail_to_commands = {"alias"};
  only_alias.allow_mail_to_files = {};
  EXPECT_EQ(summary(expand(world, "prog@example.org", only_alias)),
            (Strings{"command:/bin/x/nobody", "outcome:bounced:5.7.1"}));
  EXPECT_EQ(summary(expand(world, "alice@example.org", only_alias)),
            (Strings{"outcome:bounced:5.7.1", "outcome:bounced:5.7.1"}));
}

TEST(RecipientExpansionTest, IncludeOfAliasesIsReadAsRoot) {
  FakeWorld world;
  world.aliases["list"] = ":include:/etc/mail/list.txt";
  world.files["/etc/mail/list.txt"] = {0, "# members\nalice\nbob, |/bin/archive\n"};
  LocalSettings with_include = settings();
  with_include.allow_mail_to_commands = {"alias", "include"};
  EXPECT_EQ(summary(expand(world, "list@example.org", with_include)),
            (Strings{"mailbox:alice@example.org/alice", "mailbox:bob@example.org/bob",
                     "command:/bin/archive/nobody"}));
  EXPECT_EQ(world.reads.front(), (std::pair<std::string, uid_t>{"/etc/mail/list.txt", 0}));
  // allow_mail_to_commands without "include": the command is refused, the users still get it.
  EXPECT_EQ(summary(expand(world, "list@example.org")),
            (Strings{"mailbox:alice@example.org/alice", "mailbox:bob@example.org/bob",
                     "outcome:bounced:5.7.1"}));
}

TEST(RecipientExpansionTest, IncludeOfForwardIsReadAsTheUser) {
  FakeWorld world;
  world.files["/home/alice/.forward"] = {1000, ":include:/home/alice/more\n"};
  world.files["/home/alice/more"] = {1000, "bob\n"};
  EXPECT_EQ(summary(expand(world, "alice@example.org")), Strings{"mailbox:bob@example.org/bob"});
  ASSERT_GE(world.reads.size(), 2u);
  EXPECT_EQ(world.reads[1], (std::pair<std::string, uid_t>{"/home/alice/more", 1000}));
  // Owned by someone else: not used, the message waits.
  world.files["/home/alice/more"] = {0, "bob\n"};
  EXPECT_EQ(summary(expand(world, "alice@example.org")), Strings{"outcome:deferred:4.3.0"});
}

TEST(RecipientExpansionTest, NestedIncludeKeepsTheOwnerOfItsChain) {
  // An include inside a .forward's include belongs to the same user; one inside an include of
  // /etc/aliases to root.
  FakeWorld world;
  world.files["/home/alice/.forward"] = {1000, ":include:/home/alice/more\n"};
  world.files["/home/alice/more"] = {1000, ":include:/home/alice/deeper\n"};
  world.files["/home/alice/deeper"] = {1000, "bob\n"};
  EXPECT_EQ(summary(expand(world, "alice@example.org")), Strings{"mailbox:bob@example.org/bob"});
  world.files["/home/alice/deeper"] = {0, "bob\n"};  // root's file, named by alice: not used
  EXPECT_EQ(summary(expand(world, "alice@example.org")), Strings{"outcome:deferred:4.3.0"});
  world.aliases["list"] = ":include:/etc/mail/outer";
  world.files["/etc/mail/outer"] = {0, ":include:/etc/mail/inner\n"};
  world.files["/etc/mail/inner"] = {0, "alice\n"};
  EXPECT_EQ(summary(expand(world, "list@example.org")), Strings{"outcome:deferred:4.3.0"});
  world.files.erase("/home/alice/.forward");
  EXPECT_EQ(summary(expand(world, "list@example.org")), Strings{"mailbox:alice@example.org/alice"});
}

TEST(RecipientExpansionTest, RelativeIncludePathIsRefused) {
  FakeWorld world;
  world.aliases["rel"] = ":include:lists/rel.txt";
  world.files["lists/rel.txt"] = {0, "alice\n"};
  EXPECT_EQ(summary(expand(world, "rel@example.org")), Strings{"outcome:deferred:4.3.5"});
  EXPECT_TRUE(world.reads.empty());
}

TEST(RecipientExpansionTest, AliasLookupFailureDefers) {
  FakeWorld world;
  EXPECT_EQ(summary(expand(world, "broken@example.org")), Strings{"outcome:deferred:4.3.0"});
}

TEST(RecipientExpansionTest, UnknownDefaultPrivsDefersCommands) {
  FakeWorld world;
  world.aliases["prog"] = "|/bin/x";
  LocalSettings s = settings();
  s.default_privs = "no-such-user";
  EXPECT_EQ(summary(expand(world, "prog@example.org", s)), Strings{"outcome:deferred:4.3.0"});
}

// a0 -> a1 -> ... -> a<levels-1> -> alice: alice is reached at depth `levels`.
std::vector<FinalDelivery> chain(FakeWorld& world, int levels) {
  for (int i = 0; i < levels; ++i) {
    world.aliases["a" + std::to_string(i)] =
        i + 1 < levels ? "a" + std::to_string(i + 1) : std::string("alice");
  }
  return expand(world, "a0@example.org");
}

TEST(RecipientExpansionTest, DepthAtNAndNPlusOne) {
  FakeWorld at_limit;
  EXPECT_EQ(summary(chain(at_limit, kMaxExpansionDepth)),
            Strings{"mailbox:alice@example.org/alice"});
  FakeWorld over;
  EXPECT_EQ(summary(chain(over, kMaxExpansionDepth + 1)), Strings{"outcome:bounced:5.4.6"});
}

// "big" -> g1 (700 users) and g2 (total - 700 users).
std::vector<FinalDelivery> fan_out(FakeWorld& world, size_t total) {
  world.any_u_user = true;
  std::string g1, g2;
  for (size_t i = 0; i < total; ++i) {
    (i < 700 ? g1 : g2) += "u" + std::to_string(i) + ", ";
  }
  world.aliases["big"] = "g1, g2";
  world.aliases["g1"] = g1;
  world.aliases["g2"] = g2;
  return expand(world, "big@example.org");
}

TEST(RecipientExpansionTest, FinalDeliveriesAtNAndNPlusOne) {
  FakeWorld at_limit;
  std::vector<FinalDelivery> all = fan_out(at_limit, kMaxFinalDeliveries);
  ASSERT_EQ(all.size(), kMaxFinalDeliveries);
  for (const FinalDelivery& d : all) EXPECT_EQ(d.kind, Kind::kMailbox);
  FakeWorld over;
  std::vector<FinalDelivery> cut = fan_out(over, kMaxFinalDeliveries + 1);
  ASSERT_EQ(cut.size(), kMaxFinalDeliveries + 1);
  EXPECT_EQ(cut.back().kind, Kind::kOutcome);
  EXPECT_EQ(cut.back().outcome.dsn, "5.3.0");
  EXPECT_EQ(cut.back().outcome.kind, DeliveryOutcome::Kind::kBounced);
}

}  // namespace
}  // namespace postern::local

namespace postern::local {
namespace {

// owner-NAME: the deliveries of alias NAME carry owner-NAME@domain as their sender, nested
// aliases without an owner keep it, and the plain aliases keep the envelope sender.
TEST(RecipientExpansionOwnerTest, OwnerAliasBecomesTheSender) {
  FakeWorld world;
  world.aliases["list"] = "alice, sub, far@elsewhere.test";
  world.aliases["owner-list"] = "bob";
  world.aliases["sub"] = "bob";
  std::vector<FinalDelivery> plan = expand(world, "list@example.org");
  ASSERT_EQ(plan.size(), 3u);
  for (const FinalDelivery& delivery : plan) {
    EXPECT_EQ(delivery.sender, "owner-list@example.org") << delivery.address;
  }
  for (const FinalDelivery& delivery : expand(world, "sub@example.org")) {
    EXPECT_EQ(delivery.sender, "") << delivery.address;
  }
}

}  // namespace
}  // namespace postern::local
