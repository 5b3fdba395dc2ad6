// Placeholder body of a subcommand whose file has not landed yet (removed as each lands).
#pragma once

#include <cstdio>

#include "cli/exit_codes.hpp"
#include "cli/invocation.hpp"

namespace postern::cli {

inline int not_built(const Invocation& invocation) {
  std::fprintf(stderr, "postern %s: not in this build yet\n", invocation.command.c_str());
  return kExitFailed;
}

}  // namespace postern::cli
