// Editing main.cf keeping everything else byte for byte (see main_cf_editor.hpp).
#include "cli/main_cf_editor.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "lib/config/config_lines.hpp"

namespace postern::cli {
namespace {

// The line at pos (without '\n' and a CR before it) and the offset after it.
std::string_view line_at(std::string_view text, size_t pos, size_t* next) {
  size_t end = text.find('\n', pos);
  if (end == std::string_view::npos) {
    *next = text.size();
    end = text.size();
  } else {
    *next = end + 1;
  }
  std::string_view line = text.substr(pos, end - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool is_comment_or_blank(std::string_view line) {
  std::string_view content = trim_config_blanks(line);
  return content.empty() || content.front() == '#';
}

std::string entry_line(std::string_view name, std::string_view value) {
  if (value.empty()) return fmt::format("{} =\n", name);
  return fmt::format("{} = {}\n", name, value);
}

}  // namespace

bool valid_parameter_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxParameterNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

Status check_value_text(std::string_view name, std::string_view value) {
  if (value.size() > kMaxValueBytes) {
    return Error::limit(
        fmt::format("the value of {} is longer than {} bytes", name, kMaxValueBytes));
  }
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f) {
      return Error::parse(fmt::format(
          "the value of {} holds a control character (a value is one line of text)", name));
    }
  }
  return Status::success();
}

Result<MainCfEditor> MainCfEditor::parse(std::string_view text) {
  if (text.size() > kMaxMainCfBytes) {
    return Error::limit(fmt::format("main.cf is larger than {} bytes", kMaxMainCfBytes));
  }
  MainCfEditor editor{std::string(text)};
  if (Status indexed = editor.index(); !indexed) return indexed.error();
  return editor;
}

Status MainCfEditor::index() {
  entries_.clear();
  if (text_.find('\0') != std::string::npos) {
    return Error::parse("main.cf holds a NUL byte");
  }
  std::string_view text = text_;
  size_t pos = 0;
  int line_number = 0;
  while (pos < text.size()) {
    size_t next = 0;
    std::string_view line = line_at(text, pos, &next);
    ++line_number;
    if (line.size() > kMaxMainCfLineBytes) {
      return Error::limit(fmt::format("main.cf:{}: line is longer than {} bytes", line_number,
                                      kMaxMainCfLineBytes));
    }
    if (!is_comment_or_blank(line)) {
      if (is_config_blank(line.front())) {
        // A continuation line: the entry before it reaches this far (a stray one, before any
        // entry, belongs to none and is kept as it is).
        if (!entries_.empty()) entries_.back().end = next;
      } else {
        size_t equals = line.find('=');
        std::string_view name = trim_config_blanks(line.substr(0, equals));
        if (equals == std::string_view::npos) name = name.substr(0, name.find_first_of(" \t"));
        entries_.push_back(Entry{std::string(name), pos, next});
      }
    }
    pos = next;
  }
  return Status::success();
}

const MainCfEditor::Entry* MainCfEditor::last_entry(std::string_view name) const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->name == name) return &*it;
  }
  return nullptr;
}

bool MainCfEditor::get(std::string_view name, std::string* value) const {
  const Entry* entry = last_entry(name);
  if (entry == nullptr) return false;
  std::string_view text = std::string_view(text_).substr(entry->begin, entry->end - entry->begin);
  value->clear();
  size_t pos = 0;
  bool first = true;
  while (pos < text.size()) {
    size_t next = 0;
    std::string_view line = line_at(text, pos, &next);
    pos = next;
    if (first) {
      size_t equals = line.find('=');
      *value = std::string(
          trim_config_blanks(equals == std::string_view::npos ? std::string_view() : line.substr(equals + 1)));
      first = false;
      continue;
    }
    if (is_comment_or_blank(line)) continue;
    if (!value->empty()) *value += ' ';
    *value += trim_config_blanks(line);
  }
  return true;
}

std::vector<std::string> MainCfEditor::names() const {
  std::vector<std::string> found;
  for (const Entry& entry : entries_) {
    if (last_entry(entry.name) == &entry) found.push_back(entry.name);
  }
  return found;
}

Result<bool> MainCfEditor::set(std::string_view name, std::string_view value) {
  if (!valid_parameter_name(name)) {
    return Error::parse(fmt::format("bad parameter name \"{}\"", name.substr(0, 100)));
  }
  if (Status checked = check_value_text(name, value); !checked) return checked.error();
  const std::string line = entry_line(name, value);
  const Entry* entry = last_entry(name);
  std::string changed = text_;
  if (entry != nullptr) {
    std::string_view old = std::string_view(text_).substr(entry->begin, entry->end - entry->begin);
    if (old == line || (entry->end == text_.size() && std::string(old) + "\n" == line)) {
      return false;
    }
    changed.replace(entry->begin, entry->end - entry->begin, line);
  } else {
    if (!changed.empty() && changed.back() != '\n') changed += '\n';
    changed += line;
  }
  if (changed.size() > kMaxMainCfBytes) {
    return Error::limit(fmt::format("main.cf would be larger than {} bytes", kMaxMainCfBytes));
  }
  if (line.size() > kMaxMainCfLineBytes) {
    return Error::limit(
        fmt::format("the line for {} would be longer than {} bytes", name, kMaxMainCfLineBytes));
  }
  text_ = std::move(changed);
  if (Status indexed = index(); !indexed) return indexed.error();
  return true;
}

Result<bool> MainCfEditor::set_comment_block(std::string_view begin_line, std::string_view end_line,
                                             std::string_view block) {
  // The block must be comment lines only, or it would add settings behind the caller's back.
  {
    std::string_view rest = block;
    if (rest.empty() || rest.back() != '\n') return Error::parse("comment block without a newline");
    while (!rest.empty()) {
      size_t next = 0;
      std::string_view line = line_at(rest, 0, &next);
      if (line.empty() || line.front() != '#') return Error::parse("not a comment line in block");
      rest.remove_prefix(next);
    }
  }
  std::string_view text = text_;
  size_t begin = std::string::npos;
  size_t end = std::string::npos;
  for (size_t pos = 0; pos < text.size();) {
    size_t next = 0;
    std::string_view line = line_at(text, pos, &next);
    if (begin == std::string::npos && line == begin_line) {
      begin = pos;
    } else if (begin != std::string::npos && line == end_line) {
      end = next;
      break;
    } else if (begin != std::string::npos && (line.empty() || line.front() != '#')) {
      begin = std::string::npos;  // not our block: it would swallow settings
    }
    pos = next;
  }
  std::string changed = text_;
  if (begin != std::string::npos && end != std::string::npos) {
    if (text.substr(begin, end - begin) == block) return false;
    changed.replace(begin, end - begin, block);
  } else {
    changed.insert(0, block);
  }
  if (changed.size() > kMaxMainCfBytes) {
    return Error::limit(fmt::format("main.cf would be larger than {} bytes", kMaxMainCfBytes));
  }
  text_ = std::move(changed);
  if (Status indexed = index(); !indexed) return indexed.error();
  return true;
}

Result<bool> MainCfEditor::ensure_comment_line(std::string_view line) {
  if (line.empty() || line.front() != '#' || line.find('\n') != std::string_view::npos) {
    return Error::parse("not a comment line");
  }
  std::string_view text = text_;
  for (size_t pos = 0; pos < text.size();) {
    size_t next = 0;
    if (line_at(text, pos, &next) == line) return false;
    pos = next;
  }
  std::string changed = text_;
  if (!changed.empty() && changed.back() != '\n') changed += '\n';
  if (!changed.empty()) changed += '\n';
  changed += line;
  changed += '\n';
  if (changed.size() > kMaxMainCfBytes) {
    return Error::limit(fmt::format("main.cf would be larger than {} bytes", kMaxMainCfBytes));
  }
  text_ = std::move(changed);
  if (Status indexed = index(); !indexed) return indexed.error();
  return true;
}

}  // namespace postern::cli
