// libFuzzer target for lib/net/dns_message.cpp (parse_dns_message): relay's MX lookup runs it on
// every datagram that arrives from the resolver. The input is one DNS message. Besides crashes
// and sanitizer reports it checks that accepted messages respect the name and count limits and
// that decoded addresses and names are well formed.
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
    if (!record.address.empty()) {
      unsigned char raw[16];
      int family = record.type == postern::kDnsTypeA ? AF_INET : AF_INET6;
      check(inet_pton(family, record.address.c_str(), raw) == 1);
    }
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
