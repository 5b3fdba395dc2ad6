// Accounts: the admin's accounts.yaml parsed and checked (master, the CLI), stored in LMDB in one
// write transaction, and looked up at run time (smtpd at RCPT, qmgr and delivery for routing,
// submission and imapd for passwords). The YAML is trusted but checked: every name is
// validated, every error names the file and line. Addresses looked up come from the network:
// they are lower-cased, bounded by LMDB's key size, and alias expansion is bounded by
// kMaxAliasDepth and kMaxAliasTargets with loop detection.
//
// LMDB layout (one environment, named databases):
//   domains:  domain -> ""                 users:    user@domain -> crypt hash ("" = no login)
//   aliases:  local@domain -> targets      catchall: domain -> targets
//   sendas:   user@domain -> addresses     meta:     "postmaster" -> address, "format" -> "1",
//                                                    "fingerprint" -> accounts_fingerprint()
// Lists are stored as NUL-separated full addresses (validated addresses never contain NUL).
#include "lib/auth/accounts.hpp"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <sstream>

#include "lib/base/ascii.hpp"
#include "lib/base/file_read.hpp"
#include "lib/base/log.hpp"

namespace postern {
namespace {

constexpr size_t kMaxAccountsFileBytes = 64 * 1024 * 1024;
constexpr size_t kMaxLocalBytes = 64;
constexpr size_t kMaxDomainNameBytes = 255;
constexpr size_t kMaxLabelLength = 63;
constexpr size_t kMaxLmdbKeyBytes = 511;  // LMDB's default compile-time key limit

constexpr const char* kDomainsDb = "domains";
constexpr const char* kUsersDb = "users";
constexpr const char* kAliasesDb = "aliases";
constexpr const char* kCatchAllDb = "catchall";
constexpr const char* kSendAsDb = "sendas";
constexpr const char* kMetaDb = "meta";
constexpr std::string_view kPostmasterKey = "postmaster";
constexpr std::string_view kFingerprintKey = "fingerprint";

// RFC 5322 dot-atom (the local parts an admin writes in accounts.yaml); quoted local parts
// and UTF-8 are not accepted here.
bool valid_local_part(std::string_view local) {
  if (local.empty() || local.size() > kMaxLocalBytes) return false;
  if (local.front() == '.' || local.back() == '.') return false;
  static constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
  char previous = 0;
  for (char c : local) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (c == '.') {
      if (previous == '.') return false;
    } else if (!alnum && kSpecials.find(c) == kSpecials.npos) {
      return false;
    }
    previous = c;
  }
  return true;
}

// LDH domain name (IDNs in their xn-- form), checked after lower-casing.
bool valid_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > kMaxDomainNameBytes) return false;
  size_t start = 0;
  while (start <= domain.size()) {
    size_t dot = domain.find('.', start);
    if (dot == domain.npos) dot = domain.size();
    std::string_view label = domain.substr(start, dot - start);
    if (label.empty() || label.size() > kMaxLabelLength) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    start = dot + 1;
  }
  return true;
}

bool looks_like_crypt_hash(std::string_view hash) {
  if (hash.size() < 2 || hash.front() != '$') return false;
  for (char c : hash) {
    if (c <= ' ' || c >= 0x7f || c == ':') return false;
  }
  return true;
}

std::string join_nul(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back('\0');
    out.append(items[i]);
  }
  return out;
}

std::vector<std::string> split_nul(std::string_view text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t nul = text.find('\0', start);
    out.emplace_back(text.substr(start, nul == text.npos ? text.npos : nul - start));
    if (nul == text.npos) break;
    start = nul + 1;
  }
  return out;
}

// Splits at the last '@'; false when there is none.
bool split_address(std::string_view address, std::string_view& local, std::string_view& domain) {
  size_t at = address.rfind('@');
  if (at == address.npos) return false;
  local = address.substr(0, at);
  domain = address.substr(at + 1);
  return true;
}

std::string_view strip_plus(std::string_view local, std::string_view delimiters) {
  if (delimiters.empty()) return local;
  size_t pos = local.find_first_of(delimiters);
  return pos == local.npos ? local : local.substr(0, pos);
}

// --- YAML side

class YamlReader {
 public:
  explicit YamlReader(std::string_view file_name) : file_(file_name) {}

  Error error_at(const YAML::Node& node, const std::string& what) const {
    YAML::Mark mark = node.Mark();
    if (mark.is_null()) return Error::config(fmt::format("{}: {}", file_, what));
    return Error::config(fmt::format("{}:{}: {}", file_, mark.line + 1, what));
  }

  Result<std::string> scalar(const YAML::Node& node, std::string_view what) const {
    if (!node.IsScalar()) return error_at(node, fmt::format("{} must be a string", what));
    return node.Scalar();
  }

  // A string or a list of strings.
  Result<std::vector<std::string>> string_list(const YAML::Node& node,
                                               std::string_view what) const {
    std::vector<std::string> out;
    if (node.IsScalar()) {
      out.push_back(node.Scalar());
      return out;
    }
    if (!node.IsSequence()) {
      return error_at(node, fmt::format("{} must be a string or a list", what));
    }
    if (node.size() > kMaxAliasTargets) {
      return error_at(node, fmt::format("{} has more than {} entries", what, kMaxAliasTargets));
    }
    for (const YAML::Node& item : node) {
      Result<std::string> text = scalar(item, what);
      if (!text) return text.error();
      out.push_back(std::move(text).value());
    }
    if (out.empty()) return error_at(node, fmt::format("{} is an empty list", what));
    return out;
  }

  // "local" (in domain) or "local@domain"; returns the full address, domain lower-cased, the
  // local part lower-cased when the domain is ours (we compare our local parts that way).
  Result<std::string> target(const YAML::Node& node, const std::string& text,
                             const std::string& domain,
                             const std::set<std::string>& our_domains) const {
    std::string_view local_view, domain_view;
    if (!split_address(text, local_view, domain_view)) {
      if (!valid_local_part(text)) return error_at(node, "invalid local part '" + text + "'");
      return ascii_lowercase(text) + "@" + domain;
    }
    std::string target_domain = ascii_lowercase(domain_view);
    if (!valid_local_part(local_view) || !valid_domain(target_domain)) {
      return error_at(node, "invalid address '" + text + "'");
    }
    std::string local(local_view);
    if (our_domains.count(target_domain)) local = ascii_lowercase(local);
    return local + "@" + target_domain;
  }

  Result<std::vector<std::string>> targets(const YAML::Node& node, std::string_view what,
                                           const std::string& domain,
                                           const std::set<std::string>& our_domains) const {
    Result<std::vector<std::string>> texts = string_list(node, what);
    if (!texts) return texts.error();
    std::vector<std::string> out;
    for (const std::string& text : *texts) {
      Result<std::string> address = target(node, text, domain, our_domains);
      if (!address) return address.error();
      if (std::find(out.begin(), out.end(), *address) == out.end()) out.push_back(*address);
    }
    return out;
  }

  Status check_keys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                    std::string_view where) const {
    for (auto it = map.begin(); it != map.end(); ++it) {
      Result<std::string> key = scalar(it->first, "a key");
      if (!key) return key.error();
      if (std::find(allowed.begin(), allowed.end(), *key) == allowed.end()) {
        return error_at(it->first, fmt::format("unknown key '{}' in {}", *key, where));
      }
    }
    return Status::success();
  }

  Status parse_user(const std::string& domain, const YAML::Node& key, const YAML::Node& value,
                    const std::set<std::string>& our_domains, AccountsData& data) const {
    Result<std::string> name = scalar(key, "a user name");
    if (!name) return name.error();
    // A user name becomes a Maildir folder name (mail_spool/DOMAIN/USER): no '/'.
    if (!valid_local_part(*name) || name->find('/') != std::string::npos) {
      return error_at(key, "invalid user name '" + *name + "'");
    }
    std::string user = ascii_lowercase(*name) + "@" + domain;
    if (data.passwords.count(user)) return error_at(key, "duplicate user '" + user + "'");
    std::string hash;
    if (!value.IsNull()) {
      if (!value.IsMap()) return error_at(value, "user '" + user + "' must be a map");
      if (Status st = check_keys(value, {"password", "send_as"}, "user " + user); !st) return st;
      if (YAML::Node password = value["password"]; password && !password.IsNull()) {
        Result<std::string> text = scalar(password, "password");
        if (!text) return text.error();
        if (!looks_like_crypt_hash(*text)) {
          return error_at(password, "password of '" + user +
                                        "' is not a crypt(3) hash (it must start with '$')");
        }
        hash = std::move(text).value();
      }
      if (YAML::Node send_as = value["send_as"]; send_as && !send_as.IsNull()) {
        Result<std::vector<std::string>> list = targets(send_as, "send_as", domain, our_domains);
        if (!list) return list.error();
        data.send_as[user] = std::move(list).value();
      }
    }
    data.passwords[user] = std::move(hash);
    return Status::success();
  }

  Status parse_domain(const std::string& domain, const YAML::Node& body,
                      const std::set<std::string>& our_domains, AccountsData& data) const {
    if (body.IsNull()) return Status::success();
    if (!body.IsMap()) return error_at(body, "domain '" + domain + "' must be a map");
    if (Status st = check_keys(body, {"catch_all", "users", "aliases"}, "domain " + domain); !st) {
      return st;
    }
    if (YAML::Node users = body["users"]; users && !users.IsNull()) {
      if (!users.IsMap()) return error_at(users, "users of '" + domain + "' must be a map");
      for (auto it = users.begin(); it != users.end(); ++it) {
        if (Status st = parse_user(domain, it->first, it->second, our_domains, data); !st) {
          return st;
        }
      }
    }
    if (YAML::Node aliases = body["aliases"]; aliases && !aliases.IsNull()) {
      if (!aliases.IsMap()) return error_at(aliases, "aliases of '" + domain + "' must be a map");
      for (auto it = aliases.begin(); it != aliases.end(); ++it) {
        Result<std::string> name = scalar(it->first, "an alias name");
        if (!name) return name.error();
        if (!valid_local_part(*name)) {
          return error_at(it->first, "invalid alias name '" + *name + "'");
        }
        std::string alias = ascii_lowercase(*name) + "@" + domain;
        if (data.aliases.count(alias)) {
          return error_at(it->first, "duplicate alias '" + alias + "'");
        }
        Result<std::vector<std::string>> list =
            targets(it->second, "alias " + alias, domain, our_domains);
        if (!list) return list.error();
        data.aliases[alias] = std::move(list).value();
      }
    }
    if (YAML::Node catch_all = body["catch_all"]; catch_all && !catch_all.IsNull()) {
      Result<std::vector<std::string>> list =
          targets(catch_all, "catch_all of " + domain, domain, our_domains);
      if (!list) return list.error();
      data.catch_alls[domain] = std::move(list).value();
    }
    return Status::success();
  }

  Result<AccountsData> parse(const YAML::Node& root) const {
    AccountsData data;
    if (root.IsNull()) return data;  // an empty file: no local accounts
    if (!root.IsMap()) return error_at(root, "the accounts file must be a map");
    if (Status st = check_keys(root, {"postmaster", "domains"}, "the accounts file"); !st) {
      return st.error();
    }
    YAML::Node domains = root["domains"];
    std::vector<std::pair<std::string, YAML::Node>> bodies;
    if (domains && !domains.IsNull()) {
      if (!domains.IsMap()) return error_at(domains, "domains must be a map");
      for (auto it = domains.begin(); it != domains.end(); ++it) {
        Result<std::string> name = scalar(it->first, "a domain name");
        if (!name) return name.error();
        std::string domain = ascii_lowercase(*name);
        if (!valid_domain(domain)) return error_at(it->first, "invalid domain '" + *name + "'");
        if (!data.domains.insert(domain).second) {
          return error_at(it->first, "duplicate domain '" + domain + "'");
        }
        bodies.emplace_back(domain, it->second);
      }
    }
    for (const auto& [domain, body] : bodies) {
      if (Status st = parse_domain(domain, body, data.domains, data); !st) return st.error();
    }
    if (YAML::Node postmaster = root["postmaster"]; postmaster && !postmaster.IsNull()) {
      Result<std::string> text = scalar(postmaster, "postmaster");
      if (!text) return text.error();
      if (text->find('@') == std::string::npos) {
        return error_at(postmaster, "postmaster must be a full address (user@domain)");
      }
      Result<std::string> address = target(postmaster, *text, "", data.domains);
      if (!address) return address.error();
      data.postmaster = std::move(address).value();
    }
    return data;
  }

 private:
  std::string_view file_;
};

// --- LMDB side

struct AccountDbs {
  MDB_dbi domains, users, aliases, catch_all, send_as, meta;
};

// nullopt when the store was never filled (a read-only open before the first store()).
Result<std::optional<AccountDbs>> open_account_dbs(LmdbTxn& txn, bool create) {
  AccountDbs dbs{};
  const std::pair<const char*, MDB_dbi*> names[] = {
      {kDomainsDb, &dbs.domains},    {kUsersDb, &dbs.users},    {kAliasesDb, &dbs.aliases},
      {kCatchAllDb, &dbs.catch_all}, {kSendAsDb, &dbs.send_as}, {kMetaDb, &dbs.meta},
  };
  for (const auto& [name, dbi] : names) {
    Result<MDB_dbi> opened = txn.open_db(name, create);
    if (!opened) {
      if (opened.error().kind == ErrorKind::kNotFound) return std::optional<AccountDbs>();
      return opened.error();
    }
    *dbi = *opened;
  }
  return std::optional<AccountDbs>(dbs);
}

// One read transaction's view of the accounts. Keys longer than LMDB accepts cannot be ours.
class AccountsView {
 public:
  AccountsView(const LmdbTxn& txn, const AccountDbs& dbs) : txn_(txn), dbs_(dbs) {}

  Result<std::optional<std::string_view>> lookup(MDB_dbi dbi, std::string_view key) const {
    if (key.empty() || key.size() > kMaxLmdbKeyBytes) return std::optional<std::string_view>();
    return txn_.get(dbi, key);
  }
  Result<bool> is_domain(std::string_view domain) const {
    Result<std::optional<std::string_view>> found = lookup(dbs_.domains, domain);
    if (!found) return found.error();
    return found->has_value();
  }
  const AccountDbs& dbs() const { return dbs_; }

 private:
  const LmdbTxn& txn_;
  const AccountDbs& dbs_;
};

class Resolver {
 public:
  Resolver(const AccountsView& view, std::string_view delimiters, Resolution& out)
      : view_(view), delimiters_(delimiters), out_(out) {}

  // local and domain lower-cased, domain ours. True when something matched.
  Result<bool> resolve_local(const std::string& local, const std::string& domain, int depth) {
    if (depth > kMaxAliasDepth) {
      return Error::config(
          fmt::format("alias expansion of {}@{} deeper than {}", local, domain, kMaxAliasDepth));
    }
    std::string address = local + "@" + domain;
    if (std::find(path_.begin(), path_.end(), address) != path_.end()) {
      // An alias that names itself (directly or through others) means the user of that name,
      // as in Postfix ("admin: admin, backup@elsewhere"); without such a user it is a loop.
      Result<std::optional<std::string_view>> user = view_.lookup(view_.dbs().users, address);
      if (!user) return user.error();
      if (!user->has_value()) return Error::config("alias loop at " + address);
      add_unique(out_.mailboxes, address);
      return true;
    }
    path_.push_back(address);
    Result<bool> matched = resolve_steps(local, domain, address, depth);
    path_.pop_back();
    return matched;
  }

  Status expand_target(const std::string& target, int depth) {
    if (++expansions_ > kMaxAliasTargets) {
      return Error::limit(fmt::format("alias expansion exceeds {} targets", kMaxAliasTargets));
    }
    std::string_view local, domain;
    if (!split_address(target, local, domain)) {
      return Error::config("stored alias target without a domain: " + target);
    }
    Result<bool> ours = view_.is_domain(domain);
    if (!ours) return ours.error();
    if (!*ours) {
      add_unique(out_.remote, target);
      return Status::success();
    }
    Result<bool> matched = resolve_local(ascii_lowercase(local), std::string(domain), depth);
    if (!matched) return matched.error();
    if (!*matched) log::warning("alias target {} matches no mailbox", target);
    return Status::success();
  }

 private:
  Result<bool> expand_list(std::string_view stored, int depth) {
    for (const std::string& target : split_nul(stored)) {
      if (Status st = expand_target(target, depth + 1); !st) return st.error();
    }
    return true;
  }

  // alias, user, stripped alias, stripped user, postmaster, catch-all.
  Result<bool> resolve_steps(const std::string& local, const std::string& domain,
                             const std::string& address, int depth) {
    const AccountDbs& dbs = view_.dbs();
    Result<std::optional<std::string_view>> alias = view_.lookup(dbs.aliases, address);
    if (!alias) return alias.error();
    if (alias->has_value()) return expand_list(std::string(**alias), depth);
    Result<std::optional<std::string_view>> user = view_.lookup(dbs.users, address);
    if (!user) return user.error();
    if (user->has_value()) {
      add_unique(out_.mailboxes, address);
      return true;
    }
    std::string_view stripped = strip_plus(local, delimiters_);
    if (!stripped.empty() && stripped.size() != local.size()) {
      std::string stripped_address = std::string(stripped) + "@" + domain;
      alias = view_.lookup(dbs.aliases, stripped_address);
      if (!alias) return alias.error();
      if (alias->has_value()) return expand_list(std::string(**alias), depth);
      user = view_.lookup(dbs.users, stripped_address);
      if (!user) return user.error();
      if (user->has_value()) {
        add_unique(out_.mailboxes, stripped_address);
        return true;
      }
    }
    if (stripped == kPostmasterKey) {
      Result<std::optional<std::string_view>> postmaster = view_.lookup(dbs.meta, kPostmasterKey);
      if (!postmaster) return postmaster.error();
      if (postmaster->has_value() && !(*postmaster)->empty()) {
        return expand_list(std::string(**postmaster), depth);
      }
    }
    Result<std::optional<std::string_view>> catch_all = view_.lookup(dbs.catch_all, domain);
    if (!catch_all) return catch_all.error();
    if (catch_all->has_value()) return expand_list(std::string(**catch_all), depth);
    return false;
  }

  static void add_unique(std::vector<std::string>& list, const std::string& item) {
    if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
  }

  const AccountsView& view_;
  std::string_view delimiters_;
  Resolution& out_;
  std::vector<std::string> path_;
  size_t expansions_ = 0;
};

// Each field as its length and bytes, so that no two different sets give the same input.
void add_field(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
}

void add_lists(std::string& out, std::string_view tag,
               const std::map<std::string, std::vector<std::string>>& lists) {
  add_field(out, tag);
  for (const auto& [key, items] : lists) {
    add_field(out, key);
    out += std::to_string(items.size());
    for (const std::string& item : items) add_field(out, item);
  }
}

}  // namespace

bool is_valid_local_part(std::string_view local) { return valid_local_part(local); }
bool is_valid_domain_name(std::string_view domain) { return valid_domain(domain); }

bool operator==(const AccountsData& a, const AccountsData& b) {
  return a.postmaster == b.postmaster && a.domains == b.domains && a.passwords == b.passwords &&
         a.send_as == b.send_as && a.aliases == b.aliases && a.catch_alls == b.catch_alls;
}

std::string accounts_fingerprint(const AccountsData& data) {
  std::string text = "postern-accounts-1\n";
  add_field(text, data.postmaster);
  add_field(text, "domains");
  for (const std::string& domain : data.domains) add_field(text, domain);
  add_field(text, "users");
  for (const auto& [user, hash] : data.passwords) {
    add_field(text, user);
    add_field(text, hash);
  }
  add_lists(text, "send_as", data.send_as);
  add_lists(text, "aliases", data.aliases);
  add_lists(text, "catch_alls", data.catch_alls);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_bytes = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &digest_bytes, EVP_sha256(), nullptr) != 1) {
    return {};  // never equal to a stored fingerprint: the CLI then just waits and says so
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < digest_bytes; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 15]);
  }
  return hex;
}

Result<AccountsData> parse_accounts_yaml(std::string_view text, std::string_view file_name) {
  YamlReader reader(file_name);
  try {
    YAML::Node root = YAML::Load(std::string(text));
    return reader.parse(root);
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) return Error::config(fmt::format("{}: {}", file_name, e.msg));
    return Error::config(fmt::format("{}:{}: {}", file_name, e.mark.line + 1, e.msg));
  } catch (const std::exception& e) {
    return Error::config(fmt::format("{}: {}", file_name, e.what()));
  }
}

Result<AccountsData> load_accounts_yaml(const std::string& path) {
  Result<std::string> text = read_small_file(path, kMaxAccountsFileBytes);
  if (!text) return text.error();
  return parse_accounts_yaml(*text, path);
}

Result<AccountsDb> AccountsDb::open(const std::string& db_dir, bool read_only) {
  if (!read_only && ::mkdir(db_dir.c_str(), 0750) != 0 && errno != EEXIST) {
    return Error::system("mkdir " + db_dir);
  }
  LmdbOptions options;
  options.read_only = read_only;
  Result<LmdbEnv> env = LmdbEnv::open(db_dir, options);
  if (!env) return env.error();
  return AccountsDb(std::move(env).value());
}

Status AccountsDb::store(const AccountsData& data) {
  Result<LmdbTxn> txn = LmdbTxn::begin(env_, false);
  if (!txn) return txn.error();
  Result<std::optional<AccountDbs>> opened = open_account_dbs(*txn, true);
  if (!opened) return opened.error();
  const AccountDbs& dbs = **opened;
  for (MDB_dbi dbi : {dbs.domains, dbs.users, dbs.aliases, dbs.catch_all, dbs.send_as, dbs.meta}) {
    if (Status st = txn->clear(dbi); !st) return st;
  }
  for (const std::string& domain : data.domains) {
    if (Status st = txn->put(dbs.domains, domain, ""); !st) return st;
  }
  for (const auto& [user, hash] : data.passwords) {
    if (Status st = txn->put(dbs.users, user, hash); !st) return st;
  }
  for (const auto& [alias, targets] : data.aliases) {
    if (Status st = txn->put(dbs.aliases, alias, join_nul(targets)); !st) return st;
  }
  for (const auto& [domain, targets] : data.catch_alls) {
    if (Status st = txn->put(dbs.catch_all, domain, join_nul(targets)); !st) return st;
  }
  for (const auto& [user, addresses] : data.send_as) {
    if (Status st = txn->put(dbs.send_as, user, join_nul(addresses)); !st) return st;
  }
  if (Status st = txn->put(dbs.meta, kPostmasterKey, data.postmaster); !st) return st;
  if (Status st = txn->put(dbs.meta, "format", "1"); !st) return st;
  if (Status st = txn->put(dbs.meta, kFingerprintKey, accounts_fingerprint(data)); !st) return st;
  return txn->commit();
}

Result<std::optional<std::string>> AccountsDb::fingerprint() const {
  Result<LmdbTxn> txn = LmdbTxn::begin(env_, true);
  if (!txn) return txn.error();
  Result<std::optional<AccountDbs>> dbs = open_account_dbs(*txn, false);
  if (!dbs) return dbs.error();
  if (!dbs->has_value()) return std::optional<std::string>();
  Result<std::optional<std::string_view>> stored = txn->get((*dbs)->meta, kFingerprintKey);
  if (!stored) return stored.error();
  std::optional<std::string> out;
  if (stored->has_value()) out = std::string(**stored);
  if (Status st = txn->commit(); !st) return st.error();
  return out;
}

// Read transactions are committed, not aborted, when done: that keeps the database handles
// opened in them in the environment, so later lookups do not open them again.

Result<bool> AccountsDb::is_our_domain(std::string_view domain) const {
  Result<LmdbTxn> txn = LmdbTxn::begin(env_, true);
  if (!txn) return txn.error();
  Result<std::optional<AccountDbs>> dbs = open_account_dbs(*txn, false);
  if (!dbs) return dbs.error();
  if (!dbs->has_value()) return false;
  AccountsView view(*txn, **dbs);
  Result<bool> ours = view.is_domain(ascii_lowercase(domain));
  if (Status st = txn->commit(); !st) return st.error();
  return ours;
}

Result<Resolution> AccountsDb::resolve(std::string_view address,
                                       std::string_view delimiters) const {
  Resolution resolution;
  Result<LmdbTxn> txn = LmdbTxn::begin(env_, true);
  if (!txn) return txn.error();
  Result<std::optional<AccountDbs>> dbs = open_account_dbs(*txn, false);
  if (!dbs) return dbs.error();
  if (!dbs->has_value()) return resolution;
  AccountsView view(*txn, **dbs);
  Resolver resolver(view, delimiters, resolution);

  std::string_view local_view, domain_view;
  if (!split_address(address, local_view, domain_view)) {
    local_view = address;
    domain_view = {};
  }
  std::string local = ascii_lowercase(local_view);
  std::string domain = ascii_lowercase(domain_view);
  if (domain.empty()) {
    // RFC 5321 4.5.1: "postmaster" without a domain must be accepted.
    if (local != kPostmasterKey) return resolution;
    resolution.ours = true;
    Result<std::optional<std::string_view>> postmaster =
        view.lookup(view.dbs().meta, kPostmasterKey);
    if (!postmaster) return postmaster.error();
    if (postmaster->has_value() && !(*postmaster)->empty()) {
      if (Status st = resolver.expand_target(std::string(**postmaster), 1); !st) {
        return st.error();
      }
    }
  } else {
    Result<bool> ours = view.is_domain(domain);
    if (!ours) return ours.error();
    if (!*ours) return resolution;
    resolution.ours = true;
    if (!local.empty()) {
      Result<bool> matched = resolver.resolve_local(local, domain, 0);
      if (!matched) return matched.error();
    }
  }
  resolution.known = !resolution.mailboxes.empty() || !resolution.remote.empty();
  if (Status st = txn->commit(); !st) return st.error();
  return resolution;
}

Result<std::optional<std::string>> AccountsDb::password_hash(std::string_view user) const {
  Result<LmdbTxn> txn = LmdbTxn::begin(env_, true);
  if (!txn) return txn.error();
  Result<std::optional<AccountDbs>> dbs = open_account_dbs(*txn, false);
  if (!dbs) return dbs.error();
  if (!dbs->has_value()) return std::optional<std::string>();
  AccountsView view(*txn, **dbs);
  Result<std::optional<std::string_view>> hash =
      view.lookup(view.dbs().users, ascii_lowercase(user));
  if (!hash) return hash.error();
  std::optional<std::string> out;
  if (hash->has_value() && !(*hash)->empty()) out = std::string(**hash);
  if (Status st = txn->commit(); !st) return st.error();
  return out;
}

Result<std::vector<std::string>> AccountsDb::send_as(std::string_view user) const {
  Result<LmdbTxn> txn = LmdbTxn::begin(env_, true);
  if (!txn) return txn.error();
  Result<std::optional<AccountDbs>> dbs = open_account_dbs(*txn, false);
  if (!dbs) return dbs.error();
  if (!dbs->has_value()) return std::vector<std::string>();
  AccountsView view(*txn, **dbs);
  Result<std::optional<std::string_view>> list =
      view.lookup(view.dbs().send_as, ascii_lowercase(user));
  if (!list) return list.error();
  std::vector<std::string> out;
  if (list->has_value()) out = split_nul(**list);
  if (Status st = txn->commit(); !st) return st.error();
  return out;
}

Result<bool> AccountsDb::may_send_as(std::string_view user, std::string_view address,
                                     std::string_view delimiters) const {
  std::string login = ascii_lowercase(user);
  std::string_view local_view, domain_view;
  if (login.empty() || !split_address(address, local_view, domain_view) || local_view.empty()) {
    return false;
  }
  const std::string local = ascii_lowercase(local_view);
  const std::string domain = ascii_lowercase(domain_view);
  const std::string exact = local + "@" + domain;
  const std::string stripped = std::string(strip_plus(local, delimiters)) + "@" + domain;
  if (exact == login || stripped == login) return true;

  Result<LmdbTxn> txn = LmdbTxn::begin(env_, true);
  if (!txn) return txn.error();
  Result<std::optional<AccountDbs>> dbs = open_account_dbs(*txn, false);
  if (!dbs) return dbs.error();
  if (!dbs->has_value()) return false;
  AccountsView view(*txn, **dbs);
  const AccountDbs& db = view.dbs();
  auto lists_login = [&](std::string_view stored) {
    for (const std::string& target : split_nul(stored)) {
      if (ascii_lowercase(target) == login) return true;
    }
    return false;
  };
  auto decide = [&]() -> Result<bool> {
    Result<std::optional<std::string_view>> send_as = view.lookup(db.send_as, login);
    if (!send_as) return send_as.error();
    if (send_as->has_value()) {
      for (const std::string& allowed : split_nul(**send_as)) {
        std::string lowered = ascii_lowercase(allowed);
        if (lowered == exact || lowered == stripped) return true;
      }
    }
    Result<bool> ours = view.is_domain(domain);
    if (!ours) return ours.error();
    if (!*ours) return false;
    // The order of resolve(): alias, user, stripped alias, stripped user, postmaster. A user
    // of that name (other than ours, handled above) owns it: stop there.
    for (const std::string* candidate : {&exact, &stripped}) {
      if (candidate == &stripped && stripped == exact) break;
      Result<std::optional<std::string_view>> alias = view.lookup(db.aliases, *candidate);
      if (!alias) return alias.error();
      if (alias->has_value()) return lists_login(**alias);
      Result<std::optional<std::string_view>> owner = view.lookup(db.users, *candidate);
      if (!owner) return owner.error();
      if (owner->has_value()) return false;
    }
    if (strip_plus(local, delimiters) == kPostmasterKey) {
      Result<std::optional<std::string_view>> postmaster = view.lookup(db.meta, kPostmasterKey);
      if (!postmaster) return postmaster.error();
      return postmaster->has_value() && lists_login(**postmaster);
    }
    return false;  // not through a catch-all
  };
  Result<bool> decision = decide();
  if (Status st = txn->commit(); !st) return st.error();
  return decision;
}

}  // namespace postern
