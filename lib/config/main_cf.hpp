// main.cf: Postfix-syntax configuration, read by every process at start (and by master on
// SIGHUP). Syntax: "name = value", continuation lines that begin with white space, '#' comments
// on lines of their own, $name / ${name} / $(name) expansion (and ${name?text} / ${name:text}).
// Every name is declared once in parameters.cpp with its type, default and bounds; an unknown
// name is a warning, a bad value is an error naming file:line. Trusted input (the admin's
// file), but still bounded: line length, expansion depth.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern {

struct ConfigWarning {
  std::string file;
  int line = 0;  // 0 when it does not come from a line (e.g. -o override)
  std::string message;
  std::string describe() const;  // "file:line: message"
};

class MainConfig {
 public:
  // Built-in defaults only (no file).
  MainConfig();

  // Reads and checks path. Errors name "path:line: ...". Warnings (unknown names) are appended.
  static Result<MainConfig> load(const std::string& path, std::vector<ConfigWarning>* warnings);
  // Same for text already in memory; file_name is used in messages.
  static Result<MainConfig> parse(std::string_view text, std::string_view file_name,
                                  std::vector<ConfigWarning>* warnings);

  // A master.cf "-o name=value" override, or a command-line setting. Checked like a file value.
  Status set(std::string_view name, std::string_view raw_value);

  // Raw value (as written, before expansion); the default when the file does not set it.
  std::string raw(std::string_view name) const;
  // Expanded string value. Unknown names here are a bug in our code (panic).
  std::string get(std::string_view name) const;
  int64_t get_int(std::string_view name) const;         // plain integer
  int64_t get_size(std::string_view name) const;        // bytes
  int64_t get_seconds(std::string_view name) const;     // time: 10s 5m 2h 5d 1w (bare = unit)
  bool get_bool(std::string_view name) const;           // yes / no
  // Comma and/or white-space separated list, expanded.
  std::vector<std::string> get_list(std::string_view name) const;

  // Whether name was set by a master.cf "-o" override (or on the command line).
  bool set_by_override(std::string_view name) const;
  // Every parameter that the file or an override set, name -> raw value (for `config show`).
  const std::map<std::string, std::string, std::less<>>& explicit_values() const {
    return values_;
  }
  // Expands "$name" references in any text against this configuration (e.g. a master.cf
  // value); errors: "loop in expansion of NAME", bad '$' syntax, result too long.
  Result<std::string> expand_text(std::string_view text) const;

 private:
  struct Origin {
    std::string file;
    int line = 0;  // 0: an override
  };
  Result<std::string> expand(std::string_view text, int depth) const;
  Result<std::string> expand_param(std::string_view name) const;
  // Expands and type-checks every parameter (defaults and explicit ones); the first error.
  Status check_all() const;
  Status store(std::string_view name, std::string_view raw_value, Origin origin,
               std::vector<ConfigWarning>* warnings);
  std::map<std::string, std::string, std::less<>> values_;  // explicitly set, raw
  std::map<std::string, Origin, std::less<>> origins_;      // where each explicit value was set
};

}  // namespace postern
