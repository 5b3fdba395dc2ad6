// AUTH towards a smart host through the Cyrus SASL client library (libsasl2 and its client
// plugins from libsasl2-modules: PLAIN, LOGIN, CRAM-MD5, SCRAM...). Runs in postern-relay, one
// SaslClient per SMTP connection. Holds the credentials from smtp_sasl_password_maps (a secret:
// never logged, wiped when the client goes away). Trusts the server's mechanism list and
// challenges only as far as Cyrus checks them; challenges are base64 bounded by kMaxSaslBytes.
// Without TLS, mechanisms that send the password in the clear (PLAIN, LOGIN) are refused
// (SASL_SEC_NOPLAINTEXT), and no SASL security layer is negotiated (max_ssf 0).
#pragma once

#include <sasl/sasl.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern::relay {

inline constexpr size_t kMaxSaslBytes = 8192;  // a decoded challenge or response

// sasl_client_init, once per process (plugins are loaded from the system folder).
Status sasl_client_startup();

class SaslClient {
 public:
  // server_host: the name the service principal is for (the host we connected to).
  static Result<std::unique_ptr<SaslClient>> create(std::string_view server_host,
                                                    std::string_view user,
                                                    std::string_view password, bool tls_active);
  ~SaslClient();
  SaslClient(const SaslClient&) = delete;
  SaslClient& operator=(const SaslClient&) = delete;

  // Picks a mechanism among the server's and returns the command to send: "AUTH MECH" or
  // "AUTH MECH initial-response" (without CRLF). Secret-bearing: never log it.
  Result<std::string> start(const std::vector<std::string>& server_mechanisms);
  // Answers a 334 challenge (its base64 text); returns the base64 response line.
  Result<std::string> step(std::string_view challenge_base64);
  const std::string& mechanism() const { return mechanism_; }

 private:
  SaslClient() = default;
  static int get_simple(void* context, int id, const char** result, unsigned* length);
  static int get_secret(sasl_conn_t* conn, void* context, int id, sasl_secret_t** secret);
  Result<std::string> encode(const char* data, unsigned length) const;
  Error sasl_error(std::string_view what, int code) const;

  sasl_conn_t* conn_ = nullptr;
  std::string user_;
  sasl_secret_t* secret_ = nullptr;  // malloc'd, wiped and freed by the destructor
  std::vector<sasl_callback_t> callbacks_;
  std::string mechanism_;
};

}  // namespace postern::relay
