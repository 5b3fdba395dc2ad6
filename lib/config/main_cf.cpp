// main.cf reader: Postfix syntax, read by every process at start (and by master on SIGHUP),
// plus "-o name=value" overrides from master.cf and the command line. The file is the admin's
// and trusted, but still bounded: 100000 bytes a line, 4 MiB a file, expansion depth 100, an
// expanded value of at most 1 MiB and a bounded number of lookups per expansion (so that
// "a = $b$b", "b = $c$c", ... cannot make us work forever). Errors name file:line.
#include "lib/config/main_cf.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>

#include "lib/base/ascii.hpp"
#include "lib/config/config_lines.hpp"
#include "lib/base/file_read.hpp"
#include "lib/base/log.hpp"
#include "lib/config/parameters.hpp"

namespace postern {
namespace {

constexpr size_t kMaxLineBytes = 100000;
constexpr size_t kMaxFileBytes = 4 * 1024 * 1024;
constexpr int kMaxExpansionDepth = 100;
constexpr size_t kMaxExpandedBytes = 1024 * 1024;
constexpr size_t kMaxExpansionLookups = 100000;
constexpr size_t kMaxMessageValueBytes = 200;  // how much of a bad value an error message shows

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}
bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

bool valid_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), is_name_char);
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (is_blank(text[i]) || text[i] == ',')) ++i;
    size_t start = i;
    while (i < text.size() && !is_blank(text[i]) && text[i] != ',') ++i;
    if (i > start) words.emplace_back(text.substr(start, i - start));
  }
  return words;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return ascii_lowercase(buf);
}

// mydomain's default: $myhostname minus its first label, or "localdomain" if it has one label.
std::string domain_of(std::string_view host) {
  size_t dot = host.find('.');
  if (dot == std::string_view::npos || dot + 1 >= host.size()) return "localdomain";
  return std::string(host.substr(dot + 1));
}

std::string prefix(const std::string& file, int line) {
  if (line > 0) return fmt::format("{}:{}: ", file, line);
  if (!file.empty()) return file + ": ";
  return "";
}

std::string shown(std::string_view value) {
  return log::printable(value, kMaxMessageValueBytes);
}

// Non-negative decimal without sign, at most 18 digits (fits int64 without overflow checks).
bool parse_digits(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  *out = n;
  return true;
}

int64_t unit_seconds(char unit) {
  switch (unit) {
    case 's':
      return 1;
    case 'm':
      return 60;
    case 'h':
      return 3600;
    case 'd':
      return 86400;
    case 'w':
      return 7 * 86400;
  }
  return 0;
}

std::string bounds_text(const ParamSpec& spec, std::string_view unit) {
  if (spec.max == INT64_MAX) return fmt::format("of at least {}{}", spec.min, unit);
  return fmt::format("from {}{} to {}{}", spec.min, unit, spec.max, unit);
}

std::string choices_text(std::string_view choices) {
  std::string out;
  for (char c : choices) out += (c == '|') ? std::string(", ") : std::string(1, c);
  return out;
}

std::string expected_text(const ParamSpec& spec) {
  switch (spec.type) {
    case ParamType::kInt:
      return "an integer " + bounds_text(spec, "");
    case ParamType::kSize:
      return "a number of bytes " + bounds_text(spec, "");
    case ParamType::kTime:
      return fmt::format("a time {}: a number with an optional unit s, m, h, d or w (default {})",
                         bounds_text(spec, "s"), spec.default_time_unit);
    case ParamType::kBool:
      return "yes or no";
    case ParamType::kString:
      return "one of " + choices_text(spec.choices);
    case ParamType::kList:
      return "a list of " + choices_text(spec.choices);
  }
  return "";
}

bool in_choices(std::string_view word, std::string_view choices) {
  while (true) {
    size_t bar = choices.find('|');
    if (ascii_iequals(word, choices.substr(0, bar))) return true;
    if (bar == std::string_view::npos) return false;
    choices.remove_prefix(bar + 1);
  }
}

// The value of an (expanded) parameter as a number: the integer, size, seconds, or 0/1 for a
// boolean; 0 for strings and lists. false when the value does not fit the spec.
bool convert(const ParamSpec& spec, std::string_view value, int64_t* out) {
  *out = 0;
  switch (spec.type) {
    case ParamType::kInt:
    case ParamType::kSize: {
      bool negative = spec.type == ParamType::kInt && !value.empty() && value.front() == '-';
      int64_t n = 0;
      if (!parse_digits(negative ? value.substr(1) : value, &n)) return false;
      if (negative) n = -n;
      if (n < spec.min || n > spec.max) return false;
      *out = n;
      return true;
    }
    case ParamType::kTime: {
      char unit = spec.default_time_unit;
      std::string_view digits = value;
      if (!digits.empty() && std::isalpha(static_cast<unsigned char>(digits.back()))) {
        unit = static_cast<char>(std::tolower(static_cast<unsigned char>(digits.back())));
        digits.remove_suffix(1);
      }
      int64_t n = 0;
      int64_t mult = unit_seconds(unit);
      if (mult == 0 || !parse_digits(digits, &n)) return false;
      if (n > INT64_MAX / mult) return false;
      n *= mult;
      if (n < spec.min || n > spec.max) return false;
      *out = n;
      return true;
    }
    case ParamType::kBool:
      if (ascii_iequals(value, "yes") || ascii_iequals(value, "true")) {
        *out = 1;
        return true;
      }
      return ascii_iequals(value, "no") || ascii_iequals(value, "false");
    case ParamType::kString:
      return spec.choices.empty() || in_choices(value, spec.choices);
    case ParamType::kList:
      if (spec.choices.empty()) return true;
      for (const std::string& word : split_list(value)) {
        if (!in_choices(word, spec.choices)) return false;
      }
      return true;
  }
  return false;
}

// One expansion of one top-level text: carries the lookup budget and the name for messages.
class Expander {
 public:
  using Values = std::map<std::string, std::string, std::less<>>;
  Expander(const Values& values, std::string_view top_name)
      : values_(values), top_name_(top_name) {}

  Status expand(std::string_view text, int depth, std::string* out) {
    if (depth > kMaxExpansionDepth) {
      return Error::limit(fmt::format("loop in expansion of {}", top_name_));
    }
    size_t i = 0;
    while (i < text.size()) {
      char c = text[i];
      if (c != '$') {
        size_t next = text.find('$', i);
        if (next == std::string_view::npos) next = text.size();
        out->append(text.substr(i, next - i));
        i = next;
        if (out->size() > kMaxExpandedBytes) return too_long();
        continue;
      }
      if (i + 1 >= text.size()) {
        return Error::config("'$' at the end of a value (write $$ for a literal $)");
      }
      char n = text[i + 1];
      if (n == '$') {
        out->push_back('$');
        i += 2;
      } else if (n == '{' || n == '(') {
        char close = (n == '{') ? '}' : ')';
        size_t start = i + 2;
        size_t j = start;
        int nesting = 1;
        for (; j < text.size(); ++j) {
          if (text[j] == n) ++nesting;
          if (text[j] == close && --nesting == 0) break;
        }
        if (j >= text.size()) {
          return Error::config(
              fmt::format("missing '{}' after \"{}\"", close, shown(text.substr(i, 40))));
        }
        std::string_view inner = text.substr(start, j - start);
        size_t name_end = 0;
        while (name_end < inner.size() && is_name_char(inner[name_end])) ++name_end;
        std::string_view name = inner.substr(0, name_end);
        std::string_view rest = inner.substr(name_end);
        if (name.empty()) {
          return Error::config(
              fmt::format("no parameter name in \"{}\"", shown(text.substr(i, j + 1 - i))));
        }
        if (rest.empty()) {
          if (Status s = lookup(name, depth, out); !s) return s;
        } else if (rest.front() == '?' || rest.front() == ':') {
          std::string value;
          if (Status s = lookup(name, depth, &value); !s) return s;
          bool want_set = rest.front() == '?';
          if (value.empty() != want_set) {
            if (Status s = expand(rest.substr(1), depth, out); !s) return s;
          }
        } else {
          return Error::config(
              fmt::format("bad character '{}' after ${{{}", shown(rest.substr(0, 1)), name));
        }
        i = j + 1;
      } else if (is_name_char(n)) {
        size_t j = i + 1;
        while (j < text.size() && is_name_char(text[j])) ++j;
        if (Status s = lookup(text.substr(i + 1, j - i - 1), depth, out); !s) return s;
        i = j;
      } else {
        return Error::config(fmt::format("'$' followed by '{}' (write $$ for a literal $)",
                                         shown(text.substr(i + 1, 1))));
      }
      if (out->size() > kMaxExpandedBytes) return too_long();
    }
    return Status::success();
  }

 private:
  Status too_long() const {
    return Error::limit(
        fmt::format("expansion of {} is longer than {} bytes", top_name_, kMaxExpandedBytes));
  }

  // Appends the expanded value of parameter name. Undefined names expand to nothing, as in
  // Postfix.
  Status lookup(std::string_view name, int depth, std::string* out) {
    if (++lookups_ > kMaxExpansionLookups) {
      return Error::limit(fmt::format("expansion of {} needs too many lookups", top_name_));
    }
    if (depth + 1 > kMaxExpansionDepth) {
      return Error::limit(fmt::format("loop in expansion of {}", top_name_));
    }
    if (auto it = values_.find(name); it != values_.end()) {
      return expand(it->second, depth + 1, out);
    }
    const ParamSpec* spec = find_parameter(name);
    if (spec == nullptr) return Status::success();
    if (spec->computed_default) {
      if (name == "myhostname") {
        out->append(host_name());
        return Status::success();
      }
      if (name == "mydomain") {
        std::string host;
        if (Status s = lookup("myhostname", depth + 1, &host); !s) return s;
        out->append(domain_of(host));
        return Status::success();
      }
      log::panic(fmt::format("no computed default for parameter {}", name));
    }
    return expand(spec->default_value, depth + 1, out);
  }

  const Values& values_;
  std::string top_name_;
  size_t lookups_ = 0;
};

const ParamSpec& spec_or_panic(std::string_view name) {
  const ParamSpec* spec = find_parameter(name);
  if (spec == nullptr) log::panic(fmt::format("MainConfig: unknown parameter {}", name));
  return *spec;
}

}  // namespace

std::string ConfigWarning::describe() const {
  return prefix(file, line) + message;
}

MainConfig::MainConfig() = default;

Result<MainConfig> MainConfig::load(const std::string& path, std::vector<ConfigWarning>* warnings) {
  Result<std::string> text = read_small_file(path, kMaxFileBytes);
  if (!text) return text.error();
  return parse(*text, path, warnings);
}

Result<MainConfig> MainConfig::parse(std::string_view text, std::string_view file_name,
                                     std::vector<ConfigWarning>* warnings) {
  std::string file(file_name);
  MainConfig config;
  Status read = for_each_config_entry(
      text, file, {kMaxFileBytes, kMaxLineBytes}, "parameter",
      [&](std::string_view entry, int line) -> Status {
        size_t eq = entry.find('=');
        if (eq == std::string_view::npos) {
          return Error::config(fmt::format("{}:{}: missing '=' after parameter name in \"{}\"",
                                           file, line, shown(entry)));
        }
        std::string_view name = trim(entry.substr(0, eq));
        if (!valid_name(name)) {
          return Error::config(
              fmt::format("{}:{}: bad parameter name \"{}\"", file, line, shown(name)));
        }
        return config.store(name, trim(entry.substr(eq + 1)), Origin{file, line}, warnings);
      });
  if (!read) return read.error();
  if (Status s = config.check_all(); !s) return s.error();
  return config;
}

Status MainConfig::store(std::string_view name, std::string_view raw_value, Origin origin,
                         std::vector<ConfigWarning>* warnings) {
  std::string where = prefix(origin.file, origin.line);
  const ParamSpec* spec = find_parameter(name);
  if (spec == nullptr) {
    std::string message = fmt::format("unknown parameter {}", name);
    if (warnings != nullptr) {
      warnings->push_back(ConfigWarning{origin.file, origin.line, message});
    } else {
      log::warning("{}{}", where, message);
    }
  } else if (raw_value.find('$') == std::string_view::npos) {
    int64_t number = 0;
    if (!convert(*spec, raw_value, &number)) {
      return Error::config(fmt::format("{}bad value for {}: '{}' (expected {})", where, name,
                                       shown(raw_value), expected_text(*spec)));
    }
  }
  if (auto it = origins_.find(name);
      it != origins_.end() && it->second.line > 0 && origin.line > 0 && warnings != nullptr) {
    warnings->push_back(ConfigWarning{
        origin.file, origin.line,
        fmt::format("{} overrides the earlier setting at line {}", name, it->second.line)});
  }
  values_.insert_or_assign(std::string(name), std::string(raw_value));
  origins_.insert_or_assign(std::string(name), std::move(origin));
  return Status::success();
}

Status MainConfig::check_all() const {
  // The explicit values first, in file order, so the first error is the first in the file.
  std::vector<std::pair<int, std::string_view>> order;
  for (const auto& [name, origin] : origins_) order.emplace_back(origin.line, name);
  std::stable_sort(order.begin(), order.end());
  auto check = [&](std::string_view name, const std::string& where) -> Status {
    Result<std::string> value = expand_param(name);
    if (!value) return Error::config(where + value.error().message);
    const ParamSpec* spec = find_parameter(name);
    int64_t number = 0;
    if (spec != nullptr && !convert(*spec, *value, &number)) {
      return Error::config(fmt::format("{}bad value for {}: '{}' (expected {}; expanded from '{}')",
                                       where, name, shown(*value), expected_text(*spec),
                                       shown(raw(name))));
    }
    return Status::success();
  };
  for (const auto& [line, name] : order) {
    const Origin& origin = origins_.find(name)->second;
    if (Status s = check(name, prefix(origin.file, origin.line)); !s) return s;
  }
  for (const ParamSpec& spec : all_parameters()) {
    if (values_.count(spec.name) != 0) continue;
    if (Status s = check(spec.name, fmt::format("default value of {}: ", spec.name)); !s) return s;
  }
  return Status::success();
}

Status MainConfig::set(std::string_view name, std::string_view raw_value) {
  if (!valid_name(name)) {
    return Error::config(fmt::format("bad parameter name \"{}\"", shown(name)));
  }
  if (raw_value.size() > kMaxLineBytes) {
    return Error::limit(fmt::format("value for {} is longer than {} bytes", name, kMaxLineBytes));
  }
  MainConfig changed = *this;
  if (Status s = changed.store(name, trim(raw_value), Origin{}, nullptr); !s) return s;
  if (Status s = changed.check_all(); !s) return s;
  *this = std::move(changed);
  return Status::success();
}

std::string MainConfig::raw(std::string_view name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  const ParamSpec* spec = find_parameter(name);
  if (spec == nullptr) return "";
  if (spec->computed_default) {
    Result<std::string> value = expand_param(name);
    if (!value) return "";
    std::string escaped;
    for (char c : *value) {
      escaped += c;
      if (c == '$') escaped += '$';
    }
    return escaped;
  }
  return std::string(spec->default_value);
}

Result<std::string> MainConfig::expand(std::string_view text, int depth) const {
  Expander expander(values_, "value");
  std::string out;
  if (Status s = expander.expand(text, depth, &out); !s) return s.error();
  return out;
}

// Depth -1: the text itself is not a parameter value, so "$name" in it may go as deep as
// get("name") does.
Result<std::string> MainConfig::expand_text(std::string_view text) const {
  return expand(text, -1);
}

Result<std::string> MainConfig::expand_param(std::string_view name) const {
  Expander expander(values_, name);
  std::string out;
  std::string dollar_name = "${" + std::string(name) + "}";
  if (Status s = expander.expand(dollar_name, -1, &out); !s) return s.error();
  return out;
}

bool MainConfig::set_by_override(std::string_view name) const {
  auto it = origins_.find(name);
  return it != origins_.end() && it->second.line == 0;
}

std::string MainConfig::get(std::string_view name) const {
  spec_or_panic(name);
  Result<std::string> value = expand_param(name);
  if (!value)
    log::panic(fmt::format("MainConfig: {} was not checked: {}", name, value.error().message));
  return std::move(value).value();
}

namespace {
int64_t get_number(const MainConfig& config, std::string_view name, ParamType type) {
  const ParamSpec& spec = spec_or_panic(name);
  if (spec.type != type) {
    log::panic(fmt::format("MainConfig: {} has type {}, not {}", name, param_type_name(spec.type),
                           param_type_name(type)));
  }
  std::string value = config.get(name);
  int64_t number = 0;
  if (!convert(spec, value, &number)) {
    log::panic(fmt::format("MainConfig: {} = '{}' was not checked", name, shown(value)));
  }
  return number;
}
}  // namespace

int64_t MainConfig::get_int(std::string_view name) const {
  return get_number(*this, name, ParamType::kInt);
}
int64_t MainConfig::get_size(std::string_view name) const {
  return get_number(*this, name, ParamType::kSize);
}
int64_t MainConfig::get_seconds(std::string_view name) const {
  return get_number(*this, name, ParamType::kTime);
}
bool MainConfig::get_bool(std::string_view name) const {
  return get_number(*this, name, ParamType::kBool) != 0;
}

std::vector<std::string> MainConfig::get_list(std::string_view name) const {
  return split_list(get(name));
}

}  // namespace postern
