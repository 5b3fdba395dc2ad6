// The subcommands of `postern`, one function each, in the order postern(8) lists them. Each
// parses its own words (after the subcommand's name), answers --help, and returns an exit status
// (cli/exit_codes.hpp). main.cpp picks one by name.
#pragma once

#include <string_view>

#include "cli/invocation.hpp"

namespace postern::cli {

struct CommandGroup {
  std::string_view name;
  std::string_view summary;  // one line for `postern --help`
  int (*run)(const Invocation&);
};

int run_setup(const Invocation& invocation);    // setup_cli.cpp
int run_status(const Invocation& invocation);   // status_cli.cpp
int run_queue(const Invocation& invocation);    // queue_cli.cpp
int run_why(const Invocation& invocation);      // why_cli.cpp
int run_config(const Invocation& invocation);   // config_cli.cpp
int run_user(const Invocation& invocation);     // accounts_cli.cpp
int run_alias(const Invocation& invocation);    // accounts_cli.cpp
int run_domain(const Invocation& invocation);   // accounts_cli.cpp
int run_map(const Invocation& invocation);      // map_cli.cpp
int run_aliases(const Invocation& invocation);  // aliases_cli.cpp
int run_log(const Invocation& invocation);      // log_cli.cpp
int run_dkim(const Invocation& invocation);     // dkim_cli.cpp
int run_dns(const Invocation& invocation);      // dns_cli.cpp

inline constexpr CommandGroup kCommandGroups[] = {
    {"setup", "write main.cf for one of the four kinds of mail system", run_setup},
    {"status", "each service, the queue, the certificates at a glance", run_status},
    {"queue", "list, show, flush, delete, hold, release, requeue queued mail", run_queue},
    {"why", "the log lines of one message: what happened to it", run_why},
    {"config", "show, check and set main.cf parameters", run_config},
    {"user", "add, list, delete users and set their passwords", run_user},
    {"alias", "add, list, delete aliases of our domains", run_alias},
    {"domain", "add, list, delete our domains", run_domain},
    {"map", "query and build lookup tables (postmap's jobs)", run_map},
    {"aliases", "build the aliases table (what newaliases runs)", run_aliases},
    {"log", "reopen maillog_file after it was rotated", run_log},
    {"dkim", "make, rotate, list and remove the DKIM signing keys", run_dkim},
    {"dns", "the DNS records a domain should publish (MX, SPF, DKIM, DMARC, ...)", run_dns},
};

}  // namespace postern::cli
