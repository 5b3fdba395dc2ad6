// Whether postern-authmilter signs a message or checks it, decided from what the MTA tells the
// milter about the client (macros and the connect address), never from anything in the message.
// Signing is for mail that is ours: an authenticated client ({auth_type} set, as OpenDKIM
// decides), a client in mynetworks, or an MTA that marks its own submissions with
// {daemon_name} = ORIGINATING (Postfix's convention for milter_macro_daemon_name; Postern's
// pickup uses it for sendmail(1) mail in the shipped master.cf). Everything else — above all a
// stranger on port 25, even from 127.0.0.1 behind a tunnel — is checked, never signed.
#pragma once

#include <string>
#include <string_view>

#include "lib/net/network_list.hpp"

namespace postern::authmilter {

inline constexpr std::string_view kOriginatingDaemonName = "ORIGINATING";

enum class MessageRole {
  kVerify,  // SPF, DKIM, DMARC (and ARC) checks, one Authentication-Results header
  kSign,    // DKIM signature(s) for the sender's domain when we hold its keys
};

struct ClientFacts {
  std::string client_address;  // text form, "" when the MTA gave none (local submission)
  std::string daemon_name;     // {daemon_name}
  std::string auth_type;       // {auth_type}: the SASL mechanism, "" when not authenticated
  std::string auth_authen;     // {auth_authen}: the login
};

MessageRole decide_role(const ClientFacts& client, const NetworkList& mynetworks);

std::string_view role_name(MessageRole role);

}  // namespace postern::authmilter
