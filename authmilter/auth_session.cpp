// One MTA connection to postern-authmilter (see auth_session.hpp).
#include "authmilter/auth_session.hpp"

#include "authmilter/message_check.hpp"
#include "authmilter/message_signing.hpp"
#include "lib/authres/authres_parser.hpp"
#include "lib/base/ascii.hpp"
#include "lib/base/log.hpp"
#include "lib/net/dns_lookup_session.hpp"

namespace postern::authmilter {
namespace {

constexpr std::string_view kAuthResultsName = "Authentication-Results";

// What every question gets when no resolver session could be made (a bad resolver address):
// a temporary failure, so SPF and DKIM say temperror instead of guessing.
class UnavailableDns final : public DnsLookup {
 public:
  explicit UnavailableDns(std::string why) : why_(std::move(why)) {}
  std::vector<DnsAnswer> lookup(std::span<const DnsQuestion> questions) override {
    std::vector<DnsAnswer> answers(questions.size());
    for (DnsAnswer& answer : answers) answer.reason = why_;
    return answers;
  }

 private:
  std::string why_;
};

std::string display(std::string_view queue_id) {
  return queue_id.empty() ? std::string("NOQUEUE") : std::string(queue_id);
}

}  // namespace

AuthSession::AuthSession(const AuthServices& services) : services_(services) {}
AuthSession::~AuthSession() = default;

void AuthSession::connect(std::string client_address, std::string client_name,
                          std::string daemon_name) {
  client_.client_address = std::move(client_address);
  client_.daemon_name = std::move(daemon_name);
  client_name_ = std::move(client_name);
}

void AuthSession::helo(std::string helo_name) {
  helo_name_ = std::move(helo_name);
}

void AuthSession::mail(std::string sender, std::string auth_type, std::string auth_authen,
                       std::string queue_id) {
  reset_message();
  sender_ = std::move(sender);
  client_.auth_type = std::move(auth_type);
  client_.auth_authen = std::move(auth_authen);
  queue_id_ = std::move(queue_id);
}

void AuthSession::header(std::string_view name, std::string_view value) {
  if (headers_.size() >= kMaxHeaderFields ||
      header_bytes_ + name.size() + value.size() > kMaxHeaderBytes) {
    headers_truncated_ = true;
    return;
  }
  header_bytes_ += name.size() + value.size();
  headers_.push_back(HeaderField{std::string(name), std::string(value)});
}

void AuthSession::end_of_headers() {
  role_ = decide_role(client_, services_.settings->mynetworks);
  if (role_ == MessageRole::kSign) {
    std::string why_not;
    signing_ = MessageSigning::start(services_, headers_, client_, why_not);
    if (!signing_) not_signed_because_ = why_not;
    return;
  }
  MessageFacts facts{client_.client_address, helo_name_, sender_, queue_id_};
  check_ = MessageCheck::start(services_, std::move(facts), headers_);
}

void AuthSession::body(std::string_view chunk) {
  if (signing_) signing_->body(chunk);
  if (check_) check_->body(chunk);
}

MessageOutcome AuthSession::end_of_message() {
  MessageOutcome outcome;
  // RFC 8601 5: an Authentication-Results claiming our authserv-id that arrived with the
  // message is a forgery (or a loop); it goes, whichever role this message has.
  int occurrence = 0;
  for (const HeaderField& field : headers_) {
    if (!ascii_iequals(field.name, kAuthResultsName)) continue;
    ++occurrence;
    if (claims_authserv_id(field.value, services_.settings->authserv_id)) {
      outcome.edits.push_back(
          HeaderEdit{HeaderEdit::Kind::kDelete, std::string(kAuthResultsName), "", occurrence});
    }
  }
  std::string removed =
      outcome.edits.empty() ? std::string() : fmt::format(" removed={}", outcome.edits.size());
  std::string truncated = headers_truncated_ ? " headers=truncated" : "";
  if (signing_) {
    Result<std::vector<std::string>> signatures = signing_->finish(headers_);
    if (!signatures) {
      outcome.log_line = fmt::format("{}: dkim not signed: {}{}{}", display(queue_id_),
                                     signatures.error().message, removed, truncated);
    } else {
      for (std::string& value : *signatures) {
        outcome.edits.push_back(
            HeaderEdit{HeaderEdit::Kind::kInsert, "DKIM-Signature", std::move(value), 0});
      }
      outcome.log_line = fmt::format("{}: dkim signed d={} signatures={}{}{}", display(queue_id_),
                                     signing_->domain(), signatures->size(), removed, truncated);
    }
  } else if (check_) {
    CheckOutcome checked = check_->finish(dns());
    outcome.edits.push_back(HeaderEdit{HeaderEdit::Kind::kInsert, std::string(kAuthResultsName),
                                       std::move(checked.authentication_results), 0});
    outcome.log_line =
        fmt::format("{}: {}{}{}", display(queue_id_), checked.summary, removed, truncated);
    if (checked.from_unusable && services_.settings->dmarc_enforcement) {
      // A From: with no single domain would let a forger step around DMARC: RFC 7489 6.6.1
      // allows refusing it, and with enforcement on we do.
      outcome.reject = true;
      outcome.reply_code = "550";
      outcome.reply_status = "5.7.1";
      outcome.reply_text =
          "Message rejected: " + checked.from_problem + " (DMARC needs exactly one author domain)";
      outcome.log_line += " action=reject";
    } else if (checked.dmarc_reject && services_.settings->dmarc_enforcement) {
      outcome.reject = true;
      outcome.reply_code = "550";
      outcome.reply_status = "5.7.1";
      outcome.reply_text =
          fmt::format("Message rejected: {} asks receivers to reject mail that fails DMARC",
                      checked.dmarc_domain);
      outcome.log_line += " action=reject";
    }
  } else if (role_ == MessageRole::kSign) {
    outcome.log_line = fmt::format("{}: dkim not signed: {}{}{}", display(queue_id_),
                                   not_signed_because_, removed, truncated);
  }
  reset_message();
  return outcome;
}

void AuthSession::abort() {
  reset_message();
}

void AuthSession::reset_message() {
  headers_.clear();
  header_bytes_ = 0;
  headers_truncated_ = false;
  signing_.reset();
  check_.reset();
  not_signed_because_.clear();
  if (dns_) dns_->clear_memo();
}

DnsLookup& AuthSession::dns() {
  if (dns_) return *dns_;
  if (dns_unavailable_) return *dns_unavailable_;
  DnsClientOptions options;
  options.resolver_address = services_.settings->resolver_address;
  options.timeout_ms = services_.settings->dns_timeout_ms;
  Result<std::unique_ptr<DnsLookupSession>> session =
      DnsLookupSession::create(options, services_.dns_cache);
  if (!session) {
    log::warning("DNS: {}", session.error().message);
    dns_unavailable_ = std::make_unique<UnavailableDns>(session.error().message);
    return *dns_unavailable_;
  }
  dns_ = std::move(session).value();
  return *dns_;
}

}  // namespace postern::authmilter
