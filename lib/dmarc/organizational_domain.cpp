// Organizational domains through libpsl: see organizational_domain.hpp. The libpsl context is
// created once (a function-local static, so thread-safe) and never freed: it lives as long as
// the process, like the list it holds.
#include "lib/dmarc/organizational_domain.hpp"

#include <libpsl.h>

#include "lib/base/ascii.hpp"
#include "lib/net/dns_message.hpp"

namespace postern {
namespace {

const psl_ctx_t* public_suffix_list() {
  static const psl_ctx_t* const list = [] {
    const psl_ctx_t* latest = psl_latest(nullptr);
    return latest != nullptr ? latest : psl_builtin();
  }();
  return list;
}

}  // namespace

Status preload_public_suffix_list() {
  if (public_suffix_list() == nullptr) {
    return Error::config("libpsl has no public suffix list (install the publicsuffix package)");
  }
  return Status::success();
}

Result<std::string> normalize_dmarc_domain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (!domain.empty() && domain.back() == '.') return Error::parse("empty label in domain");
  Status checked = check_dns_name(domain);
  if (!checked) return checked.error();
  for (char c : domain) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return Error::parse("control character or space in domain");
  }
  return ascii_lowercase(domain);
}

Result<std::string> organizational_domain(std::string_view domain) {
  Result<std::string> name = normalize_dmarc_domain(domain);
  if (!name) return name.error();
  const psl_ctx_t* list = public_suffix_list();
  if (list == nullptr) return Error::config("no public suffix list");
  const char* registrable = psl_registrable_domain(list, name->c_str());
  // nullptr: the name is itself a public suffix, so it is its own organizational domain.
  if (registrable == nullptr) return std::move(*name);
  return std::string(registrable);
}

}  // namespace postern
