// ENVELOPE / BODYSTRUCTURE / BODY text (lib/mime/mime_render.hpp) for imapd FETCH and the index
// cache. Input: a MimeTree of hostile mail (already bounded by its parse limits). The tree is
// walked with an explicit stack (no recursion), so deep nesting costs memory proportional to the
// depth only; the output is linear in the header sizes and the number of parts.
#include "lib/mime/mime_render.hpp"

#include <fmt/format.h>

#include "lib/base/ascii.hpp"
#include "lib/mime/mime_address.hpp"

namespace postern {

namespace {

constexpr size_t kMaxQuotedBytes = 4096;  // longer strings go out as literals

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Unfolded, with each run of white space (line ends included) made one space, leading white
// space dropped: what Dovecot shows for Subject:, Date:, Message-ID:, In-Reply-To:.
std::string collapse_space(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool space = false;
  for (char c : value) {
    if (is_space(c)) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  if (space && !out.empty()) out.push_back(' ');  // trailing white space stays, as one space
  return out;
}

void append_nstring(std::string& out, const std::optional<std::string>& text) {
  out += mime_nstring(text);
}

void append_params(std::string& out, const std::vector<MimeParameter>& params) {
  if (params.empty()) {
    out += "NIL";
    return;
  }
  out.push_back('(');
  for (size_t i = 0; i < params.size(); ++i) {
    if (i > 0) out.push_back(' ');
    out += mime_string(params[i].name);
    out.push_back(' ');
    out += mime_string(params[i].value);
  }
  out.push_back(')');
}

void append_address_list(std::string& out, std::optional<std::string_view> value) {
  if (!value) {
    out += "NIL";
    return;
  }
  std::vector<ImapAddress> addresses = parse_imap_address_list(*value);
  if (addresses.empty()) {
    out += "NIL";
    return;
  }
  out.push_back('(');
  for (const ImapAddress& address : addresses) {
    out.push_back('(');
    append_nstring(out, address.name);
    out.push_back(' ');
    append_nstring(out, address.adl);
    out.push_back(' ');
    append_nstring(out, address.mailbox);
    out.push_back(' ');
    append_nstring(out, address.host);
    out.push_back(')');
  }
  out.push_back(')');
}

// The disposition, language and location extension data of a part (after md5 or params).
void append_extension_tail(std::string& out, const MimePart& part) {
  out.push_back(' ');
  if (part.disposition) {
    out.push_back('(');
    out += mime_string(*part.disposition);
    out.push_back(' ');
    append_params(out, part.disposition_params);
    out.push_back(')');
  } else {
    out += "NIL";
  }
  out.push_back(' ');
  if (part.languages.empty()) {
    out += "NIL";
  } else {
    out.push_back('(');
    for (size_t i = 0; i < part.languages.size(); ++i) {
      if (i > 0) out.push_back(' ');
      out += mime_string(part.languages[i]);
    }
    out.push_back(')');
  }
  out.push_back(' ');
  append_nstring(out, part.location);
}

std::vector<MimeParameter> shown_params(const MimePart& part) {
  // A text part without a charset is us-ascii (RFC 2045 5.2); Dovecot shows it.
  if (part.is_type("text") && !mime_param(part.type_params, "charset")) {
    std::vector<MimeParameter> params;
    params.push_back(MimeParameter{"charset", "us-ascii"});
    params.insert(params.end(), part.type_params.begin(), part.type_params.end());
    return params;
  }
  return part.type_params;
}

// The fields of a single (non-multipart) body up to and including the size.
void append_basic_fields(std::string& out, const MimePart& part, std::string_view type,
                         std::string_view subtype, const std::vector<MimeParameter>& params) {
  out += mime_string(type);
  out.push_back(' ');
  out += mime_string(subtype);
  out.push_back(' ');
  append_params(out, params);
  out.push_back(' ');
  append_nstring(out, part.content_id);
  out.push_back(' ');
  append_nstring(out, part.description);
  out.push_back(' ');
  out += mime_string(part.transfer_encoding && !part.transfer_encoding->empty()
                         ? std::string_view(*part.transfer_encoding)
                         : std::string_view("7bit"));
  out += fmt::format(" {}", part.body_size());
}

class StructureWriter {
 public:
  StructureWriter(std::string_view message, const MimeTree& tree, bool extended)
      : message_(message), tree_(tree), extended_(extended) {}

  // Iterative walk: each stack entry is a part and how far its rendering has got.
  std::string run() {
    if (tree_.parts.empty()) return "NIL";
    struct Step {
      uint32_t part;
      size_t next_child;
    };
    std::vector<Step> stack;
    stack.push_back(Step{0, 0});
    while (!stack.empty()) {
      Step& step = stack.back();
      const MimePart& part = tree_.parts[step.part];
      if (part.is_multipart()) {
        if (step.next_child == 0) out_.push_back('(');
        if (part.children.empty()) {
          // At the nesting limit: one text/plain part standing for the whole body.
          if (step.next_child == 0) {
            out_.push_back('(');
            append_basic_fields(out_, part, "text", "plain", {{"charset", "us-ascii"}});
            out_ += fmt::format(" {}", part.body_lines);
            if (extended_) out_ += " NIL NIL NIL NIL";
            out_.push_back(')');
          }
        } else if (step.next_child < part.children.size()) {
          uint32_t child = part.children[step.next_child++];
          stack.push_back(Step{child, 0});
          continue;
        }
        out_.push_back(' ');
        out_ += mime_string(part.subtype);
        if (extended_) {
          out_.push_back(' ');
          append_params(out_, part.type_params);
          append_extension_tail(out_, part);
        }
        out_.push_back(')');
        stack.pop_back();
        continue;
      }
      bool message = part.is_type("message", "rfc822") || part.is_type("message", "global");
      if (message) {
        if (step.next_child == 0) {
          out_.push_back('(');
          // A parsed embedded message is shown in lower case, as Dovecot does.
          if (part.is_message()) {
            append_basic_fields(out_, part, "message", ascii_lowercase(part.subtype),
                                part.type_params);
          } else {
            append_basic_fields(out_, part, part.type, part.subtype, part.type_params);
          }
          out_.push_back(' ');
          if (part.is_message()) {
            out_ += render_envelope(message_, tree_, part.children[0]);
            out_.push_back(' ');
            step.next_child = 1;
            stack.push_back(Step{part.children[0], 0});
            continue;
          }
          // At a limit: no parsed message inside; an empty envelope, the body as text.
          out_ += "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) (";
          append_basic_fields(out_, part, "text", "plain", {{"charset", "us-ascii"}});
          out_ += fmt::format(" {}", part.body_lines);
          if (extended_) out_ += " NIL NIL NIL NIL";
          out_.push_back(')');
        }
        out_ += fmt::format(" {}", part.body_lines);
        if (extended_) {
          out_.push_back(' ');
          append_nstring(out_, part.md5);
          append_extension_tail(out_, part);
        }
        out_.push_back(')');
        stack.pop_back();
        continue;
      }
      out_.push_back('(');
      append_basic_fields(out_, part, part.type, part.subtype, shown_params(part));
      if (part.is_type("text")) out_ += fmt::format(" {}", part.body_lines);
      if (extended_) {
        out_.push_back(' ');
        append_nstring(out_, part.md5);
        append_extension_tail(out_, part);
      }
      out_.push_back(')');
      stack.pop_back();
    }
    return std::move(out_);
  }

 private:
  std::string_view message_;
  const MimeTree& tree_;
  bool extended_;
  std::string out_;
};

}  // namespace

std::string mime_string(std::string_view text) {
  bool quotable = text.size() <= kMaxQuotedBytes;
  for (char c : text) {
    if (!quotable) break;
    auto u = static_cast<unsigned char>(c);
    // Dovecot sends '"' and '\' in literals too; so do we (clients handle both).
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') quotable = false;
  }
  if (quotable) {
    std::string out;
    out.reserve(text.size() + 2);
    out.push_back('"');
    out.append(text);
    out.push_back('"');
    return out;
  }
  return fmt::format("{{{}}}\r\n{}", text.size(), text);
}

std::string mime_nstring(const std::optional<std::string>& text) {
  return text ? mime_string(*text) : std::string("NIL");
}

std::string render_envelope(std::string_view message, const MimeTree& tree, uint32_t part_index) {
  if (part_index >= tree.parts.size()) return "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)";
  static constexpr std::string_view kNames[] = {"date", "subject",  "from", "sender",
                                                "reply-to", "to", "cc",  "bcc",
                                                "in-reply-to", "message-id"};
  constexpr size_t kCount = sizeof kNames / sizeof kNames[0];
  std::optional<std::string_view> values[kCount];
  for (const MimeHeaderField& field : mime_header_fields(message, tree.parts[part_index])) {
    for (size_t i = 0; i < kCount; ++i) {
      if (!values[i] && ascii_iequals(field.name, kNames[i])) values[i] = field.value;
    }
  }
  auto blank = [](std::optional<std::string_view> value) {
    if (!value) return true;
    for (char c : *value) {
      if (!is_space(c)) return false;
    }
    return true;
  };
  // Sender and Reply-To default to From (RFC 3501 7.4.2).
  if (blank(values[3])) values[3] = values[2];
  if (blank(values[4])) values[4] = values[2];
  std::string out = "(";
  for (size_t i = 0; i < kCount; ++i) {
    if (i > 0) out.push_back(' ');
    bool address = i >= 2 && i <= 7;
    if (address) {
      append_address_list(out, values[i]);
    } else if (values[i]) {
      out += mime_string(collapse_space(*values[i]));
    } else {
      out += "NIL";
    }
  }
  out.push_back(')');
  return out;
}

std::string render_bodystructure(std::string_view message, const MimeTree& tree, bool extended) {
  return StructureWriter(message, tree, extended).run();
}

}  // namespace postern
