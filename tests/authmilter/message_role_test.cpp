// Tests authmilter/message_role: which messages are signed and which are checked. The rule that
// matters most: a client on 127.0.0.1 that did not authenticate is a stranger (a tunnel or
// proxy makes every client 127.0.0.1), unless the admin put loopback in mynetworks.
#include "authmilter/message_role.hpp"

#include <gtest/gtest.h>

namespace postern::authmilter {
namespace {

NetworkList networks(std::vector<std::string> entries) {
  Result<NetworkList> list = NetworkList::parse(entries);
  EXPECT_TRUE(list.ok());
  return list.ok() ? std::move(list).value() : NetworkList();
}

TEST(MessageRole, LoopbackWithoutAuthenticationIsChecked) {
  ClientFacts client{"127.0.0.1", "mx.example.org", "", ""};
  EXPECT_EQ(decide_role(client, networks({})), MessageRole::kVerify);
  client.client_address = "::1";
  EXPECT_EQ(decide_role(client, networks({})), MessageRole::kVerify);
}

TEST(MessageRole, AuthenticatedClientsAreSigned) {
  ClientFacts client{"203.0.113.9", "mx.example.org", "PLAIN", "alice@example.org"};
  EXPECT_EQ(decide_role(client, networks({})), MessageRole::kSign);
}

TEST(MessageRole, MynetworksAreSigned) {
  NetworkList lan = networks({"192.0.2.0/24", "[2001:db8::]/32"});
  EXPECT_EQ(decide_role({"192.0.2.7", "", "", ""}, lan), MessageRole::kSign);
  EXPECT_EQ(decide_role({"2001:db8::5", "", "", ""}, lan), MessageRole::kSign);
  EXPECT_EQ(decide_role({"192.0.3.7", "", "", ""}, lan), MessageRole::kVerify);
  EXPECT_EQ(decide_role({"not an address", "", "", ""}, lan), MessageRole::kVerify);
  EXPECT_EQ(decide_role({"", "", "", ""}, lan), MessageRole::kVerify);
}

TEST(MessageRole, OriginatingDaemonNameIsSignedAndNothingElseIs) {
  EXPECT_EQ(decide_role({"127.0.0.1", "ORIGINATING", "", ""}, networks({})), MessageRole::kSign);
  EXPECT_EQ(decide_role({"127.0.0.1", "originating", "", ""}, networks({})), MessageRole::kVerify);
  EXPECT_EQ(decide_role({"127.0.0.1", "ORIGINATING2", "", ""}, networks({})), MessageRole::kVerify);
}

}  // namespace
}  // namespace postern::authmilter
