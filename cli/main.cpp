// postern: the admin command. `postern [-c config_dir] queue list|flush|show ID`,
// `postern [-c config_dir] log reopen` and `postern [-c config_dir] aliases build`. Reads config_dir/main.cf (default /etc/postern) for
// queue_directory, mail_owner and maillog_file, then runs one command (cli/queue_commands.*,
// cli/log_commands.*). Runs as root or mail_owner from a shell; trusts main.cf and its arguments
// only as far as they are checked here. Exit status: 0 done, 1 failed, 2 usage.
#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cli/alias_commands.hpp"
#include "cli/log_commands.hpp"
#include "cli/queue_commands.hpp"
#include "lib/base/log.hpp"
#include "lib/config/main_cf.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr const char* kDefaultConfigDir = "/etc/postern";

int usage() {
  std::fputs(
      "usage: postern [-c config_dir] queue list\n"
      "       postern [-c config_dir] queue flush\n"
      "       postern [-c config_dir] queue show QUEUE_ID\n"
      "       postern [-c config_dir] queue release QUEUE_ID\n"
      "       postern [-c config_dir] log reopen\n"
      "       postern [-c config_dir] aliases build\n",
      stderr);
  return kExitUsage;
}

void write_stdout(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
}

// Root, or the user the daemons run as (the private/qmgr socket is theirs).
bool may_flush(const std::string& mail_owner) {
  if (::geteuid() == 0) return true;
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwnam_r(mail_owner.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    return false;
  }
  return found->pw_uid == ::geteuid();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace postern;
  log::init("postern", true);

  std::string config_dir = kDefaultConfigDir;
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-c") {
      if (i + 1 >= argc) return usage();
      config_dir = argv[++i];
    } else if (arg == "-h" || arg == "--help") {
      usage();
      return kExitOk;
    } else if (!arg.empty() && arg.front() == '-') {
      return usage();
    } else {
      words.emplace_back(arg);
    }
  }
  if (words.size() < 2 || (words[0] != "queue" && words[0] != "log" && words[0] != "aliases")) {
    return usage();
  }
  const std::string& command = words[1];
  if (words[0] == "log") {
    if (command != "reopen" || words.size() != 2) return usage();
  } else if (words[0] == "aliases") {
    if (command != "build" || words.size() != 2) return usage();
  } else {
    const bool takes_id = command == "show" || command == "release";
    if (takes_id != (words.size() == 3) || words.size() > 3) return usage();
    if (command != "list" && command != "flush" && !takes_id) return usage();
  }

  std::vector<ConfigWarning> warnings;
  Result<MainConfig> config = MainConfig::load(config_dir + "/main.cf", &warnings);
  if (!config) {
    std::fprintf(stderr, "postern: %s\n", config.error().describe().c_str());
    return kExitFailed;
  }
  if (words[0] == "log") {
    Result<std::string> reopened = reopen_log(*config);
    if (!reopened) {
      std::fprintf(stderr, "postern: log reopen: %s\n", reopened.error().describe().c_str());
      return kExitFailed;
    }
    std::printf("postern: log reopen: %s\n", reopened->c_str());
    return kExitOk;
  }
  if (words[0] == "aliases") {
    Result<size_t> built = build_alias_table(*config);
    if (!built) {
      std::fprintf(stderr, "postern: aliases build: %s\n", built.error().describe().c_str());
      return kExitFailed;
    }
    return kExitOk;  // the table's own log line says how many (newaliases prints nothing else)
  }
  const QueueLayout layout{config->get("queue_directory")};

  if (command == "list") {
    Result<QueueListTotals> listed = list_queue(layout, write_stdout);
    if (!listed) {
      std::fprintf(stderr, "postern: queue list: %s\n", listed.error().describe().c_str());
      return kExitFailed;
    }
    return std::fflush(stdout) == 0 ? kExitOk : kExitFailed;
  }
  if (command == "show") {
    Status shown = show_queue_message(layout, words[2], write_stdout);
    std::fflush(stdout);
    if (!shown) {
      std::fprintf(stderr, "postern: %s\n", shown.error().describe().c_str());
      return kExitFailed;
    }
    return kExitOk;
  }
  // flush, release
  if (!may_flush(config->get("mail_owner"))) {
    std::fprintf(stderr, "postern: queue %s: only root or %s may do that\n", command.c_str(),
                 config->get("mail_owner").c_str());
    return kExitFailed;
  }
  if (command == "release") {
    Status released = release_held_message(layout, words[2]);
    if (!released) {
      std::fprintf(stderr, "postern: queue release: %s\n", released.error().describe().c_str());
      return kExitFailed;
    }
    std::printf("postern: queue release: %s back in the queue\n", words[2].c_str());
    return kExitOk;
  }
  Result<int64_t> count = flush_queue(layout);
  if (!count) {
    std::fprintf(stderr, "postern: queue flush: cannot reach qmgr: %s (is postern running?)\n",
                 count.error().describe().c_str());
    return kExitFailed;
  }
  std::printf("postern: queue flush: %lld deferred message%s scheduled for delivery now\n",
              static_cast<long long>(*count), *count == 1 ? "" : "s");
  return kExitOk;
}
