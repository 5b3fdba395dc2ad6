// RFC 8601 text for DKIM results; see dkim_result.hpp. Values reach here already checked;
// this file still refuses to write anything that is not a safe token.
#include "lib/dkim/dkim_result.hpp"

namespace postern {
namespace {

// RFC 2045 token characters, minus '/', which header.b values may hold and a token may not.
bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c <= 0x20 || c >= 0x7f) return false;
    if (std::string_view("()<>@,;:\\\"/[]?=").find(c) != std::string_view::npos) return false;
  }
  return true;
}

// Text for a quoted-string: printable ASCII; '"' and '\' escaped.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c < 0x20 || c >= 0x7f) {
      out += '?';
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// An identity "local@domain" or "@domain" with only plain characters; anything else is left out.
bool is_plain_identity(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view(".-_+@").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string_view dkim_status_name(DkimStatus status) {
  switch (status) {
    case DkimStatus::kNone:
      return "none";
    case DkimStatus::kPass:
      return "pass";
    case DkimStatus::kFail:
      return "fail";
    case DkimStatus::kNeutral:
      return "neutral";
    case DkimStatus::kPolicy:
      return "policy";
    case DkimStatus::kTemperror:
      return "temperror";
    case DkimStatus::kPermerror:
      return "permerror";
  }
  return "none";
}

std::string DkimResult::resinfo() const {
  std::string out = "dkim=";
  out += dkim_status_name(status);
  if (!reason.empty()) out += " reason=" + quoted(reason);
  if (is_token(domain)) out += " header.d=" + domain;
  if (is_plain_identity(identity)) out += " header.i=" + identity;
  if (is_token(selector)) out += " header.s=" + selector;
  if (is_token(algorithm)) out += " header.a=" + algorithm;
  if (!b_prefix.empty()) {
    out += " header.b=";
    out += is_token(b_prefix) ? b_prefix : quoted(b_prefix);
  }
  return out;
}

}  // namespace postern
