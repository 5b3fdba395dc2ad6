// What `postern user|alias|domain` do once their words are parsed (accounts_cli.cpp): one edit of
// the accounts file under its lock, written atomically and read back (accounts_file.hpp), then
// master reloaded and waited for (accounts_reload.hpp); and the listings, as text or JSON. Runs
// in the `postern` command; the caller has checked who runs it (is_admin) for the edits.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "cli/invocation.hpp"
#include "lib/auth/accounts.hpp"

namespace postern::cli {

// An edit of the data; its Error decides the exit status (accounts_exit_status).
using AccountsEdit = std::function<Status(AccountsData&)>;

// Locks, reads, edits, writes, reloads; prints "postern COMMAND: <done>; <how it took effect>"
// on stdout, or the error on stderr. Returns the exit status.
int edit_accounts(const Invocation& invocation, const MainConfig& config, const AccountsEdit& edit,
                  std::string_view done);

// kParse -> usage (2), kNotFound -> 3, kConfig -> 5 (the accounts file is broken), else 1.
int accounts_exit_status(const Error& error);
// Prints "postern COMMAND: <error>" and returns accounts_exit_status(error).
int report_accounts_error(const Invocation& invocation, const Error& error);

// The listings. domain: only that one ("" for all; kNotFound when it is not ours).
Result<nlohmann::json> list_users(const AccountsData& data, const std::string& domain);
Result<nlohmann::json> list_aliases(const AccountsData& data, const std::string& domain);
nlohmann::json list_domains(const AccountsData& data);

// The text forms of those documents, one line per entry.
std::string users_text(const nlohmann::json& users);
std::string aliases_text(const nlohmann::json& aliases);
std::string domains_text(const nlohmann::json& domains);

}  // namespace postern::cli
