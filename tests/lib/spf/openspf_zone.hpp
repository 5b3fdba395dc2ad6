// The openspf test suites' DNS (POSTERN_SHARED_TESTDATA/spf-openspf/*.yml): a DnsLookup that
// answers from one YAML document's `zonedata`, by the suite's own rules (its README and header
// comment): names match without regard to case; SPF-type (99) records answer a TXT question
// when the name lists no TXT of its own ("TXT: NONE" lists none but still counts as listing);
// a bare TIMEOUT item makes a question for that name time out (kTemporary) unless a record of
// the asked type was listed before it; CNAMEs are followed (a loop is kMalformed); a name the
// zone does not hold is NXDOMAIN, a held name without the asked type is NODATA. This is the
// suite's contract, not a mock: every answer comes from the suite's data. Test code only;
// yaml-cpp throws on a broken file, and the tests report that as a failure.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/ascii.hpp"
#include "lib/net/dns_lookup.hpp"
#include "lib/net/dns_message.hpp"

namespace postern::spf::testing {

class OpenSpfZone : public DnsLookup {
 public:
  explicit OpenSpfZone(const YAML::Node& zonedata) {
    if (!zonedata || !zonedata.IsMap()) return;
    for (const auto& entry : zonedata) {
      std::string name = normalise(entry.first.as<std::string>());
      std::vector<Item>& items = zone_[name];
      if (!entry.second.IsSequence()) continue;
      for (const YAML::Node& item : entry.second) {
        if (item.IsScalar()) {  // TIMEOUT
          if (item.as<std::string>() == "TIMEOUT") items.push_back(Item{"TIMEOUT", {}, 0, false});
          continue;
        }
        for (const auto& record : item) {
          Item parsed;
          parsed.type = record.first.as<std::string>();
          const YAML::Node& value = record.second;
          if (parsed.type == "MX") {
            parsed.preference = value[0].as<uint16_t>();
            parsed.value = normalise(value[1].as<std::string>());
          } else if (value.IsSequence()) {  // one TXT record of several character-strings
            for (const YAML::Node& piece : value) parsed.value += piece.as<std::string>();
          } else if (value.IsNull()) {
            parsed.value = "";
          } else {
            parsed.value = value.as<std::string>();
          }
          if ((parsed.type == "TXT" || parsed.type == "SPF") && !value.IsSequence() &&
              parsed.value == "NONE") {
            parsed.none = true;
          }
          if (parsed.type == "PTR" || parsed.type == "CNAME")
            parsed.value = normalise(parsed.value);
          items.push_back(std::move(parsed));
        }
      }
    }
  }

  std::vector<DnsAnswer> lookup(std::span<const DnsQuestion> questions) override {
    std::vector<DnsAnswer> answers;
    for (const DnsQuestion& question : questions) {
      ++questions_asked_;
      answers.push_back(answer(normalise(question.name), question.type, 0));
    }
    return answers;
  }

  size_t questions_asked() const { return questions_asked_; }

 private:
  struct Item {
    std::string type;  // TXT, SPF, A, AAAA, MX, PTR, CNAME, TIMEOUT
    std::string value;
    uint16_t preference = 0;
    bool none = false;  // "TXT: NONE"
  };

  static constexpr int kMaxCnameHops = 8;

  static std::string normalise(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    return ascii_lowercase(name);
  }

  static std::string type_name(uint16_t type) {
    switch (type) {
      case kDnsTypeA:
        return "A";
      case kDnsTypeAaaa:
        return "AAAA";
      case kDnsTypeMx:
        return "MX";
      case kDnsTypeTxt:
        return "TXT";
      case kDnsTypePtr:
        return "PTR";
      default:
        return "?";
    }
  }

  DnsAnswer answer(const std::string& name, uint16_t type, int hops) {
    DnsAnswer out;
    auto found = zone_.find(name);
    if (found == zone_.end()) {
      out.status = DnsLookupStatus::kNxDomain;
      out.reason = "NXDOMAIN";
      return out;
    }
    const std::vector<Item>& items = found->second;
    std::string wanted = type_name(type);
    bool txt_listed = false;
    for (const Item& item : items) txt_listed = txt_listed || item.type == "TXT";
    // SPF records stand in for TXT only where no TXT is listed.
    std::string also = (type == kDnsTypeTxt && !txt_listed) ? "SPF" : "";
    out.status = DnsLookupStatus::kOk;
    for (const Item& item : items) {
      if (item.type == "TIMEOUT") {
        if (out.values.empty()) {
          out = DnsAnswer{};
          out.status = DnsLookupStatus::kTemporary;
          out.reason = "timeout";
          return out;
        }
        continue;
      }
      if (item.type == "CNAME") {
        if (hops >= kMaxCnameHops) {
          DnsAnswer loop;
          loop.status = DnsLookupStatus::kMalformed;
          loop.reason = "CNAME loop";
          return loop;
        }
        return answer(item.value, type, hops + 1);
      }
      if ((item.type == wanted || (!also.empty() && item.type == also)) && !item.none) {
        out.values.push_back(item.value);
        if (type == kDnsTypeMx) out.preferences.push_back(item.preference);
      }
    }
    out.ttl_seconds = 300;
    return out;
  }

  std::map<std::string, std::vector<Item>> zone_;
  size_t questions_asked_ = 0;
};

}  // namespace postern::spf::testing
