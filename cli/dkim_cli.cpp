// `postern dkim keygen|rotate|list|remove`: parses the words and runs cli/dkim_commands.* (see
// command_groups.hpp). The keys live in main.cf's dkim_key_directory, one folder per domain
// (lib/dkim/dkim_key_store.hpp); keygen, rotate and remove change them, so only root or
// mail_owner may run those. The domain, selector, type and bits come from the command line:
// each is checked here, a bad one is a usage error (exit 2) before anything is read.
#include <fmt/format.h>

#include <charconv>
#include <cstdio>

#include "cli/cli_output.hpp"
#include "cli/command_groups.hpp"
#include "cli/dkim_commands.hpp"
#include "cli/dns_records.hpp"
#include "cli/exit_codes.hpp"
#include "cli/master_process.hpp"
#include "lib/base/ascii.hpp"

namespace postern::cli {
namespace {

constexpr std::string_view kUsage =
    "usage: postern [-c config_dir] dkim keygen DOMAIN [--selector S] [--type rsa|ed25519]\n"
    "                                    [--bits N] [--force]\n"
    "       postern [-c config_dir] dkim rotate DOMAIN [--type rsa|ed25519] [--bits N]\n"
    "       postern [-c config_dir] dkim list [DOMAIN] [--json]\n"
    "       postern [-c config_dir] dkim remove DOMAIN SELECTOR [--force]\n"
    "Keys: $dkim_key_directory/DOMAIN/SELECTOR.key (signing), DOMAIN/retired/ (no longer\n"
    "signing, record still published). --bits: RSA only, 1024 to 4096 (default 2048).\n"
    "keygen --force: also for a domain that is not ours; remove --force: a signing key too.\n";

struct Words {
  std::string domain;
  std::string selector;
  std::optional<DkimKeyType> type;
  int bits = 0;  // 0: not given
};

// The options and operands every action shares, checked; a usage error's text otherwise.
Result<Words> check_words(const ParsedArgs& args) {
  Words words;
  if (args.operands.size() >= 2) {
    words.domain = ascii_lowercase(args.operands[1]);
    if (!is_valid_dkim_domain(words.domain)) {
      return Error::parse("\"" + args.operands[1] + "\" is not a domain name");
    }
  }
  if (std::optional<std::string> selector = args.value("--selector")) {
    words.selector = ascii_lowercase(*selector);
    if (!is_valid_dkim_selector(words.selector)) {
      return Error::parse("\"" + *selector + "\" is not a selector (one DNS label: a-z 0-9 -)");
    }
  }
  if (std::optional<std::string> type = args.value("--type")) {
    words.type = parse_dkim_key_type(*type);
    if (!words.type) return Error::parse("--type is rsa or ed25519, not \"" + *type + "\"");
  }
  if (std::optional<std::string> bits = args.value("--bits")) {
    int value = 0;
    auto [end, error] = std::from_chars(bits->data(), bits->data() + bits->size(), value);
    if (error != std::errc() || end != bits->data() + bits->size() ||
        value < kMinGeneratedDkimRsaBits || value > kMaxGeneratedDkimRsaBits) {
      return Error::parse(fmt::format("--bits is {} to {}, not \"{}\"", kMinGeneratedDkimRsaBits,
                                      kMaxGeneratedDkimRsaBits, *bits));
    }
    if (words.type == DkimKeyType::kEd25519) {
      return Error::parse("--bits is for RSA keys; Ed25519 keys have no size to choose");
    }
    words.bits = value;
  }
  return words;
}

int denied(const MainConfig& config) {
  std::fprintf(stderr, "postern dkim: only root or %s may change the DKIM keys\n",
               config.get("mail_owner").c_str());
  return kExitDenied;
}

void print_new_key(const NewDkimKey& made) {
  const DkimKeyEntry& key = made.key;
  std::string text = fmt::format("postern dkim: new {} key of {} bits for {}, selector {}: {}\n",
                                 dkim_key_type_name(key.public_key.type), key.public_key.bits,
                                 key.domain, key.selector, key.path);
  for (const DkimKeyEntry& old : made.retired_keys) {
    text +=
        fmt::format("postern dkim: key {} retired (signs no more): {}\n", old.selector, old.path);
  }
  text += fmt::format("Publish this record in the zone of {} now:\n\n", key.domain);
  text += zone_text(dkim_record(key));
  write_stdout(text);
}

// postern-authmilter reads the keys when it starts: a running suite is reloaded so that the
// new set signs at once. A suite that is not running reads them when it starts.
void reload_for_keys(const MainConfig& config) {
  Result<pid_t> master = reload_master(config);
  if (master) {
    write_stdout(
        fmt::format("postern-master (pid {}) reloaded: postern-authmilter signs with "
                    "the keys above from now on\n",
                    *master));
  } else if (master.error().kind != ErrorKind::kTemporary) {
    std::fprintf(stderr, "postern dkim: could not reload postern-master: %s\n",
                 master.error().describe().c_str());
  }
}

int run_keygen(const Invocation& invocation, const ParsedArgs& args, const Words& words) {
  std::optional<MainConfig> config = load_dkim_config(invocation);
  if (!config) return kExitFailed;
  if (!is_admin(*config)) return denied(*config);
  if (!args.has("--force")) {
    Result<bool> ours = is_our_mail_domain(*config, words.domain);
    if (!ours) return report_failure(invocation, "keygen", ours.error());
    if (!*ours) {
      std::fprintf(stderr,
                   "postern dkim keygen: %s is neither in mydestination nor a domain of the "
                   "accounts file (--force makes a key all the same)\n",
                   words.domain.c_str());
      return kExitNotFound;
    }
  }
  Result<DkimKeyStore> store = open_dkim_key_store(*config);
  if (!store) return report_failure(invocation, "keygen", store.error());
  const DkimKeyType type = words.type.value_or(DkimKeyType::kRsa);
  Result<NewDkimKey> made = make_dkim_key(*store, words.domain, words.selector, type,
                                          words.bits != 0 ? words.bits : kDefaultDkimRsaBits);
  if (!made) return report_failure(invocation, "keygen", made.error());
  print_new_key(*made);
  reload_for_keys(*config);
  return finish_stdout();
}

int run_rotate(const Invocation& invocation, const Words& words) {
  std::optional<MainConfig> config = load_dkim_config(invocation);
  if (!config) return kExitFailed;
  if (!is_admin(*config)) return denied(*config);
  Result<DkimKeyStore> store = open_dkim_key_store(*config);
  if (!store) return report_failure(invocation, "rotate", store.error());
  Result<std::vector<NewDkimKey>> rotated =
      rotate_dkim_keys(*store, words.domain, words.type, words.bits);
  if (!rotated) return report_failure(invocation, "rotate", rotated.error());
  for (const NewDkimKey& made : *rotated) {
    print_new_key(made);
    write_stdout("\n");
  }
  write_stdout(fmt::format(
      "Reminder: keep the records of retired keys published for a week or so, so that mail\n"
      "signed with them still verifies; then remove them from the zone and run\n"
      "postern dkim remove {} SELECTOR. postern dns {} prints every record.\n",
      words.domain, words.domain));
  reload_for_keys(*config);
  return finish_stdout();
}

nlohmann::json key_json(const DkimKeyEntry& key) {
  return {{"domain", key.domain},
          {"selector", key.selector},
          {"type", dkim_key_type_name(key.public_key.type)},
          {"bits", key.public_key.bits},
          {"state", key.retired ? "retired" : "signing"},
          {"path", key.path},
          {"record_name", dkim_record(key).name},
          {"record", key.public_key.record}};
}

int run_list(const Invocation& invocation, const ParsedArgs& args, const Words& words) {
  std::optional<MainConfig> config = load_dkim_config(invocation);
  if (!config) return kExitFailed;
  Result<DkimKeyStore> store = open_dkim_key_store(*config);
  if (!store) return report_failure(invocation, "list", store.error());
  std::vector<std::string> domains;
  if (!words.domain.empty()) {
    domains.push_back(words.domain);
  } else {
    Result<std::vector<std::string>> found = store->domains();
    if (!found) return report_failure(invocation, "list", found.error());
    domains = std::move(found).value();
  }
  nlohmann::json listed = nlohmann::json::array();
  std::string text;
  for (const std::string& domain : domains) {
    Result<std::vector<DkimKeyEntry>> keys = store->domain_keys(domain);
    if (!keys) return report_failure(invocation, "list", keys.error());
    for (const DkimKeyEntry& key : *keys) {
      listed.push_back(key_json(key));
      text += fmt::format("{:<30} {:<24} {:<7} {:>4}  {:<7}  {}\n", key.domain, key.selector,
                          dkim_key_type_name(key.public_key.type), key.public_key.bits,
                          key.retired ? "retired" : "signing", key.path);
    }
  }
  if (args.has("--json")) {
    print_json(listed);
  } else if (text.empty()) {
    write_stdout("postern dkim list: no keys in " + store->directory() + "\n");
  } else {
    write_stdout(text);
  }
  return finish_stdout();
}

int run_remove(const Invocation& invocation, const ParsedArgs& args, const Words& words) {
  const std::string selector = ascii_lowercase(args.operands[2]);
  if (!is_valid_dkim_selector(selector)) {
    return usage_error(invocation, "\"" + args.operands[2] + "\" is not a selector", kUsage);
  }
  std::optional<MainConfig> config = load_dkim_config(invocation);
  if (!config) return kExitFailed;
  if (!is_admin(*config)) return denied(*config);
  Result<DkimKeyStore> store = open_dkim_key_store(*config);
  if (!store) return report_failure(invocation, "remove", store.error());
  Status removed = store->remove_key(words.domain, selector, true);
  if (!removed && removed.error().kind == ErrorKind::kNotFound) {
    Result<bool> taken = store->selector_taken(words.domain, selector);
    if (!taken) return report_failure(invocation, "remove", taken.error());
    if (!*taken) {
      std::fprintf(stderr, "postern dkim remove: %s has no key %s\n", words.domain.c_str(),
                   selector.c_str());
      return kExitNotFound;
    }
    if (!args.has("--force")) {
      std::fprintf(stderr,
                   "postern dkim remove: %s is a signing key of %s: rotate it first, or give "
                   "--force (mail signed with it no longer verifies once its record is gone)\n",
                   selector.c_str(), words.domain.c_str());
      return kExitFailed;
    }
    removed = store->remove_key(words.domain, selector, false);
  }
  if (!removed) return report_failure(invocation, "remove", removed.error());
  write_stdout(
      fmt::format("postern dkim remove: key {} of {} removed; remove its record {} from the zone\n",
                  selector, words.domain, absolute_name(selector + "._domainkey." + words.domain)));
  return finish_stdout();
}

}  // namespace

int run_dkim(const Invocation& invocation) {
  if (wants_help(invocation.words)) return print_help(kUsage);
  Result<ParsedArgs> args = parse_args(
      invocation.words,
      {{"--selector", true}, {"--type", true}, {"--bits", true}, {"--force"}, {"--json"}});
  if (!args) return usage_error(invocation, args.error().message, kUsage);
  const std::vector<std::string>& operands = args->operands;
  if (operands.empty()) return usage_error(invocation, "which dkim command?", kUsage);
  const std::string& action = operands[0];
  struct Shape {
    std::string_view action;
    size_t min_operands, max_operands;
    std::vector<std::string_view> options;
  };
  const Shape shapes[] = {
      {"keygen", 2, 2, {"--selector", "--type", "--bits", "--force"}},
      {"rotate", 2, 2, {"--type", "--bits"}},
      {"list", 1, 2, {"--json"}},
      {"remove", 3, 3, {"--force"}},
  };
  const Shape* shape = nullptr;
  for (const Shape& each : shapes) {
    if (each.action == action) shape = &each;
  }
  if (shape == nullptr) return usage_error(invocation, "unknown dkim command " + action, kUsage);
  if (operands.size() < shape->min_operands || operands.size() > shape->max_operands) {
    return usage_error(invocation, "wrong number of arguments", kUsage);
  }
  for (const auto& [name, values] : args->options) {
    if (std::find(shape->options.begin(), shape->options.end(), name) == shape->options.end()) {
      return usage_error(invocation, "dkim " + action + " takes no " + name, kUsage);
    }
  }
  Result<Words> words = check_words(*args);
  if (!words) return usage_error(invocation, words.error().message, kUsage);
  if (action == "keygen") return run_keygen(invocation, *args, *words);
  if (action == "rotate") return run_rotate(invocation, *words);
  if (action == "list") return run_list(invocation, *args, *words);
  return run_remove(invocation, *args, *words);
}

}  // namespace postern::cli
