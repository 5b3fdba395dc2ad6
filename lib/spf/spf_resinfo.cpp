// RFC 8601 resinfo text for an SPF result. The property values are the client's MAIL FROM and
// HELO, hostile: quoted when they are not plain, control octets replaced.
#include "lib/spf/spf_resinfo.hpp"

#include <string_view>

namespace postern::spf {
namespace {

// RFC 5322 atext plus '.' and '@': a value made only of these needs no quotes (pvalue allows
// local-part "@" domain-name unquoted). Octets >= 0x80 (RFC 8616 UTF-8) are left as they are.
bool is_plain(char c) {
  auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x80) return true;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~.@").find(c) != std::string_view::npos;
}

std::string property_value(std::string_view value) {
  bool plain = !value.empty();
  for (char c : value) plain = plain && is_plain(c);
  if (plain) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      out += '?';
    } else {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
  }
  return out + '"';
}

}  // namespace

std::string spf_resinfo(const SpfResult& result, const SpfRequest& request) {
  std::string out = "spf=";
  out.append(spf_result_name(result.code));
  if (result.identity == SpfIdentity::kMailFrom && !request.mail_from.empty()) {
    out += " smtp.mailfrom=" + property_value(request.mail_from);
  } else {
    out += " smtp.helo=" + property_value(request.helo);
  }
  return out;
}

}  // namespace postern::spf
