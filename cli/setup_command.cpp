// `postern setup`'s files, check and reload (see setup_command.hpp).
#include "cli/setup_command.hpp"

#include <netdb.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "cli/config_file_writer.hpp"
#include "cli/exit_codes.hpp"
#include "cli/main_cf_editor.hpp"
#include "cli/main_cf_template.hpp"
#include "cli/master_check.hpp"
#include "cli/master_process.hpp"
#include "lib/base/log.hpp"
#include "lib/config/main_cf.hpp"

namespace postern::cli {
namespace {

constexpr size_t kMaxMailnameFileBytes = 4096;
constexpr size_t kMaxConfigDirBytes = 1024;
constexpr std::string_view kDebianMailnameFile = "/etc/mailname";

// What the run would change or changed, one line each, for the admin to read.
struct ChangeReport {
  bool dry_run = false;
  void line(const std::string& text) const {
    std::printf("postern setup: %s%s\n", dry_run ? "would " : "", text.c_str());
  }
};

std::string shown_value(std::string_view value) {
  return value.empty() ? std::string("(empty)") : std::string(value);
}

// Whether path does not hold exactly text (a file that cannot be read counts as different).
bool file_differs(const std::string& path, std::string_view text) {
  Result<std::string> current = read_config_file(path, text.size() + 1);
  return !current || *current != text;
}

// The first line of an existing mail name file, if it is a usable name.
std::optional<std::string> existing_mailname(const std::string& path) {
  Result<std::string> text = read_config_file(path, kMaxMailnameFileBytes);
  if (!text) return std::nullopt;
  std::string_view first = *text;
  first = first.substr(0, first.find('\n'));
  while (!first.empty() && (first.back() == '\r' || first.back() == ' ' || first.back() == '\t')) {
    first.remove_suffix(1);
  }
  while (!first.empty() && (first.front() == ' ' || first.front() == '\t')) first.remove_prefix(1);
  Result<std::string> name = normalize_domain(first);
  if (!name) return std::nullopt;
  return std::move(name).value();
}

int fail(const Invocation& invocation, std::string_view what, const Error& error) {
  return report_failure(invocation, what, error);
}

}  // namespace

std::string host_fqdn() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  std::string host = name;
  addrinfo hints{};
  hints.ai_flags = AI_CANONNAME;
  hints.ai_family = AF_UNSPEC;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) == 0 && found != nullptr) {
    if (found->ai_canonname != nullptr &&
        std::string_view(found->ai_canonname).find('.') != std::string_view::npos) {
      host = found->ai_canonname;
    }
    ::freeaddrinfo(found);
  }
  Result<std::string> normalized = normalize_domain(host);
  return normalized ? std::move(normalized).value() : std::string("localhost");
}

int run_setup_command(const Invocation& invocation, const SetupOptions& options) {
  const ChangeReport report{options.dry_run};
  const std::string dir = absolute_config_dir(invocation.config_dir);
  // The folder's path goes into main.cf values (myorigin, the tables): a '$' would be expanded,
  // white space or a comma would split a list.
  if (dir.size() > kMaxConfigDirBytes || dir.find_first_of(" \t,$#\\\"'") != std::string::npos ||
      std::any_of(dir.begin(), dir.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    std::fprintf(stderr,
                 "postern setup: the configuration directory %s cannot be named in main.cf "
                 "(no white space, ',', '$', '#', quotes or control characters; at most %zu "
                 "bytes)\n",
                 log::printable(dir, kMaxConfigDirBytes).c_str(), kMaxConfigDirBytes);
    return kExitUsage;
  }
  const std::string main_cf_path = dir + "/main.cf";
  const bool debian_paths = dir == kDefaultConfigDir;
  const std::string mailname_file =
      debian_paths ? std::string(kDebianMailnameFile) : dir + "/mailname";

  // One setup or config set at a time (a dry run changes nothing and waits for nobody).
  UniqueFd lock;
  if (!options.dry_run) {
    Result<UniqueFd> locked = lock_config_directory(dir);
    if (!locked) return fail(invocation, "lock", locked.error());
    lock = std::move(locked).value();
  }

  // main.cf as it is, or the shipped one for a new configuration.
  std::string old_text;
  bool main_cf_exists = true;
  if (Result<std::string> text = read_config_file(main_cf_path, kMaxMainCfBytes); text) {
    old_text = std::move(text).value();
  } else if (text.error().kind == ErrorKind::kNotFound) {
    main_cf_exists = false;
    old_text = std::string(kMainCfTemplate);
  } else {
    return fail(invocation, "read main.cf", text.error());
  }
  Result<MainCfEditor> editor = MainCfEditor::parse(old_text);
  if (!editor) return fail(invocation, main_cf_path, editor.error());

  // The mail name: asked for, else the file's, else this host's name.
  std::optional<std::string> mailname_now = existing_mailname(mailname_file);
  std::string mailname = options.mailname.value_or(mailname_now.value_or(host_fqdn()));

  SetupRequest request;
  request.mode = options.mode;
  request.domains = options.domains;
  request.mailname = mailname;
  request.relayhost = options.relayhost;
  request.listen = options.listen;
  request.mailname_file = mailname_file;
  if (options.relay_user) request.credentials_table = "texthash:" + dir + "/relay_credentials";
  request.local_only_table = "texthash:" + dir + "/transport_local_only";
  editor->get("transport_maps", &request.current_transport_maps);
  editor->get("smtp_sasl_password_maps", &request.current_password_maps);

  if (!main_cf_exists) report.line("start " + main_cf_path + " from the shipped main.cf");
  for (const Setting& setting : mode_settings(request)) {
    std::string before;
    bool was_set = editor->get(setting.name, &before);
    if (!was_set && setting.value.empty() && setting.skip_empty_when_unset) continue;
    if (!was_set) {
      Result<bool> header = editor->ensure_comment_line(kAppendedHeader);
      if (!header) return fail(invocation, "main.cf", header.error());
    }
    Result<bool> changed = editor->set(setting.name, setting.value);
    if (!changed) return fail(invocation, "main.cf " + setting.name, changed.error());
    if (*changed) {
      report.line("change " + setting.name + ": " +
                  (was_set ? shown_value(before) : std::string("(not set)")) + " -> " +
                  shown_value(setting.value));
    }
  }
  Result<bool> block =
      editor->set_comment_block(kModeBlockBegin, kModeBlockEnd, mode_comment_block(request));
  if (!block) return fail(invocation, "main.cf", block.error());

  // The new main.cf must read as every process will read it, before anything is written.
  std::vector<ConfigWarning> warnings;
  Result<MainConfig> checked = MainConfig::parse(editor->text(), main_cf_path, &warnings);
  if (checked) {
    if (Status set = checked->set("config_directory", dir); !set) checked = set.error();
  }
  if (!checked) {
    std::fprintf(stderr, "postern setup: the new main.cf would not work, nothing written: %s\n",
                 checked.error().describe().c_str());
    return kExitBadConfig;
  }
  for (const ConfigWarning& warning : warnings) {
    std::fprintf(stderr, "postern setup: warning: %s\n", warning.describe().c_str());
  }

  const bool main_cf_changes = !main_cf_exists || editor->text() != old_text;
  const bool mailname_changes = mailname_now != mailname;
  if (mailname_changes) report.line("write " + mailname_file + ": " + mailname);
  const std::string credentials_path = dir + "/relay_credentials";
  const std::string credentials =
      options.relay_user && options.relay_password
          ? relay_credentials_text(options.relayhost, *options.relay_user, *options.relay_password)
          : std::string();
  if (options.relay_user && file_differs(credentials_path, credentials)) {
    report.line("write " + credentials_path + " (mode 0600): the login " + *options.relay_user +
                " for " + options.relayhost);
  }
  const std::string transport_path = dir + "/transport_local_only";
  const bool local_only = mode_info(options.mode).nothing_leaves;
  if (local_only && file_differs(transport_path, local_only_transport_text())) {
    report.line("write " + transport_path + ": every address to local delivery");
  }
  if (options.dry_run) {
    std::printf("postern setup: dry run: main.cf %s, nothing written\n",
                main_cf_changes ? "would change" : "would not change");
    return kExitOk;
  }

  // The files main.cf names first, main.cf last: a crash between them leaves the old main.cf
  // with files it does not use yet.
  const bool root = ::geteuid() == 0;
  if (mailname_changes) {
    Result<WriteOutcome> written = replace_file(mailname_file, mailname + "\n", NewFileMode{});
    if (!written) return fail(invocation, "write mailname", written.error());
  }
  if (options.relay_user && options.relay_password) {
    NewFileMode secret{0600, root ? 0u : static_cast<uid_t>(-1), root ? 0u : static_cast<gid_t>(-1),
                       true};
    Result<WriteOutcome> written = replace_file(credentials_path, credentials, secret);
    if (!written) return fail(invocation, "write relay_credentials", written.error());
  }
  if (local_only) {
    Result<WriteOutcome> written =
        replace_file(transport_path, local_only_transport_text(), NewFileMode{});
    if (!written) return fail(invocation, "write transport_local_only", written.error());
  }
  Result<WriteOutcome> written = replace_file(main_cf_path, editor->text(), NewFileMode{});
  if (!written) return fail(invocation, "write main.cf", written.error());
  std::printf("postern setup: %s %s (mode %s)\n",
              *written == WriteOutcome::kUnchanged ? "unchanged:" : "wrote", main_cf_path.c_str(),
              std::string(mode_info(options.mode).name).c_str());

  // The whole configuration (master.cf, accounts, tables too), as postern-master checks it.
  Result<MasterCheck> check = run_master_check(*checked, dir);
  if (!check) return fail(invocation, "check", check.error());
  if (check->exit_status != 0) {
    std::fprintf(stderr,
                 "postern setup: %s -t does not accept the configuration in %s (exit %d):\n%s",
                 check->program.c_str(), dir.c_str(), check->exit_status, check->output.c_str());
    return kExitBadConfig;
  }
  std::printf("postern setup: %s -t accepts the configuration\n", check->program.c_str());

  Result<pid_t> reloaded = reload_master(*checked);
  if (reloaded) {
    std::printf("postern setup: postern-master (pid %d) reloaded\n", static_cast<int>(*reloaded));
  } else if (reloaded.error().kind == ErrorKind::kTemporary) {
    std::printf("postern setup: postern-master is not running: this takes effect at its start\n");
  } else {
    return fail(invocation, "reload", reloaded.error());
  }
  return kExitOk;
}

}  // namespace postern::cli
