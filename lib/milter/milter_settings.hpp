// What main.cf says about milters, read once when a daemon starts: the list of milters of one
// service (smtpd_milters, submission_milters or non_smtpd_milters) with Postfix's syntax, each
// entry either an address (unix:/path, local:/path, inet:host:port, inet6:host:port) or a
// group with per-milter settings, `{ inet:127.0.0.1:11332, default_action=accept,
// command_timeout=5s }`; the milter_* defaults; the macro lists per stage. Used by smtpd,
// submission and pickup. Trusts the admin's config but checks it: an unknown setting or a bad
// address is an error the daemon refuses to start with.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/config/main_cf.hpp"

namespace postern::milter {

// milter_default_action: what a milter that cannot be reached, times out or talks nonsense
// means for the mail. Postfix's meanings: accept = as if the milter were not configured (for
// the rest of the session); tempfail/reject = every later MAIL, RCPT and DATA of the session
// gets 451 4.7.1 / 550 5.7.1; quarantine = accept, but the message goes to hold/.
enum class DefaultAction { kAccept, kReject, kTempfail, kQuarantine };

std::string_view default_action_name(DefaultAction action);

struct MilterAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

struct MilterSpec {
  std::string name;  // the address as written ("inet:127.0.0.1:11332"): logs and replies
  MilterAddress address;
  DefaultAction default_action = DefaultAction::kTempfail;
  std::chrono::milliseconds connect_timeout{30000};
  std::chrono::milliseconds command_timeout{30000};
  std::chrono::milliseconds content_timeout{300000};
  uint32_t protocol = 6;
};

// The protocol stages whose macros are configurable (milter_<stage>_macros).
enum class MacroStage {
  kConnect,
  kHelo,
  kMail,
  kRcpt,
  kData,
  kEndOfHeaders,
  kEndOfMessage,
  kUnknown,
  kCount
};

struct MilterSettings {
  std::vector<MilterSpec> milters;  // in order; empty = no milters
  // Macro names sent at each stage unless a milter asked for its own list (version 6).
  std::vector<std::string> macros[static_cast<size_t>(MacroStage::kCount)];
  std::string daemon_name;  // milter_macro_daemon_name ({daemon_name})
  std::string hostname;     // myhostname (j)

  bool empty() const { return milters.empty(); }
  const std::vector<std::string>& stage_macros(MacroStage stage) const {
    return macros[static_cast<size_t>(stage)];
  }
};

// Reads the list in parameter `list_parameter` of config and the milter_* parameters.
Result<MilterSettings> load_milter_settings(const MainConfig& config,
                                            std::string_view list_parameter);

// The parsing of one list, exposed for tests: defaults come from `base`; a relative unix path
// ("unix:private/authmilter") is taken relative to unix_directory (load_milter_settings passes
// queue_directory, where Postfix's daemons run).
Result<std::vector<MilterSpec>> parse_milter_list(std::string_view text, const MilterSpec& base,
                                                  std::string_view unix_directory = {});
// "unix:/p", "local:/p", "inet:host:port", "inet6:host:port" (host may be [v6]); names other
// than numeric addresses and localhost are resolved here (once, at daemon start).
Result<MilterAddress> resolve_milter_address(std::string_view text,
                                             std::string_view unix_directory = {});

}  // namespace postern::milter
