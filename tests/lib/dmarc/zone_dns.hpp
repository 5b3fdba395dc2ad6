// A DnsLookup over zone data a test writes: records by (name, type); a name with no record of
// any type (and none below it) is NXDOMAIN, an existing name without the asked type is NODATA;
// names listed as failing answer kTemporary. It counts the batches asked, so tests can check
// that the evaluator asks one batch.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "lib/base/ascii.hpp"
#include "lib/net/dns_lookup.hpp"

namespace postern {

class ZoneDns : public DnsLookup {
 public:
  void add(std::string name, uint16_t type, std::string value) {
    records_[{ascii_lowercase(name), type}].push_back(std::move(value));
  }
  void fail(std::string name) { failing_.insert(ascii_lowercase(name)); }

  std::vector<DnsAnswer> lookup(std::span<const DnsQuestion> questions) override {
    ++batches;
    std::vector<DnsAnswer> answers;
    for (const DnsQuestion& question : questions) {
      asked.push_back(question);
      answers.push_back(answer(ascii_lowercase(question.name), question.type));
    }
    return answers;
  }

  int batches = 0;
  std::vector<DnsQuestion> asked;

 private:
  DnsAnswer answer(const std::string& name, uint16_t type) const {
    DnsAnswer out;
    if (failing_.count(name)) {
      out.status = DnsLookupStatus::kTemporary;
      out.reason = "timeout";
      return out;
    }
    auto found = records_.find({name, type});
    if (found != records_.end()) {
      out.status = DnsLookupStatus::kOk;
      out.values = found->second;
      out.ttl_seconds = 300;
      return out;
    }
    out.status = exists(name) ? DnsLookupStatus::kOk : DnsLookupStatus::kNxDomain;
    return out;
  }

  bool exists(const std::string& name) const {
    for (const auto& [key, values] : records_) {
      const std::string& owner = key.first;
      if (owner == name) return true;
      if (owner.size() > name.size() && owner.ends_with("." + name)) return true;
    }
    return false;
  }

  std::map<std::pair<std::string, uint16_t>, std::vector<std::string>> records_;
  std::set<std::string> failing_;
};

}  // namespace postern
