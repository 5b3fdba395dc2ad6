// Alias target lists (see alias_target.hpp): one pass over the list, byte by byte, with the
// limits checked as each byte and each target arrives, so a hostile .forward costs at most one
// scan and max_targets * max_target_bytes of memory.
#include "lib/config/alias_target.hpp"

#include <fmt/format.h>

#include "lib/base/ascii.hpp"

namespace postern {
namespace {

constexpr std::string_view kIncludePrefix = ":include:";

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

bool is_control(char c) {
  auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7f;
}

bool all_blank(std::string_view text) {
  for (char c : text) {
    if (!is_blank(c)) return false;
  }
  return true;
}

// Decides the kind of one unquoted, trimmed, non-empty target.
Result<AliasTarget> classify(std::string text) {
  if (text.front() == '|') {
    text.erase(0, 1);
    if (all_blank(text)) return Error::parse("empty command after '|'");
    return AliasTarget{AliasTargetKind::kCommand, std::move(text)};
  }
  if (text.front() == '/') return AliasTarget{AliasTargetKind::kFile, std::move(text)};
  if (text.front() == '\\') {
    text.erase(0, 1);
    if (all_blank(text)) return Error::parse("empty user name after '\\'");
    return AliasTarget{AliasTargetKind::kOwnMailbox, std::move(text)};
  }
  if (text.size() >= kIncludePrefix.size() &&
      ascii_iequals(std::string_view(text).substr(0, kIncludePrefix.size()), kIncludePrefix)) {
    size_t path_start = kIncludePrefix.size();
    while (path_start < text.size() && is_blank(text[path_start])) ++path_start;
    if (path_start == text.size() || text[path_start] != '/') {
      return Error::parse(":include: needs an absolute path");
    }
    text.erase(0, path_start);
    return AliasTarget{AliasTargetKind::kInclude, std::move(text)};
  }
  return AliasTarget{AliasTargetKind::kAddress, std::move(text)};
}

// The prefix that format_alias_targets writes before a target's text.
std::string_view prefix_of(AliasTargetKind kind) {
  switch (kind) {
    case AliasTargetKind::kCommand:
      return "|";
    case AliasTargetKind::kInclude:
      return kIncludePrefix;
    case AliasTargetKind::kOwnMailbox:
      return "\\";
    case AliasTargetKind::kAddress:
    case AliasTargetKind::kFile:
      return "";
  }
  return "";
}

// Whether written (prefix + text) must be quoted to read back as itself. skip_first: the
// leading '\' of kOwnMailbox, which is meant literally.
bool needs_quotes(std::string_view written, bool skip_first) {
  if (written.empty()) return true;
  if (is_blank(written.front()) || is_blank(written.back())) return true;
  if (written.front() == '#') return true;  // so the line is no comment in a .forward either
  for (size_t i = skip_first ? 1 : 0; i < written.size(); ++i) {
    char c = written[i];
    if (c == ',' || c == '"' || c == '\\' || is_control(c)) return true;
  }
  return false;
}

}  // namespace

std::string_view alias_target_kind_name(AliasTargetKind kind) {
  switch (kind) {
    case AliasTargetKind::kAddress:
      return "address";
    case AliasTargetKind::kCommand:
      return "command";
    case AliasTargetKind::kFile:
      return "file";
    case AliasTargetKind::kInclude:
      return "include";
    case AliasTargetKind::kOwnMailbox:
      return "own mailbox";
  }
  return "unknown";
}

Status append_alias_targets(std::string_view list, const AliasTargetLimits& limits,
                            std::vector<AliasTarget>* targets) {
  std::string text;      // the current target, unquoted
  size_t kept = 0;       // text's length without its trailing unquoted blanks
  bool started = false;  // a quote or a non-blank byte has been seen in this target
  bool in_quotes = false;

  auto append = [&](char c, bool quoted) -> Status {
    if (!quoted && is_blank(c)) {
      if (started) text.push_back(c);  // kept only if something follows
      return Status::success();
    }
    text.push_back(c);
    kept = text.size();
    started = true;
    if (kept > limits.max_target_bytes) {
      return Error::limit(fmt::format("target longer than {} bytes", limits.max_target_bytes));
    }
    return Status::success();
  };
  auto finish_target = [&]() -> Status {
    text.resize(kept);
    if (!text.empty()) {
      if (targets->size() >= limits.max_targets) {
        return Error::limit(fmt::format("more than {} targets", limits.max_targets));
      }
      Result<AliasTarget> target = classify(std::move(text));
      if (!target) return target.error();
      targets->push_back(std::move(target).value());
    }
    text.clear();
    kept = 0;
    started = false;
    return Status::success();
  };

  for (size_t i = 0; i < list.size(); ++i) {
    char c = list[i];
    if (c == '\0') return Error::parse("NUL byte");
    if (c == '\r' || c == '\n') return Error::parse("line break inside a target list");
    if (in_quotes) {
      if (c == '"') {
        in_quotes = false;
        continue;
      }
      if (c == '\\') {
        if (++i == list.size()) break;  // unterminated: reported below
        c = list[i];
        if (c == '\0') return Error::parse("NUL byte");
        if (c == '\r' || c == '\n') return Error::parse("line break inside a target list");
      }
      if (Status added = append(c, true); !added) return added;
      continue;
    }
    if (c == '"') {
      in_quotes = true;
      started = true;
      kept = text.size();  // blanks before the quote are inside the target
      continue;
    }
    if (c == ',') {
      if (Status done = finish_target(); !done) return done;
      continue;
    }
    if (Status added = append(c, false); !added) return added;
  }
  if (in_quotes) return Error::parse("unterminated quote");
  return finish_target();
}

Result<std::vector<AliasTarget>> parse_alias_targets(std::string_view list,
                                                     const AliasTargetLimits& limits) {
  std::vector<AliasTarget> targets;
  if (Status parsed = append_alias_targets(list, limits, &targets); !parsed) return parsed.error();
  return targets;
}

std::string format_alias_targets(const std::vector<AliasTarget>& targets) {
  std::string out;
  for (const AliasTarget& target : targets) {
    if (!out.empty()) out += ", ";
    std::string written(prefix_of(target.kind));
    written += target.text;
    if (!needs_quotes(written, target.kind == AliasTargetKind::kOwnMailbox)) {
      out += written;
      continue;
    }
    out.push_back('"');
    for (char c : written) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  return out;
}

}  // namespace postern
