// The header block of a stored message read into fields (see arc_header_block.hpp). Bounded by
// kMaxArcHeaderBlockBytes (checked as each line grows, so a line without an end cannot grow
// memory past it) and kMaxArcHeaderBlockFields.
#include "lib/arc/arc_header_block.hpp"

namespace postern {
namespace {

std::string_view without_line_end(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return text;
}

bool is_field_name_char(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f && c != ':';
}

}  // namespace

Result<size_t> ArcHeaderBlockReader::add(std::string_view chunk) {
  if (failed_) return Error::parse("header block already failed");
  if (done_) return size_t{0};
  size_t used = 0;
  while (used < chunk.size() && !done_) {
    size_t eol = chunk.find('\n', used);
    size_t end = eol == std::string_view::npos ? chunk.size() : eol + 1;
    line_.append(chunk.substr(used, end - used));
    used = end;
    // Room for the last line's end and the empty line (at most 4 bytes) past the limit, so the
    // verdict is the same whatever the chunk sizes.
    if (line_bytes_ + line_.size() > kMaxArcHeaderBlockBytes + 4) {
      failed_ = true;
      return Error::limit("message header block too large to seal");
    }
    if (eol != std::string_view::npos) {
      if (Status s = end_line(); !s) {
        failed_ = true;
        return s.error();
      }
    }
  }
  consumed_ += used;
  return used;
}

Status ArcHeaderBlockReader::end_line() {
  std::string line = std::move(line_);
  line_.clear();
  if (without_line_end(line).empty()) {
    done_ = true;
    return flush_field();
  }
  line_bytes_ += line.size();
  if (line_bytes_ > kMaxArcHeaderBlockBytes) {
    return Error::limit("message header block too large to seal");
  }
  if (line[0] == ' ' || line[0] == '\t') {
    if (field_.empty()) return Error::parse("header block begins with a continuation line");
    field_ += line;
    return {};
  }
  if (Status s = flush_field(); !s) return s;
  field_ = std::move(line);
  return {};
}

Status ArcHeaderBlockReader::flush_field() {
  if (field_.empty()) return {};
  std::string_view field = without_line_end(field_);
  size_t colon = field.find(':');
  if (colon == std::string_view::npos) return Error::parse("header line without a colon");
  std::string_view name = field.substr(0, colon);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  if (name.empty()) return Error::parse("header field without a name");
  for (char c : name) {
    if (!is_field_name_char(c)) return Error::parse("header field name with a bad character");
  }
  if (headers_.size() == kMaxArcHeaderBlockFields) {
    return Error::limit("too many header fields to seal");
  }
  headers_.push_back(DkimHeader{std::string(name), std::string(field.substr(colon + 1))});
  field_.clear();
  return {};
}

Status ArcHeaderBlockReader::finish() {
  if (failed_) return Error::parse("header block already failed");
  if (done_) return {};
  if (!line_.empty()) {
    line_ += "\r\n";  // the last line had no end: take it as ended
    if (Status s = end_line(); !s) {
      failed_ = true;
      return s;
    }
  }
  if (!done_) {
    done_ = true;
    if (Status s = flush_field(); !s) {
      failed_ = true;
      return s;
    }
  }
  return {};
}

}  // namespace postern
