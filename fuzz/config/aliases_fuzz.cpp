// libFuzzer target for lib/config/aliases_file.cpp and alias_target.cpp: parse_aliases on
// arbitrary bytes (the admin's /etc/aliases, checked like hostile input), and
// parse_alias_targets on the same bytes as one list. Besides crashes and sanitizer reports it
// checks properties: accepted entries obey the limits (names lower-cased, non-empty, at most
// kMaxAliasNameBytes; at most kMaxAliasTargets targets of at most kMaxAliasTargetBytes), and
// every accepted target list formats to one line that parses back to the same targets (the
// value the compiled aliases table stores).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "lib/config/alias_target.hpp"
#include "lib/config/aliases_file.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_targets(const std::vector<postern::AliasTarget>& targets,
                   const postern::AliasTargetLimits& limits) {
  check(targets.size() <= limits.max_targets);
  for (const postern::AliasTarget& target : targets) {
    check(!target.text.empty());
    check(target.text.size() <= limits.max_target_bytes);
    check(target.text.find('\0') == std::string::npos);
    if (target.kind == postern::AliasTargetKind::kFile ||
        target.kind == postern::AliasTargetKind::kInclude) {
      check(target.text.front() == '/');
    }
  }
  std::string formatted = postern::format_alias_targets(targets);
  check(formatted.find_first_of("\r\n") == std::string::npos);
  postern::Result<std::vector<postern::AliasTarget>> again =
      postern::parse_alias_targets(formatted, limits);
  check(again.ok());
  check(*again == targets);
  check(postern::format_alias_targets(*again) == formatted);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const postern::AliasTargetLimits limits;

  std::vector<postern::ConfigWarning> warnings;  // collected, not logged: no log flood
  postern::Result<postern::AliasEntries> entries =
      postern::parse_aliases(text, "/etc/aliases", &warnings, limits);
  if (entries.ok()) {
    for (const postern::AliasEntry& entry : *entries) {
      check(!entry.name.empty() && entry.name.size() <= postern::kMaxAliasNameBytes);
      for (char c : entry.name) check(!(c >= 'A' && c <= 'Z'));
      check(!entry.targets.empty());
      check(entry.line >= 1);
      check_targets(entry.targets, limits);
    }
  } else {
    check(entries.error().message.rfind("/etc/aliases:", 0) == 0);
  }

  postern::Result<std::vector<postern::AliasTarget>> list =
      postern::parse_alias_targets(text, limits);
  if (list.ok()) check_targets(*list, limits);
  return 0;
}
