// Sign or verify (see message_role.hpp).
#include "authmilter/message_role.hpp"

namespace postern::authmilter {

MessageRole decide_role(const ClientFacts& client, const NetworkList& mynetworks) {
  if (!client.auth_type.empty()) return MessageRole::kSign;
  if (client.daemon_name == kOriginatingDaemonName) return MessageRole::kSign;
  if (!client.client_address.empty() && !mynetworks.empty()) {
    Result<IpBytes> ip = parse_ip_address(client.client_address);
    if (ip && mynetworks.contains(*ip)) return MessageRole::kSign;
  }
  return MessageRole::kVerify;
}

std::string_view role_name(MessageRole role) {
  return role == MessageRole::kSign ? "sign" : "verify";
}

}  // namespace postern::authmilter
