// libFuzzer target for lib/net/dns_message.cpp (parse_dns_message, select_dns_answer):
// lib/net/dns_client runs both on every datagram and TCP answer that arrives from the resolver,
// for relay's MX lookup and for SPF, DKIM and DMARC. The input is one DNS message. Besides
// crashes and sanitizer reports it checks that accepted messages respect the name, count and TXT
// string limits, that decoded addresses and names are well formed, and that the selected answer
// holds only records of the asked type owned by the end of a bounded CNAME chain.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lib/net/dns_message.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_name(const std::string& name) {
  check(name.size() < postern::kMaxDnsNameBytes);
  if (!name.empty()) check(postern::check_dns_name(name).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  postern::Result<postern::DnsMessage> message = postern::parse_dns_message(bytes);
  if (!message) return 0;
  check(size >= 12);
  check(message->rcode >= 0 && message->rcode <= 15);
  check_name(message->question_name);
  check(message->answers.size() <= postern::kMaxDnsAnswers);
  for (const postern::DnsRecord& record : message->answers) {
    check_name(record.name);
    check_name(record.target);
    check(record.strings.size() <= postern::kMaxDnsTxtStrings);
    if (record.type == postern::kDnsTypeTxt && record.klass == postern::kDnsClassIn) {
      check(!record.strings.empty());
      size_t joined = 0;
      for (const std::string& piece : record.strings) {
        check(piece.size() <= 255);
        joined += piece.size();
      }
      check(record.joined_text().size() == joined);
    } else {
      check(record.strings.empty());
    }
    if (!record.address.empty()) {
      unsigned char raw[16];
      int family = record.type == postern::kDnsTypeA ? AF_INET : AF_INET6;
      check(inet_pton(family, record.address.c_str(), raw) == 1);
    }
  }
  postern::Result<postern::DnsAnswerSet> selected = postern::select_dns_answer(*message);
  if (selected) {
    check_name(selected->canonical_name);
    for (const postern::DnsRecord& record : selected->records) {
      check(record.type == message->question_type && record.klass == postern::kDnsClassIn);
      check(record.name == selected->canonical_name);
      check(record.ttl >= selected->ttl_seconds);
    }
    check(selected->records.empty() == (selected->kind != postern::DnsAnswerKind::kRecords));
  }
  // A query built for the parsed question must itself parse back to the same question.
  if (!message->question_name.empty()) {
    postern::Result<std::string> query =
        postern::build_dns_query(message->id, message->question_name, message->question_type);
    check(query.ok());
    postern::Result<postern::DnsMessage> again = postern::parse_dns_message(*query);
    check(again.ok() && again->question_name == message->question_name &&
          again->question_type == message->question_type && !again->response);
  }
  return 0;
}
