// Shared by the DKIM tests and tests/support/dkim_tool: a message file split into the header
// fields and body the milter would hand over, and a DnsLookup that answers from the zone data
// the DKIM test suites ship (RFC 8463's zone file, Mail::DKIM's FAKE_DNS.dat, dkimpy's key
// files). Test code only; the files read are the suites' own, trusted.
#pragma once

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/ascii.hpp"
#include "lib/dkim/dkim_canonicalization.hpp"
#include "lib/net/dns_lookup.hpp"
#include "lib/net/dns_message.hpp"

namespace postern::dkim_test {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct SplitMessage {
  std::vector<DkimHeader> headers;
  std::string body;  // the bytes after the empty line, as in the file
};

// Splits at the first empty line (use parse_message, which also trims the values) ("\n" or "\r\n").
// A line starting with SP or TAB continues the field above; the value keeps its inner line breaks
// as written and loses the last one.
inline SplitMessage split_message(std::string_view raw) {
  SplitMessage message;
  size_t at = 0;
  while (at < raw.size()) {
    size_t eol = raw.find('\n', at);
    size_t next = eol == std::string_view::npos ? raw.size() : eol + 1;
    std::string_view line = raw.substr(at, next - at);
    std::string_view bare = line;
    if (!bare.empty() && bare.back() == '\n') bare.remove_suffix(1);
    if (!bare.empty() && bare.back() == '\r') bare.remove_suffix(1);
    if (bare.empty()) {
      at = next;
      message.body = std::string(raw.substr(at));
      return message;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !message.headers.empty()) {
      message.headers.back().value += std::string(line);
    } else {
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) colon = line.size();
      message.headers.push_back(
          DkimHeader{std::string(line.substr(0, colon)),
                     std::string(line.substr(std::min(colon + 1, line.size())))});
    }
    at = next;
  }
  return message;
}

// split_message leaves the last line break on each value while it collects continuation
// lines; this removes it.
inline void trim_values(SplitMessage& message) {
  for (DkimHeader& header : message.headers) {
    if (!header.value.empty() && header.value.back() == '\n') header.value.pop_back();
    if (!header.value.empty() && header.value.back() == '\r') header.value.pop_back();
  }
}

inline SplitMessage parse_message(std::string_view raw) {
  SplitMessage message = split_message(raw);
  trim_values(message);
  return message;
}

// A DnsLookup over TXT data held in memory; counts the batches it was asked.
class ZoneDns : public DnsLookup {
 public:
  void add_txt(const std::string& name, std::string value) {
    Entry& entry = entries_[ascii_lowercase(name)];
    entry.status = DnsLookupStatus::kOk;
    entry.values.push_back(std::move(value));
  }
  void set_status(const std::string& name, DnsLookupStatus status) {
    entries_[ascii_lowercase(name)].status = status;
  }

  // Zone-file lines: "<name>. IN TXT "s1" "s2"..." (';' comments); strings are joined.
  void load_zone_file(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == ';') continue;
      std::istringstream fields(line);
      std::string name, klass, type;
      fields >> name >> klass >> type;
      if (type != "TXT") continue;
      if (!name.empty() && name.back() == '.') name.pop_back();
      std::string value;
      bool quoted = false;
      for (size_t i = line.find("TXT") + 3; i < line.size(); ++i) {
        if (line[i] == '"') {
          quoted = !quoted;
        } else if (quoted) {
          value += line[i];
        }
      }
      add_txt(name, value);
    }
  }

  // Mail::DKIM's FAKE_DNS.dat: "<name> <value>", value NXDOMAIN, ~~Query timed out~~,
  // ~~SERVFAIL~~ or the record text ("" is an empty record).
  void load_fake_dns(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      size_t space = line.find_first_of(" \t");
      if (space == std::string::npos) continue;
      std::string name = line.substr(0, space);
      size_t start = line.find_first_not_of(" \t", space);
      std::string value = start == std::string::npos ? "" : line.substr(start);
      if (value == "NXDOMAIN") {
        set_status(name, DnsLookupStatus::kNxDomain);
      } else if (value.rfind("~~", 0) == 0) {
        set_status(name, DnsLookupStatus::kTemporary);
      } else {
        add_txt(name, value == "\"\"" ? "" : value);
      }
    }
  }

  std::vector<DnsAnswer> lookup(std::span<const DnsQuestion> questions) override {
    ++batches;
    asked += questions.size();
    std::vector<DnsAnswer> answers;
    for (const DnsQuestion& question : questions) {
      DnsAnswer answer;
      auto found = entries_.find(ascii_lowercase(question.name));
      if (question.type != kDnsTypeTxt || found == entries_.end()) {
        answer.status = DnsLookupStatus::kNxDomain;
      } else {
        answer.status = found->second.status;
        if (answer.status == DnsLookupStatus::kOk) answer.values = found->second.values;
      }
      answers.push_back(std::move(answer));
    }
    return answers;
  }

  int batches = 0;
  size_t asked = 0;

 private:
  struct Entry {
    DnsLookupStatus status = DnsLookupStatus::kOk;
    std::vector<std::string> values;
  };
  std::map<std::string, Entry> entries_;
};

}  // namespace postern::dkim_test
