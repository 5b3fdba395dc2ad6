// One MTA connection to postern-authmilter, without libmilter: what the MTA told us (client,
// HELO, envelope, headers, body) and, at the end of each message, the header edits and the
// verdict to send back. milter_callbacks.cpp feeds it from libmilter's callbacks; tests feed it
// directly. Runs on libmilter's thread for this connection; shares only AuthServices (read-only
// settings and keys, the thread-safe DNS cache). Everything the MTA relays is the client's and
// hostile: header count and bytes are bounded (kMaxHeaderFields, kMaxHeaderBytes); past them
// the message is checked without the extra headers and says so in its log line.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/authmilter_settings.hpp"
#include "authmilter/message_role.hpp"
#include "lib/dkim/dkim_canonicalization.hpp"
#include "lib/net/dns_lookup.hpp"

namespace postern {
class DkimSigningKeys;
class DnsCache;
class DnsLookupSession;
}  // namespace postern

namespace postern::authmilter {

class MessageCheck;
class MessageSigning;

inline constexpr size_t kMaxHeaderFields = 1000;
inline constexpr size_t kMaxHeaderBytes = 1024 * 1024;

// Shared by every connection of the process; built once in main() and never changed after.
struct AuthServices {
  const AuthmilterSettings* settings = nullptr;
  const DkimSigningKeys* keys = nullptr;
  DnsCache* dns_cache = nullptr;  // may be null (no caching)
};

// A header field as the MTA passed it: the value is everything after the colon, leading
// space included (SMFIP_HDR_LEADSPC), folding line breaks as "\n" or "\r\n".
using HeaderField = DkimHeader;

struct HeaderEdit {
  enum class Kind { kInsert, kDelete };
  Kind kind = Kind::kInsert;
  std::string name;
  std::string value;  // kInsert: the value to add (begins with a space)
  int index = 0;      // kInsert: position (0 = top); kDelete: occurrence of name, from 1
};

struct MessageOutcome {
  std::vector<HeaderEdit> edits;
  bool reject = false;  // answer the end of message with reply_code/reply_status/reply_text
  std::string reply_code;
  std::string reply_status;
  std::string reply_text;
  std::string log_line;  // one line about what was decided, for the log
};

class AuthSession {
 public:
  explicit AuthSession(const AuthServices& services);
  ~AuthSession();
  AuthSession(const AuthSession&) = delete;
  AuthSession& operator=(const AuthSession&) = delete;

  void connect(std::string client_address, std::string client_name, std::string daemon_name);
  void helo(std::string helo_name);
  void mail(std::string sender, std::string auth_type, std::string auth_authen,
            std::string queue_id);
  void header(std::string_view name, std::string_view value);
  void end_of_headers();
  void body(std::string_view chunk);
  MessageOutcome end_of_message();
  void abort();  // the message is gone; the connection facts stay

  // Whether the MTA passes header values with their leading white space (SMFIP_HDR_LEADSPC);
  // the libmilter glue adds or strips the one space the MTA would otherwise take or add.
  void set_leading_space(bool on) { leading_space_ = on; }
  bool leading_space() const { return leading_space_; }

  MessageRole role() const { return role_; }
  const std::string& queue_id() const { return queue_id_; }
  // A queue ID the MTA names only later: Postfix opens its queue file after the first valid
  // RCPT, so {i} is empty at MAIL and arrives with the end of the message.
  void set_queue_id(std::string queue_id) { queue_id_ = std::move(queue_id); }

 private:
  void reset_message();
  DnsLookup& dns();

  const AuthServices& services_;
  bool leading_space_ = false;
  ClientFacts client_;
  std::string client_name_;
  std::string helo_name_;
  std::string sender_;
  std::string queue_id_;
  std::vector<HeaderField> headers_;
  size_t header_bytes_ = 0;
  bool headers_truncated_ = false;
  MessageRole role_ = MessageRole::kVerify;
  std::unique_ptr<MessageCheck> check_;      // kVerify, from end_of_headers on
  std::unique_ptr<MessageSigning> signing_;  // kSign, when we hold a key for the domain
  std::string not_signed_because_;
  std::unique_ptr<DnsLookupSession> dns_;       // this connection's resolver session, made lazily
  std::unique_ptr<DnsLookup> dns_unavailable_;  // when the session cannot be made
};

}  // namespace postern::authmilter
