// Test support for tests/lib/arc/: the ValiMail arc-test-suite (POSTERN_SHARED_TESTDATA/
// arc-test-suite, see its README and SCHEMA-upstream-README.md) read with yaml-cpp, a message of
// the suite split into header fields and body as the milter would pass them, and a DnsLookup
// over the suite's txt_records (the suite's contract: its keys, nothing else, NXDOMAIN for any
// other name). Trusted test data; a suite that does not load fails one named test.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/ascii.hpp"
#include "lib/dkim/dkim_canonicalization.hpp"
#include "lib/net/dns_lookup.hpp"

namespace postern::testing {

inline const std::string kArcSuiteFolder = std::string(POSTERN_SHARED_TESTDATA) + "/arc-test-suite";

struct ArcMessage {
  std::vector<DkimHeader> headers;
  std::string body;
};

// Header lines up to the first empty line (continuation lines joined with CRLF, the value
// everything after the colon), then the body with CRLF line ends.
inline ArcMessage split_arc_message(std::string_view raw) {
  ArcMessage message;
  size_t at = 0;
  while (at < raw.size()) {
    size_t eol = raw.find('\n', at);
    size_t next = eol == std::string_view::npos ? raw.size() : eol + 1;
    std::string_view line = raw.substr(at, next - at);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    at = next;
    if (line.empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !message.headers.empty()) {
      message.headers.back().value += "\r\n";
      message.headers.back().value += line;
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) colon = line.size();
    message.headers.push_back(
        DkimHeader{std::string(line.substr(0, colon)),
                   std::string(colon < line.size() ? line.substr(colon + 1) : std::string_view())});
  }
  for (; at < raw.size(); ++at) {
    if (raw[at] == '\n' && (message.body.empty() || message.body.back() != '\r')) {
      message.body += '\r';
    }
    message.body += raw[at];
  }
  return message;
}

// The suite's txt_records (either spelling of the key) as a zone.
class ArcSuiteZone : public DnsLookup {
 public:
  explicit ArcSuiteZone(const YAML::Node& document) {
    for (const char* key : {"txt_records", "txt-records"}) {
      if (!document[key]) continue;
      for (const auto& record : document[key]) {
        records_[ascii_lowercase(record.first.as<std::string>())] = record.second.as<std::string>();
      }
    }
  }
  std::vector<DnsAnswer> lookup(std::span<const DnsQuestion> questions) override {
    ++batches;
    std::vector<DnsAnswer> answers;
    for (const DnsQuestion& question : questions) {
      ++questions_asked;
      DnsAnswer answer;
      auto found = records_.find(ascii_lowercase(question.name));
      if (found == records_.end()) {
        answer.status = DnsLookupStatus::kNxDomain;
      } else {
        answer.status = DnsLookupStatus::kOk;
        answer.values.push_back(found->second);
      }
      answers.push_back(std::move(answer));
    }
    return answers;
  }
  int batches = 0;
  int questions_asked = 0;

 private:
  std::map<std::string, std::string> records_;
};

// A gtest-safe name from free text: letters and digits, runs of anything else as one '_'.
inline std::string arc_test_identifier(std::string_view text) {
  std::string out;
  bool gap = false;
  for (char c : text) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum) {
      if (gap && !out.empty()) out += '_';
      out += c;
      gap = false;
    } else {
      gap = true;
    }
  }
  return out;
}

}  // namespace postern::testing
