// The header list, body and edits of a message under milter inspection (see
// milter_message.hpp). Everything here works on bytes already bounded: the header section by
// kMaxHeaderSectionBytes, a milter's packet by kMaxMilterPacketBytes.
#include "lib/milter/milter_message.hpp"

#include "lib/base/ascii.hpp"

namespace postern::milter {
namespace {

constexpr size_t kReadBytes = 64 * 1024;

bool is_field_name_char(char c) {
  return c > ' ' && c < 127 && c != ':';
}

bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}

// The length of the field name of a line, 0 when the line is not a header field.
size_t field_name_length(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && is_field_name_char(line[i])) ++i;
  if (i == 0 || i >= line.size() || line[i] != ':') return 0;
  return i;
}

std::string_view strip_line_end(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

Result<MilterMessage> MilterMessage::read(MessageSpool& spool, std::string spool_dir,
                                          std::string_view own_header) {
  MilterMessage message(spool, std::move(spool_dir));
  for (std::string_view rest = own_header; !rest.empty();) {
    size_t lf = rest.find('\n');
    std::string_view line =
        strip_line_end(rest.substr(0, lf == std::string_view::npos ? rest.size() : lf + 1));
    rest.remove_prefix(lf == std::string_view::npos ? rest.size() : lf + 1);
    if (line.empty()) continue;
    if (is_wsp(line[0]) && !message.headers_.empty()) {
      message.headers_.back().value += "\r\n";
      message.headers_.back().value += line;
    } else if (size_t name_length = field_name_length(line); name_length > 0) {
      message.headers_.push_back(HeaderField{std::string(line.substr(0, name_length)),
                                             std::string(line.substr(name_length + 1)), true});
    }
  }
  std::string section;
  if (Status st = spool.read(0, kMaxHeaderSectionBytes, section); !st) return st.error();
  size_t pos = 0;
  while (pos < section.size()) {
    size_t lf = section.find('\n', pos);
    if (lf == std::string::npos) {
      // The last line has no end: a header field only when the message ends here (a message
      // that is all header); otherwise the section was cut by the bound and the rest is body.
      if (section.size() < kMaxHeaderSectionBytes)
        lf = section.size() - 1;
      else
        break;
    }
    std::string_view line(section.data() + pos, lf + 1 - pos);
    std::string_view content = strip_line_end(line);
    if (content.empty()) {  // the empty line that ends the section
      message.has_separator_ = true;
      pos = lf + 1;
      break;
    }
    if (is_wsp(content[0]) && !message.headers_.empty()) {  // a fold of the field before
      std::string& value = message.headers_.back().value;
      value += "\r\n";
      value += content;
      pos = lf + 1;
      continue;
    }
    size_t name_length = field_name_length(content);
    if (name_length == 0 || message.headers_.size() >= kMaxHeaderFields) break;  // body begins
    message.headers_.push_back(HeaderField{std::string(content.substr(0, name_length)),
                                           std::string(content.substr(name_length + 1)), false});
    pos = lf + 1;
  }
  message.body_offset_ = pos;
  message.body_starts_with_wsp_ = pos == 0 && !section.empty() && is_wsp(section[0]);
  return message;
}

std::string MilterMessage::value_for_milter(std::string_view value, bool leading_space) {
  // Without the leading-space option the one space after the colon is not part of the value
  // (further white space is, as Postfix sends it).
  if (!leading_space && !value.empty() && is_wsp(value.front())) value.remove_prefix(1);
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\r' && i + 1 < value.size() && value[i + 1] == '\n') continue;
    out += value[i];
  }
  return out;
}

std::string MilterMessage::value_from_milter(std::string_view value, bool leading_space) {
  std::string out;
  out.reserve(value.size() + 8);
  if (!leading_space) out += ' ';
  bool line_start = false;
  for (char c : value) {
    if (c == '\0' || c == '\r') continue;
    if (c == '\n') {
      line_start = true;
      continue;
    }
    if (line_start) {
      // A line break inside a value must be a fold: never an empty line (the end of the header
      // section) or a line that could read as a new field.
      out += "\r\n";
      if (!is_wsp(c)) out += '\t';
      line_start = false;
    }
    out += c;
  }
  return out;
}

uint64_t MilterMessage::body_size() const {
  if (replaced_body_) return replaced_body_->size();
  return spool_->size() > body_offset_ ? spool_->size() - body_offset_ : 0;
}

Status MilterMessage::read_body(uint64_t offset, size_t max, std::string& out) {
  if (replaced_body_) return replaced_body_->read(offset, max, out);
  return spool_->read(body_offset_ + offset, max, out);
}

void MilterMessage::add_header(std::string_view name, std::string_view value, bool leading_space) {
  if (headers_.size() >= kMaxHeaderFields) return;
  headers_.push_back(
      HeaderField{std::string(name), value_from_milter(value, leading_space), false});
  edited_ = true;
}

void MilterMessage::insert_header(uint32_t index, std::string_view name, std::string_view value,
                                  bool leading_space) {
  if (headers_.size() >= kMaxHeaderFields) return;
  size_t at = std::min<size_t>(index, headers_.size());
  headers_.insert(headers_.begin() + static_cast<std::ptrdiff_t>(at),
                  HeaderField{std::string(name), value_from_milter(value, leading_space), false});
  edited_ = true;
}

void MilterMessage::change_header(std::string_view name, uint32_t index, std::string_view value,
                                  bool leading_space) {
  if (index == 0) index = 1;  // Sendmail treats 0 as the first occurrence too
  uint32_t seen = 0;
  for (size_t i = 0; i < headers_.size(); ++i) {
    if (headers_[i].hidden || !ascii_iequals(headers_[i].name, name)) continue;
    if (++seen != index) continue;
    if (value.empty()) {
      headers_.erase(headers_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      headers_[i].value = value_from_milter(value, leading_space);
    }
    edited_ = true;
    return;
  }
  if (!value.empty()) add_header(name, value, leading_space);
}

Status MilterMessage::begin_body_replacement() {
  Result<MessageSpool> spool = MessageSpool::create(spool_dir_);
  if (!spool) return spool.error();
  replaced_body_.emplace(std::move(spool).value());
  edited_ = true;
  return Status::success();
}

Status MilterMessage::append_body_replacement(std::string_view piece, uint64_t size_limit) {
  if (!replaced_body_) {
    if (Status st = begin_body_replacement(); !st) return st;
  }
  if (size_limit != 0 && replaced_body_->size() + piece.size() > size_limit) {
    return Error::limit("replaced body exceeds message_size_limit");
  }
  replaced_body_->append(piece);
  if (replaced_body_->error()) return *replaced_body_->error();
  return Status::success();
}

Status MilterMessage::write(const std::function<Status(std::string_view)>& sink) {
  std::string text;
  for (const HeaderField& field : headers_) {
    text.clear();
    text += field.name;
    text += ':';
    text += field.value;
    text += "\r\n";
    if (Status st = sink(text); !st) return st;
  }
  // A body that no empty line preceded (a line that is no field ended the header section)
  // stays that way, unless a milter replaced it, or its first line would read as the fold of
  // a field a milter added to a message that had none.
  if (has_separator_ || replaced_body_ || (body_starts_with_wsp_ && !headers_.empty())) {
    if (Status st = sink("\r\n"); !st) return st;
  }
  const uint64_t size = body_size();
  std::string chunk;
  for (uint64_t offset = 0; offset < size; offset += chunk.size()) {
    if (Status st = read_body(offset, kReadBytes, chunk); !st) return st;
    if (chunk.empty()) return Error::parse("message spool ended early");
    if (Status st = sink(chunk); !st) return st;
  }
  return Status::success();
}

}  // namespace postern::milter
