// Tests qmgr/transport_router: the transport_maps lookup order (address, domain, parent domains,
// "*"), the value forms (relay/smtp with and without next hop, local/delivery, error, unknown),
// the default next hop (relayhost, else the domain), our accounts (mailbox, unknown user, a
// forward to one outside address, several targets expanded, final addresses never expanded
// again), and grouping of relay recipients by next
// hop. The accounts are a real LMDB built in a temporary directory; the transport table is a
// std::map behind the same lookup function qmgr's main() gives the compiled LMDB table.
#include "qmgr/transport_router.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lib/auth/accounts.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern {
namespace {

constexpr const char* kAccounts = R"(postmaster: demo@example.test
domains:
  example.test:
    users:
      demo:
        password: "$6$salt$hash"
      alice:
        password: "$6$salt$hash"
    aliases:
      fwd: someone@elsewhere.example
      split: [demo, other@elsewhere.example]
      two: [a@far.example, b@far.example]
      fwderr: blocked@blocked.example
)";

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<AccountsData> data = parse_accounts_yaml(kAccounts, "accounts.yaml");
    ASSERT_TRUE(data.ok()) << data.error().describe();
    Result<AccountsDb> db = AccountsDb::open(tmp_.path() + "/accounts", false);
    ASSERT_TRUE(db.ok()) << db.error().describe();
    db_.emplace(std::move(db).value());
    ASSERT_TRUE(db_->store(*data).ok());
  }

  TransportLookup table_lookup() {
    return [this](std::string_view key) -> Result<std::optional<std::string>> {
      lookups_.emplace_back(key);
      auto it = table_.find(std::string(key));
      if (it == table_.end()) return std::optional<std::string>();
      return std::optional<std::string>(it->second);
    };
  }

  Route route(std::string_view address, std::string relayhost = "") {
    Router router(RouterSettings{std::move(relayhost), "+", {}, {}}, *db_, table_lookup());
    return router.route(address);
  }

  test_support::TempDir tmp_;
  std::optional<AccountsDb> db_;
  std::map<std::string, std::string> table_;
  std::vector<std::string> lookups_;
};

TEST(TransportLookupKeys, AddressThenDomainThenParentsThenStar) {
  EXPECT_EQ(transport_lookup_keys("User@Mail.Example.COM"),
            (std::vector<std::string>{"user@mail.example.com", "mail.example.com", ".example.com",
                                      ".com", "*"}));
  EXPECT_EQ(transport_lookup_keys("postmaster"), (std::vector<std::string>{"postmaster", "*"}));
}

TEST(TransportEntry, ParsesEveryForm) {
  TransportEntry e = parse_transport_entry("relay:[smtp.resend.com]:587");
  EXPECT_EQ(e.kind, TransportEntry::Kind::kRelay);
  EXPECT_EQ(e.nexthop, "[smtp.resend.com]:587");
  e = parse_transport_entry("smtp:mx.example.net");
  EXPECT_EQ(e.kind, TransportEntry::Kind::kRelay);
  EXPECT_EQ(e.nexthop, "mx.example.net");
  e = parse_transport_entry("SMTP:[10.0.0.1]");
  EXPECT_EQ(e.kind, TransportEntry::Kind::kRelay);
  EXPECT_EQ(e.nexthop, "[10.0.0.1]");
  e = parse_transport_entry("relay:");
  EXPECT_EQ(e.kind, TransportEntry::Kind::kRelay);
  EXPECT_EQ(e.nexthop, "");
  EXPECT_EQ(parse_transport_entry("local:").kind, TransportEntry::Kind::kDelivery);
  EXPECT_EQ(parse_transport_entry("delivery:").kind, TransportEntry::Kind::kDelivery);
  e = parse_transport_entry("error:5.7.1 we do not send there");
  EXPECT_EQ(e.kind, TransportEntry::Kind::kError);
  EXPECT_EQ(e.text, "5.7.1 we do not send there");
  e = parse_transport_entry("uucp:somewhere");
  EXPECT_EQ(e.kind, TransportEntry::Kind::kUnknown);
  EXPECT_EQ(e.text, "uucp");
}

TEST_F(RouterTest, RemoteDomainGoesToItsMxWithoutRelayhost) {
  Route r = route("someone@remote.example");
  EXPECT_EQ(r.kind, Route::Kind::kRelay);
  EXPECT_EQ(r.nexthop, "remote.example");
  EXPECT_EQ(r.relay_rcpt, "someone@remote.example");
}

TEST_F(RouterTest, RelayhostIsTheDefaultNexthop) {
  Route r = route("someone@Remote.Example", "[smtp.resend.com]:587");
  EXPECT_EQ(r.kind, Route::Kind::kRelay);
  EXPECT_EQ(r.nexthop, "[smtp.resend.com]:587");
}

TEST_F(RouterTest, LookupOrderStopsAtTheFirstMatch) {
  table_[".example.com"] = "relay:[parent.host]:2525";
  table_["com"] = "relay:never-used";  // a bare domain matches only itself, not subdomains
  Route r = route("x@a.b.example.com");
  EXPECT_EQ(r.kind, Route::Kind::kRelay);
  EXPECT_EQ(r.nexthop, "[parent.host]:2525");
  EXPECT_EQ(lookups_, (std::vector<std::string>{"x@a.b.example.com", "a.b.example.com",
                                                ".b.example.com", ".example.com"}));

  table_["a.b.example.com"] = "relay:domain.host";
  EXPECT_EQ(route("x@a.b.example.com").nexthop, "domain.host");
  table_["x@a.b.example.com"] = "smtp:[address.host]";
  EXPECT_EQ(route("X@A.B.example.com").nexthop, "[address.host]");
  EXPECT_EQ(route("y@a.b.example.com").nexthop, "domain.host");
}

TEST_F(RouterTest, StarIsTheLastResort) {
  table_["*"] = "relay:[star.host]";
  EXPECT_EQ(route("x@anything.example").nexthop, "[star.host]");
}

TEST_F(RouterTest, EmptyNexthopMeansTheDefault) {
  table_["remote.example"] = "relay:";
  EXPECT_EQ(route("x@remote.example").nexthop, "remote.example");
  EXPECT_EQ(route("x@remote.example", "[smart]:25").nexthop, "[smart]:25");
}

TEST_F(RouterTest, ErrorEntriesBounceOrDefer) {
  table_["blocked.example"] = "error:5.7.1 no mail to them";
  Route r = route("x@blocked.example");
  EXPECT_EQ(r.kind, Route::Kind::kBounce);
  EXPECT_EQ(r.dsn, "5.7.1");
  EXPECT_EQ(r.reason, "no mail to them");
  table_["later.example"] = "error:4.4.1 try later";
  r = route("x@later.example");
  EXPECT_EQ(r.kind, Route::Kind::kDefer);
  EXPECT_EQ(r.dsn, "4.4.1");
  table_["plain.example"] = "error:mailbox unavailable";
  r = route("x@plain.example");
  EXPECT_EQ(r.kind, Route::Kind::kBounce);
  EXPECT_EQ(r.dsn, "5.0.0");
  EXPECT_EQ(r.reason, "mailbox unavailable");
}

TEST_F(RouterTest, UnknownTransportDefers) {
  table_["odd.example"] = "uucp:host";
  Route r = route("x@odd.example");
  EXPECT_EQ(r.kind, Route::Kind::kDefer);
  EXPECT_NE(r.reason.find("uucp"), std::string::npos);
}

TEST_F(RouterTest, OurDomainDeliversLocallyUnlessTransportMapsSaysOtherwise) {
  Route r = route("demo@example.test", "[smart]:25");
  EXPECT_EQ(r.kind, Route::Kind::kDelivery);
  EXPECT_EQ(r.mailboxes, (std::vector<std::string>{"demo@example.test"}));
  table_["example.test"] = "local:";
  EXPECT_EQ(route("demo@example.test").kind, Route::Kind::kDelivery);
  table_["alice@example.test"] = "relay:[elsewhere]:25";
  r = route("alice@example.test");
  EXPECT_EQ(r.kind, Route::Kind::kRelay);
  EXPECT_EQ(r.nexthop, "[elsewhere]:25");
}

TEST_F(RouterTest, LocalTransportForAForeignDomainBounces) {
  table_["foreign.example"] = "local:";
  Route r = route("x@foreign.example");
  EXPECT_EQ(r.kind, Route::Kind::kBounce);
  EXPECT_EQ(r.dsn, "5.1.1");
}

TEST_F(RouterTest, UnknownLocalUserBounces) {
  Route r = route("nobody@example.test");
  EXPECT_EQ(r.kind, Route::Kind::kBounce);
  EXPECT_EQ(r.dsn, "5.1.1");
}

TEST_F(RouterTest, AForwardToOneOutsideAddressIsRelayedToTheTarget) {
  Route r = route("fwd@example.test", "[smart]:25");
  EXPECT_EQ(r.kind, Route::Kind::kRelay);
  EXPECT_EQ(r.relay_rcpt, "someone@elsewhere.example");
  EXPECT_EQ(r.nexthop, "[smart]:25");
  // The target's own transport_maps entry decides its route.
  table_["blocked.example"] = "error:5.7.1 not there";
  r = route("fwderr@example.test");
  EXPECT_EQ(r.kind, Route::Kind::kBounce);
  EXPECT_EQ(r.dsn, "5.7.1");
}

TEST_F(RouterTest, APlainForwardWeSealIsExpandedIntoACopy) {
  RouterSettings settings{"[smart]:25", "+", {}, {}};
  std::vector<std::string> asked;
  settings.seals_forwards_for = [&asked](std::string_view domain) {
    asked.emplace_back(domain);
    return domain == "example.test";
  };
  Router router(settings, *db_, table_lookup());
  Route r = router.route("fwd@EXAMPLE.test");
  EXPECT_EQ(r.kind, Route::Kind::kExpand);
  EXPECT_EQ(r.mailboxes, (std::vector<std::string>{"someone@elsewhere.example"}));
  EXPECT_EQ(asked, (std::vector<std::string>{"example.test"}));
  // Without a key for the alias's domain the forward is relayed as before.
  settings.seals_forwards_for = [](std::string_view) { return false; };
  Router unsealed(settings, *db_, table_lookup());
  EXPECT_EQ(unsealed.route("fwd@example.test").kind, Route::Kind::kRelay);
  // A copy's recipients are final: never expanded again, sealed or not.
  EXPECT_EQ(router.route_final("someone@elsewhere.example").kind, Route::Kind::kRelay);
}

TEST_F(RouterTest, SeveralTargetsWithOutsideOnesAreExpanded) {
  Route r = route("split@example.test");
  EXPECT_EQ(r.kind, Route::Kind::kExpand);
  EXPECT_EQ(r.mailboxes,
            (std::vector<std::string>{"demo@example.test", "other@elsewhere.example"}));
  r = route("two@example.test");
  EXPECT_EQ(r.kind, Route::Kind::kExpand);
  EXPECT_EQ(r.mailboxes, (std::vector<std::string>{"a@far.example", "b@far.example"}));
}

TEST_F(RouterTest, FinalAddressesAreNeverExpandedAgain) {
  Router router(RouterSettings{"[smart]:25", "+", {}, {}}, *db_, table_lookup());
  // An alias name of ours in an expansion file: delivered to that mailbox as it stands.
  Route r = router.route_final("split@example.test");
  EXPECT_EQ(r.kind, Route::Kind::kDelivery);
  EXPECT_EQ(r.mailboxes, (std::vector<std::string>{"split@example.test"}));
  r = router.route_final("other@elsewhere.example");
  EXPECT_EQ(r.kind, Route::Kind::kRelay);
  EXPECT_EQ(r.nexthop, "[smart]:25");
  EXPECT_EQ(r.relay_rcpt, "other@elsewhere.example");
  table_["far.example"] = "error:5.7.1 not there";
  EXPECT_EQ(router.route_final("a@far.example").kind, Route::Kind::kBounce);
}

TEST_F(RouterTest, ATableErrorIsAShortDeferral) {
  Router router(RouterSettings{"", "+", {}, {}}, *db_,
                [](std::string_view) -> Result<std::optional<std::string>> {
                  return Error::system("mdb_get", 5);
                });
  Route r = router.route("x@remote.example");
  EXPECT_EQ(r.kind, Route::Kind::kDefer);
  EXPECT_TRUE(r.short_retry);
  EXPECT_NE(r.reason.find("transport_maps"), std::string::npos);
}

TEST_F(RouterTest, NoTableAtAll) {
  Router router(RouterSettings{"", "+", {}, {}}, *db_, TransportLookup());
  EXPECT_EQ(router.route("x@remote.example").nexthop, "remote.example");
  EXPECT_EQ(router.route("demo@example.test").kind, Route::Kind::kDelivery);
}

TEST(GroupByNexthop, OneGroupPerNexthopIndexesInOrder) {
  auto groups = group_by_nexthop({{0, "[smart]:25"},
                                  {2, "remote.example"},
                                  {3, "[SMART]:25"},
                                  {5, "other.example"},
                                  {7, "remote.example"}});
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups["[smart]:25"], (std::vector<size_t>{0, 3}));
  EXPECT_EQ(groups["remote.example"], (std::vector<size_t>{2, 7}));
  EXPECT_EQ(groups["other.example"], (std::vector<size_t>{5}));
  EXPECT_TRUE(group_by_nexthop({}).empty());
}

}  // namespace
}  // namespace postern

namespace postern {
namespace {

// mydestination: system users go to postern-local, unless transport_maps names another next
// hop or the accounts file has the domain (its virtual mailboxes win).
TEST_F(RouterTest, MydestinationGoesToLocal) {
  Router router(RouterSettings{"[smart]:587", "+", {"host.example.net", "localhost"}, {}}, *db_,
                table_lookup());
  Route local = router.route("Root@Host.Example.NET");
  EXPECT_EQ(local.kind, Route::Kind::kLocal);
  EXPECT_EQ(local.relay_rcpt, "Root@Host.Example.NET");
  EXPECT_EQ(router.route("alice@localhost").kind, Route::Kind::kLocal);
  EXPECT_EQ(router.route_final("bob@localhost").kind, Route::Kind::kLocal);
  // Another domain still goes to the relay.
  EXPECT_EQ(router.route("x@elsewhere.test").kind, Route::Kind::kRelay);
  // transport_maps wins: "relay:[h]" for a mydestination domain relays.
  table_["localhost"] = "relay:[h.test]:25";
  EXPECT_EQ(router.route("alice@localhost").kind, Route::Kind::kRelay);
  table_["localhost"] = "local:";
  EXPECT_EQ(router.route("alice@localhost").kind, Route::Kind::kLocal);
}

TEST_F(RouterTest, AVirtualDomainInMydestinationStaysVirtual) {
  Router router(RouterSettings{"", "+", {"example.test"}, {}}, *db_, table_lookup());
  EXPECT_EQ(router.route("alice@example.test").kind, Route::Kind::kDelivery);
}

}  // namespace
}  // namespace postern
