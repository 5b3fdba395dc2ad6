// Writing the accounts file back (see accounts_yaml.hpp), with yaml-cpp's emitter. A name is
// written plain only when it is made of letters, digits and "._+-@" and is not a word YAML reads
// as null; anything else is double-quoted (the emitter escapes it), so every name reads back as
// the same string. The file writer checks that it does (accounts_file.cpp).
#include "cli/accounts_yaml.hpp"

#include <yaml-cpp/yaml.h>

#include <map>
#include <vector>

#include "cli/accounts_edit.hpp"
#include "lib/base/ascii.hpp"

namespace postern::cli {
namespace {

bool plain_is_safe(std::string_view text) {
  if (text.empty() || ascii_iequals(text, "null")) return false;
  char first = text.front();
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') ||
        (first >= '0' && first <= '9'))) {
    return false;
  }
  for (char c : text) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '.' && c != '_' && c != '+' && c != '-' && c != '@') return false;
  }
  return true;
}

void emit_name(YAML::Emitter& out, const std::string& text) {
  if (plain_is_safe(text)) {
    out << text;
  } else {
    out << YAML::DoubleQuoted << text;
  }
}

// A target in domain is written as its local part, as an admin writes it.
std::string short_form(const std::string& address, const std::string& domain) {
  if (domain_of(address) == domain) return address.substr(0, address.size() - domain.size() - 1);
  return address;
}

void emit_targets(YAML::Emitter& out, const std::vector<std::string>& targets,
                  const std::string& domain) {
  if (targets.size() == 1) {
    emit_name(out, short_form(targets.front(), domain));
    return;
  }
  out << YAML::Flow << YAML::BeginSeq;
  for (const std::string& target : targets) emit_name(out, short_form(target, domain));
  out << YAML::EndSeq;
}

std::string local_of(const std::string& address) {
  return address.substr(0, address.rfind('@'));
}

struct DomainView {
  std::vector<const std::pair<const std::string, std::string>*> users;
  std::vector<const std::pair<const std::string, std::vector<std::string>>*> aliases;
};

void emit_domain(YAML::Emitter& out, const std::string& domain, const DomainView& view,
                 const AccountsData& data) {
  auto catch_all = data.catch_alls.find(domain);
  if (view.users.empty() && view.aliases.empty() && catch_all == data.catch_alls.end()) {
    out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
    return;
  }
  out << YAML::BeginMap;
  if (catch_all != data.catch_alls.end()) {
    out << YAML::Key << "catch_all" << YAML::Value;
    emit_targets(out, catch_all->second, domain);
  }
  if (!view.users.empty()) {
    out << YAML::Key << "users" << YAML::Value << YAML::BeginMap;
    for (const auto* user : view.users) {
      out << YAML::Key;
      emit_name(out, local_of(user->first));
      out << YAML::Value;
      auto send_as = data.send_as.find(user->first);
      if (user->second.empty() && send_as == data.send_as.end()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        continue;
      }
      out << YAML::BeginMap;
      if (!user->second.empty()) {
        out << YAML::Key << "password" << YAML::Value << YAML::DoubleQuoted << user->second;
      }
      if (send_as != data.send_as.end()) {
        out << YAML::Key << "send_as" << YAML::Value << YAML::Flow << YAML::BeginSeq;
        for (const std::string& address : send_as->second) {
          emit_name(out, short_form(address, domain));
        }
        out << YAML::EndSeq;
      }
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  if (!view.aliases.empty()) {
    out << YAML::Key << "aliases" << YAML::Value << YAML::BeginMap;
    for (const auto* alias : view.aliases) {
      out << YAML::Key;
      emit_name(out, local_of(alias->first));
      out << YAML::Value;
      emit_targets(out, alias->second, domain);
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
}

}  // namespace

std::string leading_comment_block(std::string_view text) {
  std::string block;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t lf = text.find('\n', pos);
    size_t end = lf == std::string_view::npos ? text.size() : lf;
    std::string_view line = text.substr(pos, end - pos);
    size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos && line[first] != '#') break;
    block.append(line);
    block.push_back('\n');
    pos = end + 1;
  }
  return block;
}

std::string render_accounts_file(std::string_view comment_block, const AccountsData& data) {
  std::map<std::string, DomainView> domains;
  for (const std::string& domain : data.domains) domains[domain];
  for (const auto& user : data.passwords)
    domains[std::string(domain_of(user.first))].users.push_back(&user);
  for (const auto& alias : data.aliases) {
    domains[std::string(domain_of(alias.first))].aliases.push_back(&alias);
  }

  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap;
  if (!data.postmaster.empty()) {
    out << YAML::Key << "postmaster" << YAML::Value;
    emit_name(out, data.postmaster);
  }
  out << YAML::Key << "domains" << YAML::Value;
  if (domains.empty()) {
    out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
  } else {
    out << YAML::BeginMap;
    for (const auto& [domain, view] : domains) {
      out << YAML::Key;
      emit_name(out, domain);
      out << YAML::Value;
      emit_domain(out, domain, view, data);
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;

  std::string text(comment_block);
  std::string_view block = comment_block;
  if (!block.empty() && block.back() == '\n') block.remove_suffix(1);
  size_t last_line = block.rfind('\n');
  std::string_view last = last_line == std::string_view::npos ? block : block.substr(last_line + 1);
  if (last != kRewrittenMarker) {
    text += kRewrittenMarker;
    text += '\n';
  }
  text += out.c_str();
  text += '\n';
  return text;
}

}  // namespace postern::cli
