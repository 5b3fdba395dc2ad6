// Writing a subcommand's result: text on stdout as it comes, or one JSON document (--json,
// nlohmann-json, pretty-printed with a final newline). Runs in the `postern` command.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace postern::cli {

void write_stdout(std::string_view text);

// The document, then "\n"; invalid UTF-8 in strings is replaced, never an exception.
void print_json(const nlohmann::json& document);

// stdout flushed: kExitOk, or kExitFailed when the write failed (a full disk, a closed pipe).
int finish_stdout();

}  // namespace postern::cli
