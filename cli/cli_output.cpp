// Output of the subcommands (see cli_output.hpp).
#include "cli/cli_output.hpp"

#include <cstdio>
#include <string>

#include "cli/exit_codes.hpp"

namespace postern::cli {

void write_stdout(std::string_view text) { std::fwrite(text.data(), 1, text.size(), stdout); }

void print_json(const nlohmann::json& document) {
  std::string text = document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  write_stdout(text);
}

int finish_stdout() { return std::fflush(stdout) == 0 && !std::ferror(stdout) ? kExitOk : kExitFailed; }

}  // namespace postern::cli
