// AUTH PLAIN and LOGIN for submission and imapd (see sasl_server.hpp for the rules and for why
// this is not libsasl2). Runs in the daemon's event loop; the only blocking work is one LMDB read
// and one crypt_r per attempt, which the caller's throttle (lib/auth/auth_throttle) bounds. Input is
// hostile: length-checked before decoding, strictly decoded, split on exactly two NULs (PLAIN),
// names bounded and free of control bytes. Decoded responses are wiped once used.
#include "lib/auth/sasl_server.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "lib/base/log.hpp"
#include "lib/auth/password_hash.hpp"

namespace postern {
namespace {

constexpr std::string_view kUsernameChallenge = "VXNlcm5hbWU6";  // base64("Username:")
constexpr std::string_view kPasswordChallenge = "UGFzc3dvcmQ6";  // base64("Password:")
// A yescrypt hash of 48 random bytes nobody kept: verified against when the user is unknown,
// so that an unknown user costs the same crypt_r time as a wrong password.
constexpr std::string_view kUnknownUserHash =
    "$y$j9T$.7DUuHxlAIrKCvvF3/M.F0$3y.c5ybgihfgzOMoOmVyHuABL4jsFucPgZ6C5UNs6E2";

// A decoded response: wiped when it goes out of scope, since it may hold a password.
class Secret {
 public:
  explicit Secret(std::string text) : text_(std::move(text)) {}
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret() { OPENSSL_cleanse(text_.data(), text_.size()); }
  std::string_view view() const { return text_; }

 private:
  std::string text_;
};

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// Strict RFC 4648 base64: a multiple of 4 characters from the alphabet, with '=' only as the
// last one or two. (EVP_DecodeBlock alone skips white space and keeps padding bytes.)
std::optional<std::string> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') {
    padding = text[text.size() - 2] == '=' ? 2 : 1;
  }
  for (size_t i = 0; i < text.size() - padding; ++i) {
    if (!is_base64_char(text[i])) return std::nullopt;
  }
  if (text.empty()) return std::string();
  std::string out(text.size() / 4 * 3, '\0');
  const int decoded = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(text.data()),
                                      static_cast<int>(text.size()));
  if (decoded < 0 || static_cast<size_t>(decoded) < padding) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  out.resize(static_cast<size_t>(decoded) - padding);
  return out;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = (a[i] >= 'a' && a[i] <= 'z') ? static_cast<char>(a[i] - 'a' + 'A') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

SaslStep failed(SaslFailure failure, std::string user = {}) {
  SaslStep result;
  result.outcome = SaslOutcome::kFailure;
  result.failure = failure;
  result.user = std::move(user);
  return result;
}

SaslStep challenge(std::string_view text) {
  SaslStep result;
  result.outcome = SaslOutcome::kContinue;
  result.challenge = std::string(text);
  return result;
}

}  // namespace

std::string_view sasl_failure_smtp_reply(SaslFailure failure) {
  switch (failure) {
    case SaslFailure::kNone:
      return "";
    case SaslFailure::kUnsupportedMechanism:
      return "504 5.5.4 Unsupported authentication mechanism";
    case SaslFailure::kMalformed:
      return "501 5.5.2 Cannot decode the authentication response";
    case SaslFailure::kTooLong:
      return "500 5.5.6 Authentication exchange line is too long";
    case SaslFailure::kCancelled:
      return "501 5.0.0 Authentication cancelled";
    case SaslFailure::kBadCredentials:
    case SaslFailure::kAuthzidMismatch:
      return "535 5.7.8 Authentication credentials invalid";
    case SaslFailure::kTemporary:
      return "454 4.7.0 Temporary authentication failure";
    case SaslFailure::kOutOfSequence:
      return "503 5.5.1 No authentication exchange in progress";
  }
  return "454 4.7.0 Temporary authentication failure";
}

SaslServer::SaslServer(const AccountsDb& accounts, std::string login_domain)
    : accounts_(&accounts), login_domain_(std::move(login_domain)) {}

SaslServer::SaslServer(SaslServer&& other) noexcept
    : accounts_(other.accounts_),
      login_domain_(std::move(other.login_domain_)),
      state_(other.state_),
      login_user_(std::move(other.login_user_)) {
  other.state_ = State::kIdle;
}

SaslServer& SaslServer::operator=(SaslServer&& other) noexcept {
  if (this != &other) {
    wipe();
    accounts_ = other.accounts_;
    login_domain_ = std::move(other.login_domain_);
    state_ = other.state_;
    login_user_ = std::move(other.login_user_);
    other.state_ = State::kIdle;
  }
  return *this;
}

SaslServer::~SaslServer() {
  wipe();
}

void SaslServer::wipe() {
  OPENSSL_cleanse(login_user_.data(), login_user_.size());
  login_user_.clear();
  state_ = State::kIdle;
}

SaslStep SaslServer::finish(SaslStep result) {
  if (result.outcome != SaslOutcome::kContinue) wipe();
  return result;
}

Result<std::string> SaslServer::normalise_user(std::string_view name) const {
  if (name.empty()) return Error::parse("empty user name");
  if (name.size() > kMaxSaslUserBytes) return Error::limit("user name too long");
  std::string user;
  user.reserve(name.size() + 1 + login_domain_.size());
  for (char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return Error::parse("control byte in user name");
    user.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
  }
  if (user.find('@') == std::string::npos && !login_domain_.empty()) {
    user += '@';
    for (char c : login_domain_) {
      user.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
    }
    if (user.size() > kMaxSaslUserBytes) return Error::limit("user name too long");
  }
  return user;
}

SaslStep SaslServer::start(std::string_view mechanism,
                           std::optional<std::string_view> initial_response) {
  wipe();
  const bool is_plain = equals_ignoring_case(mechanism, "PLAIN");
  const bool is_login = equals_ignoring_case(mechanism, "LOGIN");
  if (!is_plain && !is_login) return failed(SaslFailure::kUnsupportedMechanism);
  if (!initial_response) {
    state_ = is_plain ? State::kPlainResponse : State::kLoginUser;
    return challenge(is_plain ? "" : kUsernameChallenge);
  }
  if (initial_response->size() > kMaxSaslResponseBytes) return failed(SaslFailure::kTooLong);
  // RFC 4954: "=" stands for an initial response of zero length.
  const std::string_view response = *initial_response == "=" ? "" : *initial_response;
  return finish(is_plain ? plain(response) : login_user(response));
}

SaslStep SaslServer::step(std::string_view client_response) {
  if (state_ == State::kIdle) return failed(SaslFailure::kOutOfSequence);
  std::string tried_user = state_ == State::kLoginPassword ? login_user_ : std::string();
  if (client_response == "*") return finish(failed(SaslFailure::kCancelled, tried_user));
  if (client_response.size() > kMaxSaslResponseBytes) {
    return finish(failed(SaslFailure::kTooLong, tried_user));
  }
  switch (state_) {
    case State::kPlainResponse:
      return finish(plain(client_response));
    case State::kLoginUser:
      return finish(login_user(client_response));
    case State::kLoginPassword:
      return finish(login_password(client_response));
    case State::kIdle:
      break;
  }
  return failed(SaslFailure::kOutOfSequence);
}

SaslStep SaslServer::plain(std::string_view base64_response) {
  std::optional<std::string> decoded = decode_base64(base64_response);
  if (!decoded) return failed(SaslFailure::kMalformed);
  const Secret message(std::move(*decoded));
  // RFC 4616: [authzid] NUL authcid NUL passwd, with no NUL inside any of the three.
  const std::string_view text = message.view();
  const size_t first_nul = text.find('\0');
  if (first_nul == std::string_view::npos) return failed(SaslFailure::kMalformed);
  const size_t second_nul = text.find('\0', first_nul + 1);
  if (second_nul == std::string_view::npos) return failed(SaslFailure::kMalformed);
  if (text.find('\0', second_nul + 1) != std::string_view::npos) {
    return failed(SaslFailure::kMalformed);
  }
  const std::string_view authzid = text.substr(0, first_nul);
  const std::string_view authcid = text.substr(first_nul + 1, second_nul - first_nul - 1);
  const std::string_view password = text.substr(second_nul + 1);
  Result<std::string> user = normalise_user(authcid);
  if (!user) return failed(SaslFailure::kMalformed);
  if (!authzid.empty()) {
    Result<std::string> as_user = normalise_user(authzid);
    if (!as_user) return failed(SaslFailure::kMalformed, *user);
    if (*as_user != *user) return failed(SaslFailure::kAuthzidMismatch, *user);
  }
  return verify(std::move(user).value(), password);
}

SaslStep SaslServer::login_user(std::string_view base64_response) {
  std::optional<std::string> decoded = decode_base64(base64_response);
  if (!decoded) return failed(SaslFailure::kMalformed);
  const Secret name(std::move(*decoded));  // clients sometimes type the password here
  Result<std::string> user = normalise_user(name.view());
  if (!user) return failed(SaslFailure::kMalformed);
  login_user_ = std::move(user).value();
  state_ = State::kLoginPassword;
  return challenge(kPasswordChallenge);
}

SaslStep SaslServer::login_password(std::string_view base64_response) {
  std::string user = login_user_;
  std::optional<std::string> decoded = decode_base64(base64_response);
  if (!decoded) return failed(SaslFailure::kMalformed, std::move(user));
  const Secret password(std::move(*decoded));
  return verify(std::move(user), password.view());
}

SaslStep SaslServer::verify(std::string user, std::string_view password) {
  Result<std::optional<std::string>> hash = accounts_->password_hash(user);
  if (!hash) {
    log::error("SASL: password lookup for {} failed: {}", log::printable(user),
               hash.error().describe());
    return failed(SaslFailure::kTemporary, std::move(user));
  }
  const bool known = hash->has_value();
  Result<bool> matched =
      verify_password(password, known ? std::string_view(**hash) : kUnknownUserHash);
  if (!matched) {
    if (known && matched.error().kind == ErrorKind::kConfig) {
      log::error("SASL: account {} cannot log in: {}", log::printable(user),
                 matched.error().describe());
    }
    return failed(SaslFailure::kBadCredentials, std::move(user));
  }
  if (!known || !*matched) return failed(SaslFailure::kBadCredentials, std::move(user));
  SaslStep result;
  result.outcome = SaslOutcome::kSuccess;
  result.user = std::move(user);
  return result;
}

}  // namespace postern
