// SPF's checks of domain names before a DNS question: label and name limits, multi-label
// identities, RFC 7208 7.3 truncation, subdomain matching for ptr and the p macro. Names are
// hostile; every function only reads the name it is given.
#include "lib/spf/spf_domain.hpp"

#include "lib/base/ascii.hpp"

namespace postern::spf {

std::string_view spf_without_trailing_dot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

bool spf_domain_is_valid(std::string_view name, bool require_multi_label) {
  name = spf_without_trailing_dot(name);
  if (name.empty() || name.size() > kMaxSpfDomainBytes) return false;
  if (name.front() == '[') return false;
  size_t labels = 0;
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    size_t length = dot - start;
    if (length == 0 || length > kMaxSpfLabelBytes) return false;
    ++labels;
    start = dot + 1;
  }
  return !require_multi_label || labels >= 2;
}

std::string spf_truncate_domain(std::string_view name) {
  name = spf_without_trailing_dot(name);
  while (name.size() > kMaxSpfDomainBytes) {
    size_t dot = name.find('.');
    if (dot == std::string_view::npos) return std::string();
    name.remove_prefix(dot + 1);
  }
  return std::string(name);
}

bool spf_domain_within(std::string_view name, std::string_view domain) {
  name = spf_without_trailing_dot(name);
  domain = spf_without_trailing_dot(domain);
  if (domain.empty() || name.size() < domain.size()) return false;
  if (!ascii_iequals(name.substr(name.size() - domain.size()), domain)) return false;
  return name.size() == domain.size() || name[name.size() - domain.size() - 1] == '.';
}

}  // namespace postern::spf
