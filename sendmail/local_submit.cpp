// The -bm / -bs submission path of sendmail(1) (see local_submit.hpp).
#include "sendmail/local_submit.hpp"

#include <pwd.h>
#include <sysexits.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <vector>

#include "lib/config/mail_origin.hpp"
#include "lib/mime/message_headers.hpp"
#include "lib/queue/queue_dir.hpp"
#include "lib/smtp/address.hpp"
#include "sendmail/local_message.hpp"
#include "sendmail/maildrop_submit.hpp"

namespace postern::sendmail {
namespace {

constexpr size_t kMaxPasswdBuffer = 1 << 20;

int report(int code, const std::string& message) {
  std::fprintf(stderr, "sendmail: %s\n", message.c_str());
  return code;
}

}  // namespace

Caller current_caller() {
  Caller caller;
  uid_t uid = ::getuid();
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  while (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == ERANGE &&
         buffer.size() < kMaxPasswdBuffer) {
    buffer.resize(buffer.size() * 2);
  }
  if (found == nullptr) {
    caller.login = "uid" + std::to_string(uid);
    return caller;
  }
  caller.login = found->pw_name;
  std::string_view gecos = found->pw_gecos ? found->pw_gecos : "";
  caller.full_name = std::string(gecos.substr(0, gecos.find(',')));
  return caller;
}

LocalSubmitter::LocalSubmitter(const MainConfig& config, std::string config_dir, Caller caller)
    : config_(config),
      config_dir_(std::move(config_dir)),
      caller_(std::move(caller)),
      origin_(mail_origin(config)) {}

int LocalSubmitter::submit(const SendmailOptions& options,
                           const std::optional<std::string>& sender,
                           std::vector<std::string> recipients, std::string_view wire) const {
  LocalEnvelopeInput input;
  input.queue_id = new_queue_id();
  input.now = static_cast<int64_t>(std::time(nullptr));
  input.sender = sender.value_or(caller_.login);
  input.origin = origin_;
  input.notify = options.notify;
  input.ret = options.ret;
  input.envid = options.envid;
  input.body_type = options.body_type;

  LocalHeaderFixups fixups;
  fixups.extract_recipients = options.extract_recipients;
  fixups.from_address = qualify_address(input.sender.empty() ? caller_.login : input.sender,
                                        origin_);
  fixups.full_name = options.full_name.empty() ? caller_.full_name : options.full_name;
  fixups.origin = origin_;
  fixups.hostname = config_.get("myhostname");
  fixups.queue_id = input.queue_id;
  fixups.now = input.now;
  fixups.header_size_limit = static_cast<size_t>(config_.get_size("header_size_limit"));
  Result<PreparedMessage> prepared = prepare_local_message(wire, fixups);
  if (!prepared) return report(EX_DATAERR, prepared.error().message);

  input.recipients = std::move(recipients);
  for (std::string& address : prepared->header_recipients) {
    input.recipients.push_back(std::move(address));
  }
  if (input.recipients.empty()) {
    return report(EX_USAGE, options.extract_recipients
                                ? "no recipients in To:, Cc: or Bcc: nor on the command line"
                                : "no recipients specified");
  }
  Result<QueueEnvelope> envelope = build_local_envelope(input);
  if (!envelope) return report(EX_DATAERR, envelope.error().message);
  Result<std::string> image = encode_queue_file(*envelope, prepared->wire);
  if (!image) return report(EX_DATAERR, image.error().message);

  std::string postdrop = config_.get("daemon_directory") + "/postern-postdrop";
  return run_postdrop(postdrop, config_dir_, *image);
}

}  // namespace postern::sendmail
