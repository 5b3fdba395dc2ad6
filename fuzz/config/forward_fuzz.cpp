// libFuzzer target for lib/config/forward_file.cpp: parse_forward on arbitrary bytes, as any
// local user may write them into ~/.forward. Besides crashes and sanitizer reports it checks
// properties: the file limits hold (at most kMaxForwardTargets targets in the file, each
// non-empty and at most kMaxAliasTargetBytes), and the targets format to one line that parses
// back to the same targets.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "lib/config/alias_target.hpp"
#include "lib/config/forward_file.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const postern::ForwardFileLimits limits;
  postern::Result<std::vector<postern::AliasTarget>> targets =
      postern::parse_forward(text, "/home/user/.forward", limits);
  if (!targets.ok()) {
    check(targets.error().message.rfind("/home/user/.forward:", 0) == 0);
    return 0;
  }
  check(text.size() <= limits.max_file_bytes);
  check(targets->size() <= limits.targets.max_targets);
  for (const postern::AliasTarget& target : *targets) {
    check(!target.text.empty());
    check(target.text.size() <= limits.targets.max_target_bytes);
    if (target.kind == postern::AliasTargetKind::kFile ||
        target.kind == postern::AliasTargetKind::kInclude) {
      check(target.text.front() == '/');
    }
  }
  std::string formatted = postern::format_alias_targets(*targets);
  check(formatted.find_first_of("\r\n") == std::string::npos);
  postern::Result<std::vector<postern::AliasTarget>> again =
      postern::parse_alias_targets(formatted, limits.targets);
  check(again.ok());
  check(*again == *targets);
  // One formatted line is itself a .forward with the same targets (when it fits the file limit:
  // quoting may make it longer than the input).
  if (formatted.size() > limits.max_file_bytes) return 0;
  postern::Result<std::vector<postern::AliasTarget>> as_file =
      postern::parse_forward(formatted, "/home/user/.forward", limits);
  check(as_file.ok() && *as_file == *targets);
  return 0;
}
