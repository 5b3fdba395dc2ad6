// The table of every main.cf parameter: name, type, default and bounds, declared once.
// Each entry has a matching entry in man/man5/postern.cf.5. Read-only data, shared by all.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace postern {

enum class ParamType {
  kString,
  kInt,      // integer within [min, max]
  kSize,     // bytes within [min, max]
  kTime,     // seconds within [min, max]; value may carry a unit s m h d w
  kBool,     // yes | no
  kList,     // comma / white-space separated words
};

struct ParamSpec {
  std::string_view name;
  ParamType type;
  std::string_view default_value;  // may contain $name expansions
  int64_t min = 0;
  int64_t max = INT64_MAX;
  char default_time_unit = 's';  // for kTime values written without a unit
  // kString: the one allowed word, kList: the allowed words, separated by '|' ("none|may").
  // Empty: any value. Compared case-insensitively.
  std::string_view choices = {};
  // The default is computed at run time by MainConfig (myhostname: gethostname(); mydomain:
  // $myhostname minus its first label); default_value is then only what the man page shows.
  bool computed_default = false;
};

std::span<const ParamSpec> all_parameters();
// nullptr when name is not a parameter of ours.
const ParamSpec* find_parameter(std::string_view name);
// "string", "integer", "size", "time", "boolean", "list": for messages and `config show`.
std::string_view param_type_name(ParamType type);

}  // namespace postern
