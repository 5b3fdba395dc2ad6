// postern: the admin command, git-style: `postern [-c config_dir] COMMAND [ARGS...]`, where
// COMMAND is one of cli/command_groups.hpp's table (postern(8) documents each, and the exit
// statuses of cli/exit_codes.hpp). This file reads the options before the command and picks it;
// each command parses the rest itself. Runs as root, mail_owner or (for what only reads) any
// user, from a shell or a script; trusts main.cf and its arguments only as far as they are
// checked.
#include <cstdio>
#include <string>
#include <string_view>

#include "cli/command_groups.hpp"
#include "cli/exit_codes.hpp"
#include "lib/base/log.hpp"

namespace {

using namespace postern::cli;

void print_usage(FILE* out) {
  std::fputs("usage: postern [-c config_dir] COMMAND [ARGS...]\n\ncommands:\n", out);
  for (const CommandGroup& group : kCommandGroups) {
    std::fprintf(out, "  %-8.*s %.*s\n", static_cast<int>(group.name.size()), group.name.data(),
                 static_cast<int>(group.summary.size()), group.summary.data());
  }
  std::fputs("\n`postern COMMAND --help` tells more; man postern(8) tells all.\n", out);
}

}  // namespace

int main(int argc, char** argv) {
  postern::log::init("postern", true);
  Invocation invocation;
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-c") {
      if (i + 1 >= argc) {
        std::fputs("postern: -c needs a directory\n", stderr);
        return kExitUsage;
      }
      invocation.config_dir = argv[++i];
    } else if (arg == "-h" || arg == "--help") {
      print_usage(stdout);
      return kExitOk;
    } else if (!arg.empty() && arg.front() == '-') {
      std::fprintf(stderr, "postern: unknown option %s\n", argv[i]);
      print_usage(stderr);
      return kExitUsage;
    } else {
      break;
    }
  }
  if (i >= argc) {
    print_usage(stderr);
    return kExitUsage;
  }
  invocation.command = argv[i];
  invocation.words.assign(argv + i + 1, argv + argc);
  for (const CommandGroup& group : kCommandGroups) {
    if (group.name == invocation.command) return group.run(invocation);
  }
  std::fprintf(stderr, "postern: unknown command %s\n", invocation.command.c_str());
  print_usage(stderr);
  return kExitUsage;
}
