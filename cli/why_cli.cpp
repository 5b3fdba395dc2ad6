// `postern why QUEUE_ID [--log FILE]... [--json]`: what happened to one message, from the log
// (cli/log_trace.*). Without --log: maillog_file when it is set (and not /dev/stdout), else
// syslog's /var/log/mail.log; each preceded by its rotated ".1" when that exists, so the lines
// come oldest first. Exit 3 when no line names the ID, 1 when no log could be read. Runs in the
// `postern` command, as whoever may read the log.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/cli_output.hpp"
#include "cli/command_groups.hpp"
#include "cli/exit_codes.hpp"
#include "cli/log_trace.hpp"

namespace postern::cli {
namespace {

constexpr std::string_view kUsage =
    "usage: postern [-c config_dir] why QUEUE_ID [--log FILE]... [--json]\n"
    "  the log lines of one message, and of the bounces and forwards it caused\n";
constexpr const char* kSyslogMailLog = "/var/log/mail.log";

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// The files to read, oldest first; empty (with a message printed) when main.cf cannot be read.
std::optional<std::vector<std::string>> default_logs(const Invocation& invocation) {
  std::optional<MainConfig> config = load_main_config(invocation);
  if (!config) return std::nullopt;
  std::string current = config->get("maillog_file");
  if (current.empty() || current == "/dev/stdout") current = kSyslogMailLog;
  std::vector<std::string> files;
  if (exists(current + ".1")) files.push_back(current + ".1");
  files.push_back(current);
  return files;
}

nlohmann::json to_json(const MessageTrace& trace, const std::vector<std::string>& files) {
  nlohmann::json lines = nlohmann::json::array();
  for (const TracedLine& traced : trace.lines()) {
    lines.push_back({{"file", traced.file},
                     {"queue_id", traced.queue_id},
                     {"time", traced.line.time},
                     {"host", traced.line.host},
                     {"program", traced.line.program},
                     {"pid", traced.line.pid >= 0 ? nlohmann::json(traced.line.pid)
                                                  : nlohmann::json(nullptr)},
                     {"text", traced.line.text}});
  }
  return {{"queue_id", trace.queue_ids().front()},
          {"queue_ids", trace.queue_ids()},
          {"log_files", files},
          {"lines", lines},
          {"truncated", trace.truncated()}};
}

}  // namespace

int run_why(const Invocation& invocation) {
  if (wants_help(invocation.words)) return print_help(kUsage);
  Result<ParsedArgs> args =
      parse_args(invocation.words, {{"--json"}, {"--log", true, true}});
  if (!args) return usage_error(invocation, args.error().message, kUsage);
  if (args->operands.size() != 1) return usage_error(invocation, "one queue ID, please", kUsage);
  const std::string& queue_id = args->operands[0];
  if (!is_searchable_queue_id(queue_id)) {
    return usage_error(invocation, "not a queue ID: letters and digits, at most 32", kUsage);
  }
  std::vector<std::string> files = args->values("--log");
  if (files.empty()) {
    auto found = default_logs(invocation);
    if (!found) return kExitFailed;
    files = std::move(found).value();
  }

  MessageTrace trace(queue_id);
  size_t read = 0;
  for (const std::string& file : files) {
    if (Status fed = trace.feed_file(file); !fed) {
      std::fprintf(stderr, "postern why: %s\n", fed.error().describe().c_str());
      continue;
    }
    ++read;
  }
  if (read == 0) {
    std::fprintf(stderr, "postern why: no log could be read; name one with --log FILE\n");
    return kExitFailed;
  }
  if (args->has("--json")) {
    print_json(to_json(trace, files));
  } else {
    for (const TracedLine& traced : trace.lines()) {
      write_stdout(traced.raw);
      write_stdout("\n");
    }
    if (trace.truncated()) {
      std::fprintf(stderr, "postern why: stopped at %zu lines or %zu messages\n",
                   kMaxTraceLines, kMaxTracedQueueIds);
    }
  }
  if (finish_stdout() != kExitOk) return kExitFailed;
  if (trace.lines().empty()) {
    std::fprintf(stderr, "postern why: no line about %s in %s\n", queue_id.c_str(),
                 files.back().c_str());
    return kExitNotFound;
  }
  return kExitOk;
}

}  // namespace postern::cli
