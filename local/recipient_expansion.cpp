// Alias, .forward and include expansion of postern-local (see recipient_expansion.hpp).
#include "local/recipient_expansion.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/ascii.hpp"
#include "lib/base/log.hpp"
#include "lib/base/unique_fd.hpp"
#include "lib/config/alias_target.hpp"
#include "lib/config/forward_file.hpp"
#include "lib/smtp/address.hpp"

namespace postern::local {
namespace {

// Where a target came from: decides allow_mail_to_commands / _files and whose rights apply.
enum class Source { kAlias, kForward, kInclude };

std::string_view source_word(Source source) {
  switch (source) {
    case Source::kAlias:
      return "alias";
    case Source::kForward:
      return "forward";
    case Source::kInclude:
      return "include";
  }
  return "alias";
}

std::pair<std::string, std::string> split_address(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return {std::string(address), ""};
  return {std::string(address.substr(0, at)), ascii_lowercase(address.substr(at + 1))};
}

class Expander {
 public:
  Expander(const LocalSettings& settings, const ExpansionSources& sources,
           const std::set<std::string>& delivered_to)
      : settings_(settings), sources_(sources), delivered_to_(delivered_to) {}

  std::vector<FinalDelivery> run(const std::string& address) {
    expand_address(address, 0);
    return std::move(out_);
  }

 private:
  void add(FinalDelivery delivery) {
    delivery.sender = owner_;
    if (out_.size() < kMaxFinalDeliveries) {
      out_.push_back(std::move(delivery));
    } else if (!overflow_) {
      overflow_ = true;
      out_.push_back(outcome_for(delivery.address,
                                 DeliveryOutcome::bounced("5.3.0", "too many alias targets")));
    }
  }

  static FinalDelivery outcome_for(const std::string& address, DeliveryOutcome outcome) {
    FinalDelivery d;
    d.kind = FinalDelivery::Kind::kOutcome;
    d.address = address;
    d.outcome = std::move(outcome);
    return d;
  }

  std::optional<Identity> privileged_default() const {
    return sources_.find_user(settings_.default_privs);
  }

  // One address of ours (or, when not ours, a forward).
  void expand_address(const std::string& raw, int depth) {
    std::string address = qualify_address(raw, settings_.origin);
    auto [local_part, domain] = split_address(address);
    if (!settings_.is_local_domain(domain)) {
      FinalDelivery d;
      d.kind = FinalDelivery::Kind::kForward;
      d.address = address;
      d.target = address;
      add(std::move(d));
      return;
    }
    const std::string lower = ascii_lowercase(local_part) + "@" + domain;
    if (depth > kMaxExpansionDepth) {
      add(outcome_for(address, DeliveryOutcome::bounced("5.4.6", "alias expansion too deep")));
      return;
    }
    if (delivered_to_.count(lower)) {
      add(outcome_for(address, DeliveryOutcome::bounced(
                                   "5.4.6", "mail forwarding loop for " + address)));
      return;
    }
    const std::string name = ascii_lowercase(local_part);
    const std::string base_name =
        ascii_lowercase(strip_extension(local_part, settings_.recipient_delimiter));
    if (!seen_.insert(lower).second) {
      // Named again: once is enough. A user whose .forward names the user (not "\\user"),
      // that is an address named while it is itself being expanded, still gets the mail in the
      // mailbox, as with sendmail; an alias loop with no user in it ends with no delivery,
      // which local_delivery bounces.
      if (!active_.count(lower)) return;
      if (std::optional<Identity> user = sources_.find_user(base_name)) mailbox(address, *user);
      return;
    }
    struct ActiveGuard {
      std::set<std::string>& active;
      const std::string& key;
      ~ActiveGuard() { active.erase(key); }
    } active_guard{active_, lower};
    active_.insert(lower);

    if (expand_alias(address, {name, base_name}, depth)) return;

    std::optional<Identity> user = sources_.find_user(base_name);
    if (!user) {
      if (base_name == "postmaster" || base_name == "mailer-daemon") {
        expand_address("root@" + domain, depth + 1);
        return;
      }
      add(outcome_for(address,
                      DeliveryOutcome::bounced("5.1.1", fmt::format("unknown user: \"{}\"",
                                                                    log::printable(base_name)))));
      return;
    }
    if (expand_forward(address, *user, depth)) return;
    mailbox(address, *user);
  }

  // The first of keys that is an alias: its targets. false when none is.
  bool expand_alias(const std::string& address, std::initializer_list<std::string> keys,
                    int depth) {
    for (const std::string& key : keys) {
      Result<std::optional<std::string>> value = sources_.find_alias(key);
      if (!value) {
        add(outcome_for(address, DeliveryOutcome::deferred(
                                     "4.3.0", "alias lookup failed: " + value.error().message)));
        return true;
      }
      if (!*value) continue;
      Result<std::vector<AliasTarget>> targets = parse_alias_targets(**value);
      if (!targets) {
        add(outcome_for(address, DeliveryOutcome::deferred(
                                     "4.3.5", "bad alias entry: " + targets.error().message)));
        return true;
      }
      std::optional<Identity> privs = privileged_default();
      // owner-NAME: the list's deliveries go out with it as sender, so that their bounces
      // reach the list's owner rather than the author (as in Postfix and sendmail).
      const std::string saved_owner = owner_;
      Result<std::optional<std::string>> owner = sources_.find_alias("owner-" + key);
      if (owner && *owner) owner_ = "owner-" + key + "@" + split_address(address).second;
      for (const AliasTarget& target : *targets) {
        dispatch(target, address, Source::kAlias, privs, depth);
      }
      owner_ = saved_owner;
      return true;
    }
    return false;
  }

  // The user's ~/.forward, when there is a usable one with targets.
  bool expand_forward(const std::string& address, const Identity& user, int depth) {
    std::optional<std::string> forward = sources_.read_file(user.home + "/.forward", user.uid);
    if (!forward) return false;
    Result<std::vector<AliasTarget>> targets = parse_forward(*forward, "~/.forward");
    if (!targets) {
      log::warning("{}/.forward of {}: {}; ignored", user.home, user.name,
                   targets.error().message);
      return false;
    }
    if (targets->empty()) return false;
    for (const AliasTarget& target : *targets) {
      dispatch(target, address, Source::kForward, user, depth);
    }
    return true;
  }

  void mailbox(const std::string& address, const Identity& user) {
    if (!mailboxes_.insert(user.name).second) return;  // one copy per mailbox
    FinalDelivery d;
    d.kind = FinalDelivery::Kind::kMailbox;
    d.address = address;
    d.who = user;
    add(std::move(d));
  }

  void dispatch(const AliasTarget& target, const std::string& address, Source source,
                const std::optional<Identity>& privs, int depth) {
    const std::set<std::string>* allowed = nullptr;
    switch (target.kind) {
      case AliasTargetKind::kAddress:
        expand_address(target.text, depth + 1);
        return;
      case AliasTargetKind::kOwnMailbox: {  // "\user": that mailbox, no aliases or .forward
        std::string name = ascii_lowercase(split_address(target.text).first);
        std::optional<Identity> user = sources_.find_user(name);
        if (!user) {
          add(outcome_for(address, DeliveryOutcome::bounced(
                                       "5.1.1", fmt::format("unknown user: \"{}\"",
                                                            log::printable(name)))));
          return;
        }
        mailbox(name + "@" + split_address(address).second, *user);
        return;
      }
      case AliasTargetKind::kInclude: {
        if (!privs) break;
        // An include of /etc/aliases belongs to root; one of a .forward to its user; one named
        // in an include to the owner of that include.
        uid_t owner = source == Source::kForward ? privs->uid
                      : source == Source::kAlias ? 0
                                                 : include_owner_;
        std::optional<std::string> text = sources_.read_file(target.text, owner);
        if (!text) {
          add(outcome_for(address, DeliveryOutcome::deferred(
                                       "4.3.0", "cannot use :include: file " + target.text)));
          return;
        }
        ForwardFileLimits limits;
        limits.max_file_bytes = 1 << 20;
        limits.targets.max_targets = kMaxFinalDeliveries;
        Result<std::vector<AliasTarget>> targets = parse_forward(*text, target.text, limits);
        if (!targets) {
          add(outcome_for(address, DeliveryOutcome::deferred(
                                       "4.3.5", "bad :include: file: " + targets.error().message)));
          return;
        }
        const uid_t outer_owner = include_owner_;
        include_owner_ = owner;
        for (const AliasTarget& included : *targets) {
          dispatch(included, address, Source::kInclude, privs, depth + 1);
        }
        include_owner_ = outer_owner;
        return;
      }
      case AliasTargetKind::kCommand:
        allowed = &settings_.allow_mail_to_commands;
        break;
      case AliasTargetKind::kFile:
        allowed = &settings_.allow_mail_to_files;
        break;
    }
    if (!privs) {
      add(outcome_for(address, DeliveryOutcome::deferred(
                                   "4.3.0", "default_privs user " + settings_.default_privs +
                                                " is unknown")));
      return;
    }
    const bool is_command = target.kind == AliasTargetKind::kCommand;
    if (allowed && !allowed->count(std::string(source_word(source)))) {
      add(outcome_for(address, DeliveryOutcome::bounced(
                                   "5.7.1", fmt::format("mail to {} is restricted ({})",
                                                        is_command ? "command" : "file",
                                                        is_command ? "allow_mail_to_commands"
                                                                   : "allow_mail_to_files"))));
      return;
    }
    if (!is_command && (target.text.empty() || target.text.front() != '/')) {
      add(outcome_for(address, DeliveryOutcome::bounced("5.3.5", "file target is not absolute")));
      return;
    }
    FinalDelivery d;
    d.kind = is_command ? FinalDelivery::Kind::kCommand : FinalDelivery::Kind::kFile;
    d.address = address;
    d.who = *privs;
    d.target = target.text;
    add(std::move(d));
  }

  const LocalSettings& settings_;
  const ExpansionSources& sources_;
  const std::set<std::string>& delivered_to_;
  std::set<std::string> seen_;
  std::set<std::string> active_;  // addresses being expanded (this one and its parents)
  std::set<std::string> mailboxes_;
  std::string owner_;  // the owner-NAME sender of the alias being expanded, "" for none
  std::vector<FinalDelivery> out_;
  bool overflow_ = false;
  uid_t include_owner_ = 0;  // the owner of the include file being expanded
};

std::optional<Identity> lookup_user(const std::string& name) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (name.empty() || ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) !=
                          0 ||
      !found) {
    return std::nullopt;
  }
  return Identity{found->pw_name, found->pw_uid, found->pw_gid,
                  found->pw_dir ? found->pw_dir : "/", found->pw_shell ? found->pw_shell : ""};
}

// A .forward or include file, read as root with the checks of the header comment.
std::optional<std::string> read_checked_file(const std::string& path, uid_t owner) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    if (errno != ENOENT && errno != ENOTDIR) {
      log::warning("{}: cannot open ({}); ignored", path, std::strerror(errno));
    }
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
      st.st_uid != owner || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    log::warning("{}: not a plain file of uid {} that only its owner may write; ignored", path,
                 owner);
    return std::nullopt;
  }
  if (static_cast<uint64_t>(st.st_size) > (1u << 20)) {
    log::warning("{}: larger than 1 MiB; ignored", path);
    return std::nullopt;
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  text.resize(done);
  return text;
}

}  // namespace

std::vector<FinalDelivery> expand_recipient(const std::string& address,
                                            const LocalSettings& settings,
                                            const ExpansionSources& sources,
                                            const std::set<std::string>& delivered_to) {
  return Expander(settings, sources, delivered_to).run(address);
}

ExpansionSources system_sources(const LookupTable* aliases) {
  ExpansionSources sources;
  sources.find_alias = [aliases](const std::string& name) -> Result<std::optional<std::string>> {
    if (!aliases) return std::optional<std::string>();
    return aliases->find(name);
  };
  sources.find_user = lookup_user;
  sources.read_file = read_checked_file;
  return sources;
}

}  // namespace postern::local
