// Qualifying bare names in address fields (see header_qualify.hpp). A small scanner: it splits
// the value into list elements at commas outside quotes, comments and angle brackets, and in
// each element finds where the address ends: before the '>' of an angle address, else after the
// last word outside comments. Groups ("name: a, b;") and source routes are left as written.
#include "sendmail/header_qualify.hpp"

#include "lib/base/ascii.hpp"

namespace postern::sendmail {
namespace {

constexpr std::string_view kAddressFields[] = {
    "From",        "Sender",        "Reply-To",        "To",        "Cc",        "Bcc",
    "Resent-From", "Resent-Sender", "Resent-Reply-To", "Resent-To", "Resent-Cc", "Resent-Bcc"};

// One list element, [begin, end) of value. Returns where "@origin" goes, or npos.
size_t insertion_point(std::string_view value, size_t begin, size_t end) {
  int comment_depth = 0;
  bool quoted = false;
  size_t angle_open = std::string_view::npos, angle_close = std::string_view::npos;
  size_t last_word_end = std::string_view::npos;
  bool at_outside = false;
  for (size_t i = begin; i < end; ++i) {
    char c = value[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
        last_word_end = i + 1;
      }
      continue;
    }
    if (comment_depth > 0) {
      if (c == '\\') {
        ++i;
      } else if (c == '(') {
        ++comment_depth;
      } else if (c == ')') {
        --comment_depth;
      }
      continue;
    }
    switch (c) {
      case '"':
        quoted = true;
        break;
      case '(':
        comment_depth = 1;
        break;
      case '<':
        if (angle_open != std::string_view::npos) return std::string_view::npos;  // "<<": not ours
        angle_open = i;
        at_outside = false;  // only the angle address counts from here
        break;
      case '>':
        // One '>' after the one '<'; anything else is not an address we understand.
        if (angle_open == std::string_view::npos || angle_close != std::string_view::npos) {
          return std::string_view::npos;
        }
        angle_close = i;
        break;
      case '@':
        at_outside = true;
        break;
      case ':':
      case ';':
        return std::string_view::npos;  // a group or a source route: not ours to touch
      default:
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') last_word_end = i + 1;
    }
  }
  if (quoted || comment_depth > 0 || at_outside) return std::string_view::npos;
  if (angle_open != std::string_view::npos) {
    if (angle_close == std::string_view::npos || angle_close == angle_open + 1) {
      return std::string_view::npos;  // "<>" or no closing bracket
    }
    return angle_close;
  }
  return last_word_end;
}

}  // namespace

bool is_address_field(std::string_view name) {
  for (std::string_view field : kAddressFields) {
    if (ascii_iequals(name, field)) return true;
  }
  return false;
}

std::string qualify_address_list(std::string_view value, std::string_view origin) {
  std::string out;
  out.reserve(value.size() + 32);
  size_t element_begin = 0;
  int comment_depth = 0;
  bool quoted = false;
  bool in_angle = false;
  auto finish_element = [&](size_t element_end) {
    size_t at = insertion_point(value, element_begin, element_end);
    if (at == std::string_view::npos) {
      out.append(value.substr(element_begin, element_end - element_begin));
    } else {
      out.append(value.substr(element_begin, at - element_begin));
      out.push_back('@');
      out.append(origin);
      out.append(value.substr(at, element_end - at));
    }
  };
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (quoted || comment_depth > 0) {
      if (c == '\\') {
        ++i;
      } else if (quoted && c == '"') {
        quoted = false;
      } else if (!quoted && c == '(') {
        ++comment_depth;
      } else if (!quoted && c == ')') {
        --comment_depth;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
    } else if (c == '(') {
      comment_depth = 1;
    } else if (c == '<') {
      in_angle = true;
    } else if (c == '>') {
      in_angle = false;
    } else if (c == ',' && !in_angle) {
      finish_element(i);
      out.push_back(',');
      element_begin = i + 1;
    }
  }
  if (quoted || comment_depth > 0) return std::string(value);  // malformed: leave it
  finish_element(value.size());
  return out;
}

}  // namespace postern::sendmail
