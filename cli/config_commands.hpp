// `postern config show|check|set`: main.cf as every process reads it (postconf's jobs).
//   show [NAME...]  every parameter (or the named ones) with its value: as written (raw, the
//                   default when main.cf does not set it), expanded with -x; --json gives both
//   show -n         only what main.cf sets (postconf -n)
//   check           postern-master -t (cli/master_check.hpp): exit 5 with its file:line messages
//   set N=V...      main.cf edited in place (cli/main_cf_editor.hpp), checked as a whole before
//                   it is written (atomically), then a running master reloaded
// Runs in the `postern` command. main.cf is the admin's file, read bounded; NAME and VALUE
// come from the command line and are checked (known name, one line, a value of the
// parameter's type) before anything is written. Exit statuses: cli/exit_codes.hpp.
#pragma once

#include <string>
#include <vector>

#include "cli/invocation.hpp"

namespace postern::cli {

struct ConfigShowOptions {
  std::vector<std::string> names;  // empty: all
  bool only_set = false;           // -n
  bool expand = false;             // -x
  bool json = false;
};

int config_show(const Invocation& invocation, const ConfigShowOptions& options);
int config_check(const Invocation& invocation);
int config_set(const Invocation& invocation, const std::vector<std::string>& assignments);

}  // namespace postern::cli
