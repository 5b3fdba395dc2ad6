// "|command" targets of postern-local: the message goes to "/bin/sh -c command" on standard
// input, inside a run_as child (so as the user whose .forward named it, or as the owner of the
// aliases file, or default_privs). The command gets a clean environment (HOME, USER, LOGNAME,
// SHELL, PATH=/usr/bin:/bin, SENDER, RECIPIENT, LOCAL, DOMAIN, EXTENSION), its home as working
// directory, no descriptor of ours but 0-2, and its own session so that a timeout kills the
// whole group. What it writes on stdout and stderr is kept (kMaxCommandOutputBytes) for the
// bounce. Input: "From sender date", Return-Path:, Delivered-To:, then the message with LF line
// ends, as procmail and most delivery commands expect. Exit 0: delivered; 75 (EX_TEMPFAIL),
// a signal or the time limit: deferred; anything else: bounced (5.3.0) with its output.
#pragma once

#include <string>

#include "local/mailbox_delivery.hpp"

namespace postern::local {

inline constexpr size_t kMaxCommandOutputBytes = 1024;

struct CommandContext {
  std::string user;
  std::string home;
  std::string shell;
  std::string recipient;  // the address being delivered (RECIPIENT)
  std::string local_part, domain, extension;
};

// Call inside run_as (already the right user). time_limit_seconds: command_time_limit.
DeliveryOutcome run_delivery_command(const MessageCopy& copy, const std::string& command,
                                     const CommandContext& context, int time_limit_seconds);

}  // namespace postern::local
