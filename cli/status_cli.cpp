// `postern status [--json]`: postern-master, each service, the queue and the certificates at a
// glance (gathered by cli/status_report.*), as text or one JSON document. Exit status: 0 running
// and every service up, 1 running with a service throttled (or its state unknown), 4 not
// running (postern(8)). Runs in the `postern` command; everything printed from files (service
// names, reasons, subjects) was made printable where it was read.
#include <fmt/format.h>
#include <time.h>

#include <nlohmann/json.hpp>

#include "cli/cli_output.hpp"
#include "cli/command_groups.hpp"
#include "cli/exit_codes.hpp"
#include "cli/status_report.hpp"

namespace postern::cli {
namespace {

constexpr std::string_view kUsage = "usage: postern [-c config_dir] status [--json]\n";

std::string iso_utc(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) return "";
  char buffer[32];
  size_t n = ::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buffer, n);
}

std::string local_text(int64_t unix_seconds, const char* format = "%Y-%m-%d %H:%M:%S") {
  time_t t = static_cast<time_t>(unix_seconds);
  tm tm{};
  if (::localtime_r(&t, &tm) == nullptr) return "?";
  char buffer[64];
  size_t n = ::strftime(buffer, sizeof buffer, format, &tm);
  return std::string(buffer, n);
}

// "45s", "12m 3s", "2h 5m", "3d 4h"
std::string span_text(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 60) return fmt::format("{}s", seconds);
  if (seconds < 3600) return fmt::format("{}m {}s", seconds / 60, seconds % 60);
  if (seconds < 86400) return fmt::format("{}h {}m", seconds / 3600, seconds % 3600 / 60);
  return fmt::format("{}d {}h", seconds / 86400, seconds % 86400 / 3600);
}

nlohmann::json time_or_null(int64_t unix_seconds) {
  return unix_seconds > 0 ? nlohmann::json(iso_utc(unix_seconds)) : nlohmann::json(nullptr);
}

nlohmann::json to_json(const StatusReport& report) {
  nlohmann::json doc;
  nlohmann::json master = {{"running", report.master_running}};
  master["pid"] = report.master_running ? nlohmann::json(report.master_pid) : nullptr;
  master["started"] = report.state ? time_or_null(report.state->started) : nullptr;
  const std::string& problem = report.master_running ? report.state_problem : report.master_problem;
  master["problem"] = problem.empty() ? nlohmann::json(nullptr) : nlohmann::json(problem);
  doc["master"] = master;

  nlohmann::json services = nlohmann::json::array();
  if (report.state) {
    for (const ServiceState& service : report.state->services) {
      services.push_back({{"name", service.name},
                          {"command", service.command},
                          {"listen", service.listen},
                          {"state", service.state},
                          {"workers", service.workers},
                          {"max_processes", service.max_processes},
                          {"crashes", service.crashes},
                          {"last_exit", service.last_exit.empty()
                                            ? nlohmann::json(nullptr)
                                            : nlohmann::json(service.last_exit)},
                          {"last_exit_at", time_or_null(service.last_exit_at)},
                          {"throttled_until", time_or_null(service.throttled_until)}});
    }
  }
  doc["services"] = services;

  nlohmann::json queue = nlohmann::json::object();
  nlohmann::json queue_errors = nlohmann::json::object();
  for (const QueueFolderCount& count : report.queue) {
    if (count.error.empty()) {
      queue[count.folder] = count.messages;
    } else {
      queue[count.folder] = nullptr;
      queue_errors[count.folder] = count.error;
    }
  }
  doc["queue"] = queue;
  doc["queue_errors"] = queue_errors;

  if (report.oldest_deferred) {
    const OldestDeferred& oldest = *report.oldest_deferred;
    nlohmann::json reasons = nlohmann::json::array();
    for (const DeferReason& reason : oldest.reasons) {
      reasons.push_back({{"recipient", reason.address}, {"dsn", reason.dsn},
                         {"reason", reason.reason}});
    }
    doc["oldest_deferred"] = {
        {"queue_id", oldest.queue_id},
        {"arrival", time_or_null(oldest.arrival_time)},
        {"age_seconds", std::max<int64_t>(0, report.now - oldest.arrival_time)},
        {"reason", oldest.reasons.empty() ? nlohmann::json(nullptr)
                                          : nlohmann::json(oldest.reasons.front().reason)},
        {"recipients", reasons}};
  } else {
    doc["oldest_deferred"] = nullptr;
  }

  nlohmann::json certificates = nlohmann::json::array();
  for (const CertificateFile& file : report.certificates) {
    nlohmann::json entries = nlohmann::json::array();
    for (const Certificate& certificate : file.certificates) {
      int64_t days = days_left(certificate.not_after, report.now);
      entries.push_back({{"subject", certificate.subject},
                         {"not_after", iso_utc(certificate.not_after)},
                         {"not_after_unix", certificate.not_after},
                         {"days_left", days},
                         {"warning", days < kCertificateWarningDays}});
    }
    certificates.push_back({{"path", file.path},
                            {"parameters", file.parameters},
                            {"certificates", entries},
                            {"error", file.error.empty() ? nlohmann::json(nullptr)
                                                         : nlohmann::json(file.error)}});
  }
  doc["certificates"] = certificates;
  doc["exit_status"] = status_exit_code(report);
  return doc;
}

std::string service_line(const ServiceState& service, int64_t now) {
  std::string what = service.name == service.command
                         ? service.name
                         : fmt::format("{} ({})", service.name, service.command);
  std::string line = fmt::format("  {:<28} ", what);
  if (service.state == "throttled") {
    line += fmt::format("THROTTLED until {} (in {})", local_text(service.throttled_until, "%H:%M:%S"),
                        span_text(service.throttled_until - now));
  } else if (service.state == "waiting") {
    line += "waiting for the previous workers to leave";
  } else {
    line += fmt::format("up, {} of {} worker{}", service.workers, service.max_processes,
                        service.max_processes == 1 ? "" : "s");
  }
  if (service.crashes > 0 || !service.last_exit.empty()) {
    line += fmt::format("; {} crash{}", service.crashes, service.crashes == 1 ? "" : "es");
    if (!service.last_exit.empty()) {
      line += fmt::format(", last: {} at {}", service.last_exit,
                          local_text(service.last_exit_at, "%H:%M:%S"));
    }
  }
  return line + "\n";
}

std::string to_text(const StatusReport& report) {
  std::string out;
  if (!report.master_running) {
    out += report.master_problem + "\n";  // "postern-master is not running (no ...)"
  } else if (report.state) {
    out += fmt::format("postern-master: running, pid {}, since {} ({})\n", report.master_pid,
                       local_text(report.state->started),
                       span_text(report.now - report.state->started));
  } else {
    out += fmt::format("postern-master: running, pid {}; services unknown: {}\n",
                       report.master_pid, report.state_problem);
  }
  if (report.state) {
    out += "services:\n";
    for (const ServiceState& service : report.state->services) {
      out += service_line(service, report.now);
    }
  }
  out += "queue:\n ";
  for (const QueueFolderCount& count : report.queue) {
    out += count.error.empty() ? fmt::format(" {} {}", count.folder, count.messages)
                               : fmt::format(" {} ?", count.folder);
  }
  out += "\n";
  for (const QueueFolderCount& count : report.queue) {
    if (!count.error.empty()) out += fmt::format("  {}: {}\n", count.folder, count.error);
  }
  if (report.oldest_deferred) {
    const OldestDeferred& oldest = *report.oldest_deferred;
    out += fmt::format("  oldest deferred: {}, {} old", oldest.queue_id,
                       span_text(report.now - oldest.arrival_time));
    if (!oldest.reasons.empty()) {
      out += fmt::format(": {} ({})", oldest.reasons.front().reason, oldest.reasons.front().dsn);
    }
    out += "\n";
  }
  out += "certificates:\n";
  if (report.certificates.empty()) out += "  none named in main.cf\n";
  for (const CertificateFile& file : report.certificates) {
    std::string named;
    for (const std::string& parameter : file.parameters) {
      named += named.empty() ? parameter : ", " + parameter;
    }
    if (!file.error.empty()) {
      out += fmt::format("! {} ({}): {}\n", file.path, named, file.error);
      continue;
    }
    for (size_t i = 0; i < file.certificates.size(); ++i) {
      const Certificate& certificate = file.certificates[i];
      int64_t days = days_left(certificate.not_after, report.now);
      out += fmt::format("{} {}{}: {} expires {} ({})\n",
                         days < kCertificateWarningDays ? "!" : " ",
                         i == 0 ? file.path : "  chain",
                         i == 0 ? " (" + named + ")" : "", certificate.subject,
                         local_text(certificate.not_after, "%Y-%m-%d"),
                         days < 0 ? fmt::format("EXPIRED {} days ago", -days)
                                  : fmt::format("{} days left", days));
    }
  }
  return out;
}

}  // namespace

int run_status(const Invocation& invocation) {
  if (wants_help(invocation.words)) return print_help(kUsage);
  Result<ParsedArgs> args = parse_args(invocation.words, {{"--json"}});
  if (!args) return usage_error(invocation, args.error().message, kUsage);
  if (!args->operands.empty()) return usage_error(invocation, "no arguments expected", kUsage);
  std::optional<MainConfig> config = load_main_config(invocation);
  if (!config) return kExitFailed;
  StatusReport report = gather_status(*config, invocation.config_dir);
  if (args->has("--json")) {
    print_json(to_json(report));
  } else {
    write_stdout(to_text(report));
  }
  if (finish_stdout() != kExitOk) return kExitFailed;
  return status_exit_code(report);
}

}  // namespace postern::cli
