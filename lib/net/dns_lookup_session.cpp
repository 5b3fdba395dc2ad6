// DnsLookup over lib/net/dns_client on a private event loop (see dns_lookup_session.hpp). Trusts
// nothing in an answer beyond what the client and dns_message have checked; bounded by the
// client's timeouts, kMaxDnsQueriesInFlight and kMaxDnsSessionMemo.
#include "lib/net/dns_lookup_session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "lib/base/ascii.hpp"
#include "lib/net/dns_cache.hpp"
#include "lib/net/dns_message.hpp"

namespace postern {

namespace {

// Slack on top of the client's worst case before the safety timer ends a loop.
constexpr int kDnsSessionSafetySlackMs = 1000;

bool supported_type(uint16_t type) {
  return type == kDnsTypeA || type == kDnsTypeAaaa || type == kDnsTypeMx || type == kDnsTypeTxt ||
         type == kDnsTypePtr;
}

std::string rcode_name(int rcode) {
  switch (rcode) {
    case kDnsFormErr:
      return "FORMERR";
    case kDnsServFail:
      return "SERVFAIL";
    case kDnsNotImp:
      return "NOTIMP";
    case kDnsRefused:
      return "REFUSED";
    default:
      return fmt::format("rcode {}", rcode);
  }
}

DnsAnswer failure(DnsLookupStatus status, std::string reason) {
  DnsAnswer answer;
  answer.status = status;
  answer.reason = std::move(reason);
  return answer;
}

}  // namespace

DnsAnswer dns_answer_from_client(const DnsClientAnswer& from) {
  switch (from.outcome) {
    case DnsClientOutcome::kAnswer:
      break;
    case DnsClientOutcome::kNxDomain:
      return failure(DnsLookupStatus::kNxDomain, "NXDOMAIN");
    case DnsClientOutcome::kServerError:
      return failure(DnsLookupStatus::kTemporary, rcode_name(from.rcode));
    case DnsClientOutcome::kTimeout:
      return failure(DnsLookupStatus::kTemporary, "timeout: " + from.reason);
    case DnsClientOutcome::kNetworkError:
      return failure(DnsLookupStatus::kTemporary, from.reason);
    case DnsClientOutcome::kMalformed:
      return failure(DnsLookupStatus::kMalformed, from.reason);
  }
  DnsAnswer answer;
  answer.status = DnsLookupStatus::kOk;
  answer.ttl_seconds = from.answer.ttl_seconds;
  for (const DnsRecord& record : from.answer.records) {
    switch (record.type) {
      case kDnsTypeA:
      case kDnsTypeAaaa:
        answer.values.push_back(record.address);
        break;
      case kDnsTypeMx:
        answer.values.push_back(record.target);
        answer.preferences.push_back(record.preference);
        break;
      case kDnsTypePtr:
        answer.values.push_back(record.target);
        break;
      case kDnsTypeTxt:
        answer.values.push_back(record.joined_text());
        break;
      default:
        break;
    }
  }
  return answer;
}

Result<std::unique_ptr<DnsLookupSession>> DnsLookupSession::create(DnsClientOptions options,
                                                                   DnsCache* cache) {
  EventBaseHandle base(event_base_new());
  if (!base) return Error::system("dns lookup session: event_base_new");
  Result<std::unique_ptr<DnsClient>> client = DnsClient::create(base.get(), std::move(options));
  if (!client) return client.error();
  return std::unique_ptr<DnsLookupSession>(
      new DnsLookupSession(std::move(base), std::move(*client), cache));
}

DnsLookupSession::DnsLookupSession(EventBaseHandle base, std::unique_ptr<DnsClient> client,
                                   DnsCache* cache)
    : base_(std::move(base)), client_(std::move(client)), cache_(cache) {}

DnsLookupSession::~DnsLookupSession() {
  client_.reset();  // its events before the base
}

std::vector<DnsAnswer> DnsLookupSession::lookup(std::span<const DnsQuestion> questions) {
  std::vector<DnsAnswer> answers(questions.size());
  std::vector<Key> keys(questions.size());
  std::vector<size_t> to_ask;
  std::map<Key, size_t> first_asked;  // a name asked twice in the batch goes out once
  std::vector<std::pair<size_t, size_t>> repeats;
  for (size_t i = 0; i < questions.size(); ++i) {
    const DnsQuestion& question = questions[i];
    if (!supported_type(question.type)) {
      answers[i] = failure(DnsLookupStatus::kMalformed,
                           fmt::format("DNS type {} not supported", question.type));
      continue;
    }
    if (Status checked = check_dns_name(question.name); !checked) {
      answers[i] = failure(DnsLookupStatus::kMalformed, checked.error().message);
      continue;
    }
    std::string name = ascii_lowercase(question.name);
    if (name.back() == '.') name.pop_back();
    keys[i] = Key{std::move(name), question.type};
    if (auto memo = memo_.find(keys[i]); memo != memo_.end()) {
      answers[i] = memo->second;
      continue;
    }
    if (cache_ != nullptr) {
      if (std::optional<DnsAnswer> cached = cache_->find(keys[i].first, question.type)) {
        answers[i] = std::move(*cached);
        if (memo_.size() < kMaxDnsSessionMemo) memo_.emplace(keys[i], answers[i]);
        continue;
      }
    }
    auto [first, inserted] = first_asked.emplace(keys[i], i);
    if (!inserted) {
      repeats.emplace_back(i, first->second);
      continue;
    }
    to_ask.push_back(i);
  }
  for (size_t start = 0; start < to_ask.size(); start += kMaxDnsQueriesInFlight) {
    size_t count = std::min(kMaxDnsQueriesInFlight, to_ask.size() - start);
    ask(questions, std::span<const size_t>(to_ask).subspan(start, count), answers);
  }
  for (size_t i : to_ask) {
    if (cache_ != nullptr) cache_->store(keys[i].first, keys[i].second, answers[i]);
    if (memo_.size() < kMaxDnsSessionMemo) memo_.emplace(keys[i], answers[i]);
  }
  for (const auto& [repeat, first] : repeats) answers[repeat] = answers[first];
  return answers;
}

void DnsLookupSession::ask(std::span<const DnsQuestion> questions, std::span<const size_t> indexes,
                           std::vector<DnsAnswer>& answers) {
  size_t outstanding = 0;
  std::vector<uint64_t> sent;  // client query IDs, parallel to indexes
  std::vector<bool> answered(indexes.size(), false);
  event_base* base = base_.get();
  for (size_t n = 0; n < indexes.size(); ++n) {
    size_t i = indexes[n];
    Result<uint64_t> id = client_->query(questions[i].name, questions[i].type,
                                         [&, n, i, base](DnsClientAnswer answer) {
                                           answers[i] = dns_answer_from_client(answer);
                                           answered[n] = true;
                                           if (--outstanding == 0) event_base_loopbreak(base);
                                         });
    if (!id) {
      answers[i] = failure(DnsLookupStatus::kMalformed, id.error().message);
      answered[n] = true;
      sent.push_back(0);
      continue;
    }
    sent.push_back(*id);
    ++outstanding;
    ++queries_sent_;
  }
  if (outstanding == 0) return;
  // The client ends every query on its own; this only guards against an event lost for good.
  const DnsClientOptions& options = client_->options();
  int64_t limit_ms =
      static_cast<int64_t>(options.attempts + 1) * options.timeout_ms + kDnsSessionSafetySlackMs;
  SingleEventHandle safety(evtimer_new(
      base,
      [](evutil_socket_t, short, void* arg) {
        event_base_loopbreak(static_cast<event_base*>(arg));
      },
      base));
  timeval limit{static_cast<time_t>(limit_ms / 1000),
                static_cast<suseconds_t>((limit_ms % 1000) * 1000)};
  if (safety) evtimer_add(safety.get(), &limit);
  event_base_dispatch(base);
  for (size_t n = 0; n < indexes.size(); ++n) {
    if (answered[n]) continue;
    client_->cancel(sent[n]);
    answers[indexes[n]] = failure(DnsLookupStatus::kTemporary, "timeout: no answer in time");
  }
}

}  // namespace postern
