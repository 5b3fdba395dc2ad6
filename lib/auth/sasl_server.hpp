// Server side of SMTP/IMAP AUTH for submission and imapd: the PLAIN (RFC 4616) and LOGIN
// mechanisms, with passwords checked against our accounts (AccountsDb::password_hash, then
// lib/auth/password_hash). One SaslServer per connection, reusable for a new AUTH after a failure.
// Everything the client sends is hostile: each response is bounded by kMaxSaslResponseBytes of
// base64 before it is decoded, decoding is strict (alphabet, padding, length), and the names in
// it by kMaxSaslUserBytes; passwords are bounded by kMaxPasswordBytes and wiped from memory.
// The authorization identity (PLAIN's authzid) must be empty or equal to the authentication
// identity: nobody logs in as someone else.
//
// Why not Cyrus SASL's server side (DESIGN names it): with a SASL_CB_SERVER_USERDB_CHECKPASS
// callback, libsasl2's _sasl_checkpass falls through to pwcheck_method (default "auxprop",
// i.e. sasldb) whenever our callback says no, and its canon_user step runs auxprop lookups and
// reads /etc/sasl2/<app>.conf; keeping "our accounts only, never sasldb or saslauthd" would
// hang on deliberately invalid options. PLAIN and LOGIN are small enough to do here exactly.
// (SCRAM, which would need Cyrus's plugins and stored keys, is not offered.)
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "lib/auth/accounts.hpp"
#include "lib/base/result.hpp"

namespace postern {

// RFC 4954's limit for an AUTH command line, applied to each base64 response.
inline constexpr size_t kMaxSaslResponseBytes = 12288;
// An address: 64 bytes of local part, '@', 255 of domain.
inline constexpr size_t kMaxSaslUserBytes = 320;

enum class SaslOutcome { kContinue, kSuccess, kFailure };

enum class SaslFailure {
  kNone,
  kUnsupportedMechanism,  // 504 5.5.4
  kMalformed,             // 501 5.5.2: not base64, not the mechanism's form, a name too long
  kTooLong,               // 500 5.5.6: response over kMaxSaslResponseBytes
  kCancelled,             // 501 5.0.0: the client sent "*"
  kBadCredentials,        // 535 5.7.8: unknown user, wrong password, unusable hash
  kAuthzidMismatch,       // 535 5.7.8: authzid names another identity
  kTemporary,             // 454 4.7.0: the accounts database failed
  kOutOfSequence,         // 503 5.5.1: step() with no exchange under way
};

struct SaslStep {
  SaslOutcome outcome = SaslOutcome::kFailure;
  std::string challenge;  // kContinue: base64 challenge for "334 <challenge>" (may be empty)
  // kSuccess: the authenticated user, lower-cased ("user@domain"). kFailure: the identity the
  // client tried when it got that far (for throttling and logs; print with log::printable).
  std::string user;
  SaslFailure failure = SaslFailure::kNone;
};

// The SMTP reply for a failure ("535 5.7.8 Authentication credentials invalid"...).
std::string_view sasl_failure_smtp_reply(SaslFailure failure);

class SaslServer {
 public:
  // The mechanisms offered, for EHLO's "250-AUTH PLAIN LOGIN".
  static constexpr std::string_view kMechanisms = "PLAIN LOGIN";

  // accounts must outlive this object. login_domain: appended as "@login_domain" to a user name
  // without '@' (like Postfix's smtpd_sasl_local_domain); empty: such names are not ours.
  explicit SaslServer(const AccountsDb& accounts, std::string login_domain = {});
  SaslServer(SaslServer&& other) noexcept;
  SaslServer& operator=(SaslServer&& other) noexcept;
  SaslServer(const SaslServer&) = delete;
  SaslServer& operator=(const SaslServer&) = delete;
  ~SaslServer();

  // AUTH <mechanism> [initial-response]: nullopt when the client sent none; "=" is an empty one.
  SaslStep start(std::string_view mechanism, std::optional<std::string_view> initial_response);
  // The client's answer to the last challenge: base64 text without CRLF, or "*" to cancel.
  SaslStep step(std::string_view client_response);

 private:
  enum class State { kIdle, kPlainResponse, kLoginUser, kLoginPassword };

  SaslStep finish(SaslStep result);
  SaslStep plain(std::string_view base64_response);
  SaslStep login_user(std::string_view base64_response);
  SaslStep login_password(std::string_view base64_response);
  SaslStep verify(std::string user, std::string_view password);
  Result<std::string> normalise_user(std::string_view name) const;
  void wipe();

  const AccountsDb* accounts_;
  std::string login_domain_;
  State state_ = State::kIdle;
  std::string login_user_;  // LOGIN: the name given, until the password arrives
};

}  // namespace postern
