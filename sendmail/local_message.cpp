// Wire form and header completion for locally submitted mail (see local_message.hpp).
#include "sendmail/local_message.hpp"

#include <fmt/format.h>

#include <optional>

#include "lib/base/ascii.hpp"
#include "lib/mime/message_headers.hpp"
#include "sendmail/header_qualify.hpp"

namespace postern::sendmail {

// --- text -> wire form

bool WireMessageBuilder::feed(std::string_view chunk) {
  for (char c : chunk) {
    if (ended_) return true;
    if (c == '\n') {
      end_line();
    } else {
      line_.push_back(c);
      if (line_.size() > max_bytes_) {
        over_limit_ = true;
        line_.clear();
      }
    }
  }
  return ended_;
}

void WireMessageBuilder::finish() {
  if (!ended_ && !line_.empty()) end_line();
  ended_ = true;
}

void WireMessageBuilder::end_line() {
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  if (!ignore_dots_ && line_ == ".") {
    ended_ = true;
    line_.clear();
    return;
  }
  if (!over_limit_ && wire_.size() + line_.size() + 2 > max_bytes_) over_limit_ = true;
  if (!over_limit_) {
    wire_ += line_;
    wire_ += "\r\n";
  }
  line_.clear();
}

// --- the header section

namespace {

struct Field {
  std::string name;  // as written
  std::string text;  // the whole field, every line with its CRLF
};

bool is_field_start(std::string_view line) {
  size_t pos = 0;
  while (pos < line.size() && line[pos] > ' ' && line[pos] < 0x7f && line[pos] != ':') ++pos;
  if (pos == 0) return false;
  size_t name_end = pos;
  while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
  return pos < line.size() && line[pos] == ':' && name_end > 0;
}

std::string field_name(std::string_view line) {
  size_t pos = 0;
  while (pos < line.size() && line[pos] > ' ' && line[pos] != ':') ++pos;
  return std::string(line.substr(0, pos));
}

// The value after the colon, unfolded (CRLF before white space removed), without the last CRLF.
std::string field_value(const Field& field) {
  std::string_view text = field.text;
  text.remove_prefix(text.find(':') + 1);
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      ++i;
      continue;
    }
    out.push_back(text[i]);
  }
  return out;
}

bool has_field(const std::vector<Field>& fields, std::string_view name) {
  for (const Field& field : fields) {
    if (ascii_iequals(field.name, name)) return true;
  }
  return false;
}

bool is_atext_phrase(std::string_view name) {
  for (unsigned char c : name) {
    const char lower = ascii_lower(static_cast<char>(c));
    if (c >= 0x80 || c == ' ' || (c >= '0' && c <= '9') || (lower >= 'a' && lower <= 'z')) {
      continue;
    }
    if (std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) ==
        std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::string from_field(const LocalHeaderFixups& fixups) {
  std::string name;
  for (char c : fixups.full_name) {
    if (c != '\r' && c != '\n') name.push_back(c);
  }
  if (name.empty()) return fmt::format("From: {}\r\n", fixups.from_address);
  if (!is_atext_phrase(name)) {
    std::string quoted = "\"";
    for (char c : name) {
      if (c == '"' || c == '\\') quoted.push_back('\\');
      quoted.push_back(c);
    }
    name = quoted + "\"";
  }
  return fmt::format("From: {} <{}>\r\n", name, fixups.from_address);
}

// The field with its bare names qualified; its last CRLF kept.
std::string qualified_field(const Field& field, std::string_view origin) {
  std::string_view text = field.text;
  size_t colon = text.find(':');
  const bool crlf = text.size() >= 2 && text.substr(text.size() - 2) == "\r\n";
  std::string_view value = text.substr(colon + 1, text.size() - colon - 1 - (crlf ? 2 : 0));
  std::string out(text.substr(0, colon + 1));
  out += qualify_address_list(value, origin);
  if (crlf) out += "\r\n";
  return out;
}

}  // namespace

Result<PreparedMessage> prepare_local_message(std::string_view wire,
                                              const LocalHeaderFixups& fixups) {
  size_t pos = 0;
  auto next_line = [&](size_t at) {
    size_t end = wire.find("\r\n", at);
    return end == std::string_view::npos ? wire.size() : end + 2;
  };
  if (wire.substr(0, 5) == "From ") pos = next_line(0);  // an mbox envelope line

  std::vector<Field> fields;
  size_t header_bytes = 0;
  while (pos < wire.size()) {
    size_t end = next_line(pos);
    std::string_view line = wire.substr(pos, end - pos);
    std::string_view bare = line.substr(0, line.size() >= 2 ? line.size() - 2 : 0);
    if (bare.empty()) {  // the empty line that ends the header section
      pos = end;
      break;
    }
    bool continuation = (bare.front() == ' ' || bare.front() == '\t') && !fields.empty();
    if (!continuation && !is_field_start(bare)) break;  // the body starts here
    header_bytes += line.size();
    if (header_bytes > fixups.header_size_limit) {
      return Error::limit(fmt::format("the header section is larger than {} bytes",
                                      fixups.header_size_limit));
    }
    if (continuation) {
      fields.back().text += line;
    } else {
      if (fields.size() == kMaxLocalHeaderFields) {
        return Error::limit(fmt::format("more than {} header fields", kMaxLocalHeaderFields));
      }
      fields.push_back(Field{field_name(bare), std::string(line)});
    }
    pos = end;
  }
  std::string_view body = wire.substr(pos);

  PreparedMessage out;
  if (fixups.extract_recipients) {
    bool resent = false;
    for (const Field& field : fields) {
      if (ascii_iequals(std::string_view(field.name).substr(0, 7), "Resent-")) resent = true;
    }
    const std::string_view names[] = {resent ? "Resent-To" : "To", resent ? "Resent-Cc" : "Cc",
                                      resent ? "Resent-Bcc" : "Bcc"};
    for (const Field& field : fields) {
      bool wanted = false;
      for (std::string_view name : names) wanted = wanted || ascii_iequals(field.name, name);
      if (!wanted) continue;
      std::string value = field_value(field);
      if (value.find_first_not_of(" \t") == std::string::npos) continue;  // an empty Bcc:
      Result<std::vector<std::string>> addresses =
          parse_address_list(value, AddressListOptions{.allow_local_only = true});
      if (!addresses) {
        return Error::parse(fmt::format("{}: {}", field.name, addresses.error().message));
      }
      for (std::string& address : *addresses) out.header_recipients.push_back(std::move(address));
    }
  }

  std::string& message = out.wire;
  message.reserve(wire.size() + 512);
  for (const Field& field : fields) {
    if (ascii_iequals(field.name, "Bcc") || ascii_iequals(field.name, "Resent-Bcc")) continue;
    if (!fixups.origin.empty() && is_address_field(field.name)) {
      message += qualified_field(field, fixups.origin);
    } else {
      message += field.text;
    }
  }
  if (!has_field(fields, "From")) message += from_field(fixups);
  if (!has_field(fields, "Date")) {
    message += fmt::format("Date: {}\r\n", make_date_value(fixups.now));
  }
  if (!has_field(fields, "Message-ID")) {
    message += fmt::format("Message-ID: {}\r\n",
                           make_message_id(fixups.queue_id, fixups.hostname, fixups.now));
  }
  message += "\r\n";
  message += body;
  return out;
}

}  // namespace postern::sendmail
