// postern user|alias|domain: not yet built (see cli/not_built.hpp).
#include "cli/command_groups.hpp"
#include "cli/not_built.hpp"

namespace postern::cli {

int run_user(const Invocation& invocation) { return not_built(invocation); }
int run_alias(const Invocation& invocation) { return not_built(invocation); }
int run_domain(const Invocation& invocation) { return not_built(invocation); }

}  // namespace postern::cli
