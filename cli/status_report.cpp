// Gathering `postern status` (see status_report.hpp).
#include "cli/status_report.hpp"

#include <dirent.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "cli/exit_codes.hpp"
#include "cli/master_process.hpp"
#include "lib/base/file_read.hpp"
#include "lib/queue/queue_dir.hpp"

namespace postern::cli {
namespace {

// Names in dir not starting with '.'; ids gets the queue-ID-shaped ones when not null.
Result<int64_t> count_folder(const std::string& dir, std::vector<std::string>* ids) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return int64_t{0};
    return Error::system("cannot read " + dir);
  }
  int64_t count = 0;
  while (dirent* entry = ::readdir(d)) {
    if (entry->d_name[0] == '.') continue;
    ++count;
    if (ids && is_queue_id(entry->d_name)) ids->emplace_back(entry->d_name);
  }
  ::closedir(d);
  return count;
}

void read_master(const MainConfig& config, StatusReport& report) {
  const QueueLayout layout{config.get("queue_directory")};
  Result<pid_t> master = running_master(layout.pid_file());
  if (!master) {
    report.master_problem = master.error().describe();
    return;
  }
  report.master_running = true;
  report.master_pid = *master;
  const std::string path = master_state_path(layout.root);
  Result<std::string> text = read_small_file(path, kMaxStateFileBytes);
  if (!text) {
    report.state_problem = text.error().sys_errno == ENOENT
                               ? "postern-master has not published its services (" + path + ")"
                               : text.error().describe();
    return;
  }
  Result<MasterState> state = parse_master_state(*text);
  if (!state) {
    report.state_problem = path + ": " + state.error().describe();
    return;
  }
  if (state->pid != report.master_pid) {
    report.state_problem = fmt::format("{} is stale: written by pid {}, not the running master",
                                       path, state->pid);
    return;
  }
  report.state = std::move(state).value();
}

void read_oldest_deferred(const QueueLayout& layout, std::vector<std::string> ids,
                          StatusReport& report) {
  std::sort(ids.begin(), ids.end());  // queue IDs sort by arrival time
  size_t tried = 0;
  for (const std::string& id : ids) {
    if (++tried > kMaxOldestCandidates) break;
    Result<QueueFile> file = QueueFile::open(layout.deferred() + "/" + id, false);
    if (!file) continue;  // moved on meanwhile, or damaged: the next one
    OldestDeferred oldest;
    oldest.queue_id = id;
    oldest.arrival_time = file->envelope().arrival_time;
    if (auto text = read_small_file(layout.defer() + "/" + id, kMaxDeferFileBytes)) {
      oldest.reasons = parse_defer_reasons(*text);
    }
    report.oldest_deferred = std::move(oldest);
    return;
  }
}

}  // namespace

StatusReport gather_status(const MainConfig& config, const std::string& config_dir) {
  StatusReport report;
  report.now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  read_master(config, report);

  const QueueLayout layout{config.get("queue_directory")};
  std::vector<std::string> deferred_ids;
  for (const char* folder : kStatusQueueFolders) {
    QueueFolderCount count;
    count.folder = folder;
    const bool deferred = std::string_view(folder) == "deferred";
    Result<int64_t> counted = count_folder(layout.root + "/" + folder,
                                           deferred ? &deferred_ids : nullptr);
    if (counted) {
      count.messages = *counted;
    } else {
      count.error = counted.error().describe();
    }
    report.queue.push_back(std::move(count));
  }
  read_oldest_deferred(layout, std::move(deferred_ids), report);

  report.certificates = named_certificate_files(config, config_dir + "/master.cf");
  for (CertificateFile& file : report.certificates) read_certificates(file);
  return report;
}

int status_exit_code(const StatusReport& report) {
  if (!report.master_running) return kExitNotRunning;
  if (!report.state) return kExitFailed;
  for (const ServiceState& service : report.state->services) {
    if (service.state != "up") return kExitFailed;
  }
  return kExitOk;
}

}  // namespace postern::cli
