// postern status: not yet built (see cli/not_built.hpp).
#include "cli/command_groups.hpp"
#include "cli/not_built.hpp"

namespace postern::cli {

int run_status(const Invocation& invocation) { return not_built(invocation); }

}  // namespace postern::cli
