// Writes Authentication-Results values: see authres_writer.hpp for what is quoted and why.
#include "lib/authres/authres_writer.hpp"

#include <utility>

namespace postern {
namespace {

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!is_authres_token_char(c)) return false;
  }
  return true;
}

// Dot-separated tokens, no empty label: "example.org", "first.last".
bool is_dotted_tokens(std::string_view text) {
  if (text.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = text.find('.', start);
    std::string_view label =
        text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!is_token(label)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u >= 0x7f) {
      out += '?';
    } else if (c == '\t') {
      out += ' ';
    } else {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string comment_text(std::string_view text) {
  std::string out;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
      out += '?';
    } else {
      if (c == '(' || c == ')' || c == '\\') out += '\\';
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string authres_quote_value(std::string_view text) {
  return is_token(text) ? std::string(text) : quoted(text);
}

std::string authres_quote_pvalue(std::string_view text) {
  if (is_token(text)) return std::string(text);
  size_t at = text.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view local = text.substr(0, at);
    std::string_view domain = text.substr(at + 1);
    if ((local.empty() || is_dotted_tokens(local)) && is_dotted_tokens(domain)) {
      return std::string(text);
    }
  }
  return quoted(text);
}

std::string format_authres_resinfo(const AuthResultsInfo& info) {
  std::string out = info.method;
  if (!info.method_version.empty()) out += "/" + info.method_version;
  out += "=" + info.result;
  if (!info.comment.empty()) out += " (" + comment_text(info.comment) + ")";
  if (!info.reason.empty()) out += " reason=" + authres_quote_value(info.reason);
  for (const AuthResultsProperty& property : info.properties) {
    out +=
        " " + property.ptype + "." + property.property + "=" + authres_quote_pvalue(property.value);
  }
  return out;
}

AuthResultsBuilder::AuthResultsBuilder(std::string authserv_id)
    : authserv_id_(std::move(authserv_id)) {}

void AuthResultsBuilder::add(std::string resinfo) {
  // Our formatters never put a line break in a resinfo; should one come anyway, it must not
  // end the header field.
  for (char& c : resinfo) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  resinfos_.push_back(std::move(resinfo));
}

std::string AuthResultsBuilder::value() const {
  std::string out = " " + authres_quote_value(authserv_id_) + ";";
  if (resinfos_.empty()) return out + " none";
  for (size_t i = 0; i < resinfos_.size(); ++i) {
    out += "\r\n\t" + resinfos_[i];
    if (i + 1 < resinfos_.size()) out += ";";
  }
  return out;
}

}  // namespace postern
