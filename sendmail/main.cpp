// sendmail(1), mailq(1), newaliases(1), rmail, runq: the interface every Debian program that
// sends mail uses (cron, mailx, mutt, PHP, git send-email...). Runs as any local user and holds
// no privilege: a message goes to maildrop/ through the setgid helper postern-postdrop
// (local_submit), the queue commands run $command_directory/postern. Reads top to bottom:
// options, configuration (-C, else MAIL_CONFIG, else /etc/postern), then the mode.
// Exit codes follow sysexits.h: 0 only when the message is on disk.
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "lib/config/main_cf.hpp"
#include "lib/mime/message_headers.hpp"
#include "lib/smtp/address.hpp"
#include "sendmail/local_message.hpp"
#include "sendmail/local_submit.hpp"
#include "sendmail/sendmail_options.hpp"
#include "sendmail/smtp_stdio.hpp"

namespace {

using namespace postern;
using namespace postern::sendmail;

constexpr const char* kDefaultConfigDir = "/etc/postern";
constexpr size_t kReadChunkBytes = 64 * 1024;

int usage_error(const std::string& message) {
  std::fprintf(stderr, "sendmail: %s\n%.*s", message.c_str(),
               static_cast<int>(sendmail_usage().size()), sendmail_usage().data());
  return EX_USAGE;
}

// mailq and -q: the admin command does the work (it reads the queue as root or mail_owner).
int run_postern(const MainConfig& config, const std::string& config_dir,
                const std::vector<std::string>& words) {
  std::string program = config.get("command_directory") + "/postern";
  std::vector<const char*> argv = {"postern", "-c", config_dir.c_str()};
  for (const std::string& word : words) argv.push_back(word.c_str());
  argv.push_back(nullptr);
  ::execv(program.c_str(), const_cast<char* const*>(argv.data()));
  std::fprintf(stderr, "sendmail: cannot run %s: %s\n", program.c_str(), std::strerror(errno));
  return EX_UNAVAILABLE;
}

// Recipients as given on the command line: each word may hold a list ("a, b", "Name <a>").
Result<std::vector<std::string>> command_line_recipients(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  for (const std::string& word : words) {
    Result<std::vector<std::string>> list =
        parse_address_list(word, AddressListOptions{.allow_local_only = true});
    if (!list) return Error::parse("bad recipient \"" + word + "\": " + list.error().message);
    for (std::string& address : *list) out.push_back(std::move(address));
  }
  return out;
}

int data_error(const std::string& message) {
  std::fprintf(stderr, "sendmail: %s\n", message.c_str());
  return EX_DATAERR;
}

int deliver(const SendmailOptions& options, const MainConfig& config,
            const LocalSubmitter& submitter) {
  Result<std::vector<std::string>> recipients = command_line_recipients(options.recipients);
  if (!recipients) return data_error(recipients.error().message);
  if (recipients->empty() && !options.extract_recipients) {
    return usage_error("no recipients specified");
  }
  const int64_t size_limit = config.get_size("message_size_limit");
  WireMessageBuilder builder(options.ignore_dots,
                             size_limit == 0 ? UINT64_MAX : static_cast<uint64_t>(size_limit));
  std::vector<char> buffer(kReadChunkBytes);
  while (true) {
    ssize_t n = ::read(STDIN_FILENO, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::perror("sendmail: read standard input");
      return EX_IOERR;
    }
    if (n == 0 || builder.feed(std::string_view(buffer.data(), static_cast<size_t>(n)))) break;
  }
  builder.finish();
  if (builder.over_limit()) {
    std::fprintf(stderr, "sendmail: message larger than message_size_limit (%lld bytes)\n",
                 static_cast<long long>(size_limit));
    return EX_DATAERR;
  }
  return submitter.submit(options, options.sender, std::move(*recipients), builder.wire());
}

// -bv: what each address becomes, and whether it is a valid address at all.
int verify(const SendmailOptions& options, const LocalSubmitter& submitter) {
  Result<std::vector<std::string>> recipients = command_line_recipients(options.recipients);
  if (!recipients) return data_error(recipients.error().message);
  if (recipients->empty()) return usage_error("-bv needs addresses");
  int code = EX_OK;
  for (const std::string& raw : *recipients) {
    std::string qualified = qualify_address(raw, submitter.origin());
    AddressOptions address_options;
    address_options.allow_utf8 = true;
    Result<Address> parsed = parse_mailbox(qualified, address_options);
    if (parsed) {
      std::printf("%s: address ok as <%s>\n", raw.c_str(), parsed->to_string().c_str());
    } else {
      std::printf("%s: bad address: %s\n", raw.c_str(), parsed.error().message.c_str());
      code = EX_DATAERR;
    }
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  Result<SendmailOptions> parsed = parse_sendmail_args(args, argc > 0 ? argv[0] : "sendmail");
  if (!parsed) return usage_error(parsed.error().message);
  const SendmailOptions& options = *parsed;

  std::string config_dir = kDefaultConfigDir;
  if (const char* from_env = std::getenv("MAIL_CONFIG"); from_env && *from_env) {
    config_dir = from_env;
  }
  if (options.config_dir) config_dir = *options.config_dir;
  Result<MainConfig> config = MainConfig::load(config_dir + "/main.cf", nullptr);
  if (!config) {
    std::fprintf(stderr, "sendmail: %s\n", config.error().describe().c_str());
    return EX_CONFIG;
  }
  LocalSubmitter submitter(*config, config_dir, current_caller());

  switch (options.mode) {
    case SendmailMode::kDeliver:
      return deliver(options, *config, submitter);
    case SendmailMode::kSmtpStdio:
      return run_smtp_stdio(stdin, stdout, submitter, options, *config);
    case SendmailMode::kListQueue:
      return run_postern(*config, config_dir, {"queue", "list"});
    case SendmailMode::kFlush:
      return run_postern(*config, config_dir, {"queue", "flush"});
    case SendmailMode::kNewAliases:
      return run_postern(*config, config_dir, {"aliases", "build"});
    case SendmailMode::kVerify:
      return verify(options, submitter);
  }
  return EX_SOFTWARE;
}
