// DKIM canonicalization; see dkim_canonicalization.hpp. The body state machine works byte by
// byte on hostile text with a bounded buffer; runs of blank lines are held as a count.
#include "lib/dkim/dkim_canonicalization.hpp"

#include "lib/base/ascii.hpp"

namespace postern {
namespace {

bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}

std::string to_crlf(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 8);
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r')) out += '\r';
    out += value[i];
  }
  return out;
}

}  // namespace

std::string dkim_canonicalize_header(DkimCanon canon, std::string_view name,
                                     std::string_view value) {
  if (canon == DkimCanon::kSimple) return std::string(name) + ":" + to_crlf(value) + "\r\n";
  std::string out = ascii_lowercase(name);
  // Trailing WSP of the name goes too (relaxed: "delete any WSP before the colon").
  while (!out.empty() && is_wsp(out.back())) out.pop_back();
  out += ':';
  size_t start = out.size();
  bool space = false;
  for (char c : value) {
    if (c == '\r' || c == '\n') continue;  // unfold
    if (is_wsp(c)) {
      space = true;
      continue;
    }
    if (space && out.size() > start) out += ' ';
    space = false;
    out += c;
  }
  out += "\r\n";
  return out;
}

DkimBodyCanonicalizer::DkimBodyCanonicalizer(DkimCanon canon, std::optional<uint64_t> limit,
                                             Sink sink)
    : canon_(canon), limit_(limit), sink_(std::move(sink)) {
  buffer_.reserve(kDkimCanonBufferBytes);
}

void DkimBodyCanonicalizer::emit(std::string_view bytes) {
  for (char c : bytes) {
    ++produced_;
    if (limit_ && produced_ > *limit_) continue;
    buffer_ += c;
    if (buffer_.size() == kDkimCanonBufferBytes) flush();
  }
}

void DkimBodyCanonicalizer::flush() {
  if (!buffer_.empty()) sink_(buffer_);
  buffer_.clear();
}

void DkimBodyCanonicalizer::content(char c) {
  for (; blank_lines_ > 0; --blank_lines_) emit("\r\n");
  if (pending_space_) {
    emit(" ");
    pending_space_ = false;
  }
  emit(std::string_view(&c, 1));
  line_started_ = true;
}

void DkimBodyCanonicalizer::line_end() {
  pending_space_ = false;  // relaxed: whitespace at the end of a line goes
  if (line_started_) {
    emit("\r\n");
    line_started_ = false;
  } else {
    ++blank_lines_;
  }
}

void DkimBodyCanonicalizer::add(std::string_view chunk) {
  for (char c : chunk) {
    if (pending_cr_) {
      pending_cr_ = false;
      if (c == '\n') {
        line_end();
        continue;
      }
      content('\r');  // a lone CR is ordinary text
    }
    if (c == '\r') {
      pending_cr_ = true;
    } else if (c == '\n') {
      line_end();
    } else if (canon_ == DkimCanon::kRelaxed && is_wsp(c)) {
      pending_space_ = true;
    } else {
      content(c);
    }
  }
}

void DkimBodyCanonicalizer::finish() {
  if (pending_cr_) {
    pending_cr_ = false;
    content('\r');
  }
  pending_space_ = false;
  if (line_started_) {
    emit("\r\n");  // a last line without CRLF gets one (both canonicalizations)
    line_started_ = false;
  } else if (canon_ == DkimCanon::kSimple && produced_ == 0) {
    emit("\r\n");  // simple: an empty body is one CRLF
  }
  blank_lines_ = 0;
  flush();
}

std::string dkim_header_hash_input(DkimCanon canon, const std::vector<DkimHeader>& headers,
                                   const std::vector<std::string>& signed_headers,
                                   std::string_view signature_name,
                                   std::string_view signature_value) {
  std::string out;
  std::vector<bool> used(headers.size(), false);
  for (const std::string& name : signed_headers) {
    for (size_t i = headers.size(); i-- > 0;) {
      if (used[i] || !ascii_iequals(headers[i].name, name)) continue;
      used[i] = true;
      out += dkim_canonicalize_header(canon, headers[i].name, headers[i].value);
      break;
    }
  }
  std::string own = dkim_canonicalize_header(canon, signature_name, signature_value);
  own.resize(own.size() - 2);  // no CRLF after the signature's own field
  out += own;
  return out;
}

}  // namespace postern
