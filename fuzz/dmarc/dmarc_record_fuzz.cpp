// libFuzzer target for lib/dmarc/dmarc_record.cpp (parse_dmarc_record) and, through it,
// lib/dmarc/dmarc_evaluator.cpp: postern-authmilter parses every TXT record found at a
// _dmarc name, which the sender's domain controls. The input is "from-domain\nrecord": the
// record is parsed alone, then served as the only TXT record of every _dmarc name to an
// evaluation of a message from that domain (SPF passing for example.org). Besides crashes and
// sanitizer reports it checks the parsed values' ranges and limits, that only a failing message
// gets a disposition other than none, and that the Authentication-Results clause written for
// the result parses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lib/authres/authres_parser.hpp"
#include "lib/dmarc/dmarc_evaluator.hpp"
#include "lib/dmarc/dmarc_record.hpp"
#include "lib/net/dns_message.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

// Every _dmarc TXT question gets the record; the From: domain exists.
class OneRecordDns : public postern::DnsLookup {
 public:
  explicit OneRecordDns(std::string record) : record_(std::move(record)) {}
  std::vector<postern::DnsAnswer> lookup(std::span<const postern::DnsQuestion> questions) override {
    std::vector<postern::DnsAnswer> answers;
    for (const postern::DnsQuestion& question : questions) {
      postern::DnsAnswer answer;
      answer.status = postern::DnsLookupStatus::kOk;
      if (question.type == postern::kDnsTypeTxt) answer.values.push_back(record_);
      answers.push_back(std::move(answer));
    }
    return answers;
  }

 private:
  std::string record_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  std::string_view from =
      newline == std::string_view::npos ? "example.org" : input.substr(0, newline);
  std::string_view record = newline == std::string_view::npos ? input : input.substr(newline + 1);

  postern::DmarcRecordParse parse = postern::parse_dmarc_record(record);
  if (parse.ok()) {
    check(record.size() <= postern::kMaxDmarcRecordBytes);
    check(parse.record.percent >= 0 && parse.record.percent <= 100);
    check(parse.record.rua.size() <= postern::kMaxDmarcReportUris);
    check(parse.record.ruf.size() <= postern::kMaxDmarcReportUris);
  } else {
    check(!parse.detail.empty());
  }

  OneRecordDns dns{std::string(record)};
  postern::DmarcRequest request;
  request.from_domain = std::string(from);
  request.spf = {postern::DmarcAuthResult::kPass, "example.org"};
  request.dkim = {{postern::DmarcAuthResult::kPass, std::string(from)}};
  request.random_percent = static_cast<int>(size % 100);
  postern::DmarcResult result = postern::evaluate_dmarc(dns, request);
  if (result.outcome != postern::DmarcOutcome::kFail) {
    check(result.disposition == postern::DmarcPolicy::kNone);
  }
  if (result.outcome == postern::DmarcOutcome::kPass) {
    check(result.spf_aligned || result.dkim_aligned);
  }
  std::string resinfo = postern::dmarc_resinfo(result);
  check(resinfo.find('\r') == std::string::npos && resinfo.find('\n') == std::string::npos);
  if (resinfo.size() < postern::kMaxAuthResItemBytes) {
    check(postern::parse_auth_results("mx.example.org; " + resinfo).ok());
  }
  return 0;
}
