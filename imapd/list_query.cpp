// LIST/LSUB argument parsing and reply building (see list_query.hpp).
#include "imapd/list_query.hpp"

#include <map>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "imapd/list_pattern.hpp"

namespace postern::imapd {
namespace {

Error bad(std::string text) {
  return Error::parse(std::move(text));
}

// Sort key: INBOX first, then byte order (the order MailStore::list_folders uses).
using NameKey = std::pair<bool, std::string>;
NameKey name_key(const std::string& name) {
  return {name != "INBOX", name};
}

struct Entry {
  std::string name;
  std::vector<std::string_view> attributes;
  bool childinfo_subscribed = false;
};

std::string reply_line(const ListQuery& query, const Entry& entry) {
  std::string line = query.lsub ? "LSUB (" : "LIST (";
  for (size_t i = 0; i < entry.attributes.size(); ++i) {
    if (i > 0) line.push_back(' ');
    line.append(entry.attributes[i]);
  }
  line += ") \"";
  line.push_back(kHierarchySeparator);
  line += "\" ";
  line += entry.name.empty() ? std::string("\"\"") : imap_quote(entry.name);
  if (entry.childinfo_subscribed) line += " (\"CHILDINFO\" (\"SUBSCRIBED\"))";
  return line;
}

// Each proper ancestor of name ("a.b.c": "a", "a.b").
std::vector<std::string> ancestors(const std::string& name) {
  std::vector<std::string> out;
  for (size_t pos = name.find(kHierarchySeparator); pos != std::string::npos;
       pos = name.find(kHierarchySeparator, pos + 1)) {
    if (pos > 0) out.push_back(name.substr(0, pos));
  }
  return out;
}

}  // namespace

Result<ListQuery> parse_list_query(const std::vector<ImapToken>& args, bool lsub) {
  ListQuery query;
  query.lsub = lsub;
  size_t index = 0;
  if (index < args.size() && args[index].kind == ImapToken::Kind::kList) {
    if (lsub) return bad("LSUB takes no selection options");
    query.extended = true;
    bool remote = false;
    for (const ImapToken& option : args[index].children) {
      if (option.is_word("SUBSCRIBED")) {
        query.select_subscribed = true;
      } else if (option.is_word("REMOTE")) {
        remote = true;
      } else if (option.is_word("RECURSIVEMATCH")) {
        query.select_recursive = true;
      } else if (option.is_word("SPECIAL-USE")) {
        query.select_special_use = true;
      } else {
        return bad("Unknown LIST selection option");
      }
    }
    (void)remote;  // we have no remote mailboxes: REMOTE changes nothing
    if (query.select_recursive && !query.select_subscribed && !query.select_special_use) {
      return bad("RECURSIVEMATCH needs another selection option");
    }
    ++index;
  }
  if (index + 2 > args.size())
    return bad(lsub ? "LSUB needs a reference and a pattern"
                    : "LIST needs a reference and a pattern");
  const auto reference = args[index].astring();
  if (!reference) return bad("Invalid reference name");
  query.reference = std::string(*reference);
  ++index;
  const ImapToken& patterns = args[index];
  if (patterns.kind == ImapToken::Kind::kList) {
    if (lsub) return bad("LSUB takes one pattern");
    query.extended = true;
    if (patterns.children.empty()) return bad("Empty pattern list");
    if (patterns.children.size() > kMaxListPatterns) return bad("Too many patterns");
    for (const ImapToken& pattern : patterns.children) {
      const auto text = pattern.astring();
      if (!text) return bad("Invalid pattern");
      query.patterns.emplace_back(*text);
    }
  } else {
    const auto text = patterns.astring();
    if (!text) return bad("Invalid pattern");
    query.patterns.emplace_back(*text);
  }
  ++index;
  if (index < args.size()) {
    if (lsub || !args[index].is_word("RETURN") || index + 2 != args.size() ||
        args[index + 1].kind != ImapToken::Kind::kList) {
      return bad("Unexpected arguments after the pattern");
    }
    query.extended = true;
    for (const ImapToken& option : args[index + 1].children) {
      if (option.is_word("SUBSCRIBED")) {
        query.return_subscribed = true;
      } else if (option.is_word("CHILDREN")) {
        query.return_children = true;
      } else if (option.is_word("SPECIAL-USE")) {
        query.return_special_use = true;
      } else {
        return bad("Unknown LIST return option");
      }
    }
  }
  if (query.select_subscribed) query.return_subscribed = true;  // RFC 5258 3.1
  return query;
}

std::vector<std::string> list_replies(const ListQuery& query,
                                      const std::vector<FolderInfo>& folders,
                                      const std::vector<std::string>& subscriptions) {
  std::vector<std::string> lines;
  std::vector<ListPattern> patterns;
  bool empty_pattern = false;
  for (const std::string& text : query.patterns) {
    if (text.empty()) {
      empty_pattern = true;  // RFC 3501: the hierarchy delimiter and root name
      continue;
    }
    patterns.emplace_back(query.reference, text, kHierarchySeparator);
  }
  if (empty_pattern && !query.lsub) {
    Entry root{"", {"\\Noselect"}, false};
    lines.push_back(reply_line(query, root));
  }
  if (patterns.empty()) return lines;
  const auto matches = [&](const std::string& name) {
    for (const ListPattern& pattern : patterns) {
      if (pattern.matches(name)) return true;
    }
    return false;
  };

  std::unordered_map<std::string, const FolderInfo*> by_name;
  for (const FolderInfo& folder : folders) by_name.emplace(folder.name, &folder);
  const std::set<std::string> subscribed(subscriptions.begin(), subscriptions.end());

  // The attributes of one name: what the folder is (or is not), then its children, then
  // \Subscribed and its special use.
  const auto describe = [&](const std::string& name) {
    Entry entry{name, {}, false};
    const auto found = by_name.find(name);
    const FolderInfo* folder = found == by_name.end() ? nullptr : found->second;
    if (query.lsub) {
      if (folder == nullptr || !folder->exists) entry.attributes.push_back("\\Noselect");
      return entry;
    }
    if (folder == nullptr) {
      entry.attributes.push_back("\\NonExistent");
    } else if (!folder->exists) {
      entry.attributes.push_back(query.extended ? "\\NonExistent" : "\\Noselect");
    }
    if (query.return_subscribed && subscribed.count(name) != 0) {
      entry.attributes.push_back("\\Subscribed");
    }
    const bool children = folder != nullptr && folder->has_children;
    entry.attributes.push_back(children ? "\\HasChildren" : "\\HasNoChildren");
    if (folder != nullptr && folder->exists && folder->special_use != SpecialUse::kNone) {
      entry.attributes.push_back(special_use_attribute(folder->special_use));
    }
    return entry;
  };
  const auto is_special = [&](const std::string& name) {
    const auto found = by_name.find(name);
    return found != by_name.end() && found->second->exists &&
           found->second->special_use != SpecialUse::kNone;
  };

  if (query.lsub || query.select_subscribed) {
    // Names come from the subscriptions (they need not exist).
    std::map<NameKey, Entry> entries;
    for (const std::string& name : subscriptions) {
      if (query.select_special_use && !is_special(name)) continue;
      if (matches(name)) {
        entries.emplace(name_key(name), describe(name));
        continue;
      }
      // A parent that matches where its subscribed child does not (RFC 3501 6.3.9 for LSUB
      // with "%"; RFC 5258 RECURSIVEMATCH: CHILDINFO).
      if (!query.lsub && !query.select_recursive) continue;
      for (const std::string& parent : ancestors(name)) {
        if (subscribed.count(parent) != 0 || !matches(parent)) continue;
        Entry entry = describe(parent);
        if (query.lsub) {
          entry.attributes = {"\\Noselect"};
        } else {
          entry.childinfo_subscribed = true;
        }
        entries.emplace(name_key(parent), std::move(entry));
      }
    }
    for (const auto& [key, entry] : entries) lines.push_back(reply_line(query, entry));
    return lines;
  }

  for (const FolderInfo& folder : folders) {
    if (query.select_special_use && !is_special(folder.name)) continue;
    if (!matches(folder.name)) continue;
    lines.push_back(reply_line(query, describe(folder.name)));
  }
  return lines;
}

}  // namespace postern::imapd
