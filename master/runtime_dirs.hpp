// The folders the suite needs before any worker starts: the queue tree, virtual_mailbox_base
// and data_directory, owned by mail_owner when master runs as root. Process: master, at start
// and on SIGHUP (a changed path). Trusts main.cf's paths (the admin's).
#pragma once

#include "lib/config/main_cf.hpp"
#include "lib/base/result.hpp"
#include "master/mail_owner.hpp"

namespace postern::master {

Status ensure_runtime_directories(const MainConfig& config, const MailOwner& owner);

}  // namespace postern::master
