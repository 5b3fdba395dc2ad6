// The master state file (lib/queue/master_state.hpp): written by postern-master, read by
// `postern status`. The reader treats the text as hostile: bounded size, service count and
// field length, numbers range-checked, frame checked.
#include "lib/queue/master_state.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "lib/base/unique_fd.hpp"

namespace postern {
namespace {

std::string field_text(std::string_view value) {
  std::string out;
  size_t limit = std::min(value.size(), kMaxStateFieldBytes);
  out.reserve(limit);
  for (size_t i = 0; i < limit; ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    out += (c < 0x20 || c >= 0x7f) ? '?' : static_cast<char>(c);
  }
  return out;
}

void add(std::string& line, std::string_view key, std::string_view value) {
  line += '\t';
  line += key;
  line += '=';
  line += field_text(value);
}

void add(std::string& line, std::string_view key, int64_t value) {
  add(line, key, std::to_string(value));
}

bool parse_number(std::string_view text, int64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return false;
  *out = value;
  return true;
}

// The "key=value" fields after the record's first word.
Result<std::vector<std::pair<std::string_view, std::string_view>>> split_fields(
    std::string_view rest, size_t line_number) {
  std::vector<std::pair<std::string_view, std::string_view>> fields;
  while (!rest.empty()) {
    if (rest.front() != '\t') return Error::parse(fmt::format("line {}: no TAB", line_number));
    rest.remove_prefix(1);
    size_t end = rest.find('\t');
    std::string_view field = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    size_t equals = field.find('=');
    if (equals == std::string_view::npos || equals == 0) {
      return Error::parse(fmt::format("line {}: a field without key=value", line_number));
    }
    if (field.size() - equals - 1 > kMaxStateFieldBytes) {
      return Error::limit(fmt::format("line {}: a field longer than {} bytes", line_number,
                                      kMaxStateFieldBytes));
    }
    if (fields.size() >= 64) return Error::limit(fmt::format("line {}: too many fields", line_number));
    fields.emplace_back(field.substr(0, equals), field.substr(equals + 1));
  }
  return fields;
}

}  // namespace

std::string master_state_path(const std::string& queue_directory) {
  return queue_directory + "/pid/master.state";
}

std::string format_master_state(const MasterState& state) {
  std::string text(kMasterStateVersionLine);
  text += "\nmaster";
  add(text, "pid", state.pid);
  add(text, "started", state.started);
  add(text, "updated", state.updated);
  add(text, "config", state.config_dir);
  text += '\n';
  size_t count = 0;
  for (const ServiceState& service : state.services) {
    if (++count > kMaxStateServices) break;
    text += "service";
    add(text, "name", service.name);
    add(text, "command", service.command);
    add(text, "listen", service.listen);
    add(text, "state", service.state);
    add(text, "workers", service.workers);
    add(text, "max_processes", service.max_processes);
    add(text, "crashes", service.crashes);
    add(text, "last_exit", service.last_exit);
    add(text, "last_exit_at", service.last_exit_at);
    add(text, "throttled_until", service.throttled_until);
    text += '\n';
  }
  text += "end\n";
  return text;
}

Result<MasterState> parse_master_state(std::string_view text) {
  if (text.size() > kMaxStateFileBytes) {
    return Error::limit(fmt::format("larger than {} bytes", kMaxStateFileBytes));
  }
  MasterState state;
  bool seen_master = false;
  bool seen_end = false;
  size_t line_number = 0;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    if (newline == std::string_view::npos) return Error::parse("the last line has no newline");
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline + 1);
    ++line_number;
    if (seen_end) return Error::parse(fmt::format("line {}: text after end", line_number));
    if (line_number == 1) {
      if (line != kMasterStateVersionLine) return Error::parse("not a postern-master-state 1 file");
      continue;
    }
    if (line == "end") {
      seen_end = true;
      continue;
    }
    size_t tab = line.find('\t');
    std::string_view kind = line.substr(0, tab);
    auto fields = split_fields(tab == std::string_view::npos ? std::string_view() : line.substr(tab),
                               line_number);
    if (!fields) return fields.error();
    auto number = [&](std::string_view key, std::string_view value, int64_t* out) -> Status {
      if (!parse_number(value, out)) {
        return Error::parse(fmt::format("line {}: {} is not a number", line_number, key));
      }
      return Status::success();
    };
    if (kind == "master") {
      if (seen_master) return Error::parse(fmt::format("line {}: a second master", line_number));
      seen_master = true;
      for (const auto& [key, value] : *fields) {
        Status ok;
        if (key == "pid") ok = number(key, value, &state.pid);
        else if (key == "started") ok = number(key, value, &state.started);
        else if (key == "updated") ok = number(key, value, &state.updated);
        else if (key == "config") state.config_dir = std::string(value);
        if (!ok) return ok.error();
      }
    } else if (kind == "service") {
      if (state.services.size() >= kMaxStateServices) {
        return Error::limit(fmt::format("more than {} services", kMaxStateServices));
      }
      ServiceState service;
      for (const auto& [key, value] : *fields) {
        Status ok;
        if (key == "name") service.name = std::string(value);
        else if (key == "command") service.command = std::string(value);
        else if (key == "listen") service.listen = std::string(value);
        else if (key == "state") service.state = std::string(value);
        else if (key == "workers") ok = number(key, value, &service.workers);
        else if (key == "max_processes") ok = number(key, value, &service.max_processes);
        else if (key == "crashes") ok = number(key, value, &service.crashes);
        else if (key == "last_exit") service.last_exit = std::string(value);
        else if (key == "last_exit_at") ok = number(key, value, &service.last_exit_at);
        else if (key == "throttled_until") ok = number(key, value, &service.throttled_until);
        if (!ok) return ok.error();
      }
      if (service.name.empty()) {
        return Error::parse(fmt::format("line {}: a service without a name", line_number));
      }
      state.services.push_back(std::move(service));
    } else {
      return Error::parse(fmt::format("line {}: unknown record", line_number));
    }
  }
  if (line_number == 0) return Error::parse("empty");
  if (!seen_master) return Error::parse("no master record");
  if (!seen_end) return Error::parse("cut short (no end line)");
  if (state.pid <= 0) return Error::parse("no master pid");
  return state;
}

Status write_master_state(const std::string& path, const MasterState& state) {
  const std::string text = format_master_state(state);
  const std::string tmp = path + ".tmp";
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) return Error::system("unlink " + tmp);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd) return Error::system("create " + tmp);
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Error error = Error::system("write " + tmp);
      ::unlink(tmp.c_str());
      return error;
    }
    written += static_cast<size_t>(n);
  }
  // fchmod: the umask must not make it unreadable to `postern status` run by mail_owner.
  if (::fchmod(fd.get(), 0644) != 0) {
    Error error = Error::system("chmod " + tmp);
    ::unlink(tmp.c_str());
    return error;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error error = Error::system("rename " + tmp + " to " + path);
    ::unlink(tmp.c_str());
    return error;
  }
  return Status::success();
}

}  // namespace postern
