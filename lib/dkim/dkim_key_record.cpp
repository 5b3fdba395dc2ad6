// Parses DKIM key records; see dkim_key_record.hpp. The record is a DNS answer and hostile;
// unknown tags are ignored as RFC 6376 3.6.1 asks, everything used is checked.
#include "lib/dkim/dkim_key_record.hpp"

#include "lib/base/ascii.hpp"
#include "lib/dkim/dkim_base64.hpp"
#include "lib/dkim/dkim_tag_list.hpp"

namespace postern {

Result<DkimKeyRecord> parse_dkim_key_record(std::string_view text) {
  Result<DkimTagList> parsed = DkimTagList::parse(text);
  if (!parsed) return Error::parse("key record syntax error");
  const DkimTagList& tags = *parsed;
  DkimKeyRecord record;
  if (const DkimTag* v = tags.find("v")) {
    if (&tags.tags().front() != v) return Error::parse("key record v= not first");
    if (v->value != "DKIM1") return Error::parse("unsupported key record version");
  }
  if (const DkimTag* k = tags.find("k")) {
    if (k->value == "rsa") {
      record.key_type = DkimKeyType::kRsa;
    } else if (k->value == "ed25519") {
      record.key_type = DkimKeyType::kEd25519;
    } else {
      return Error::parse("unsupported key type k=");
    }
  }
  if (const DkimTag* h = tags.find("h")) {
    for (const std::string& hash : dkim_split_colon_list(h->value)) {
      record.hashes.push_back(ascii_lowercase(hash));
    }
  }
  if (const DkimTag* s = tags.find("s")) {
    bool email = false;
    for (const std::string& service : dkim_split_colon_list(s->value)) {
      if (service == "*" || ascii_iequals(service, "email")) email = true;
    }
    if (!email) return Error::parse("key not for email s=");
  }
  if (const DkimTag* t = tags.find("t")) {
    for (const std::string& flag : dkim_split_colon_list(t->value)) {
      if (flag == "y") record.testing = true;
      if (flag == "s") record.strict_identity = true;
    }
  }
  const DkimTag* p = tags.find("p");
  if (!p) return Error::parse("key record without p=");
  std::string key_text = dkim_strip_whitespace(p->value);
  if (key_text.empty()) {
    record.revoked = true;
    return record;
  }
  Result<std::string> key = dkim_base64_decode(key_text);
  if (!key || key->empty()) return Error::parse("bad key data p=");
  record.public_key = std::move(*key);
  return record;
}

bool dkim_key_allows_hash(const DkimKeyRecord& record, std::string_view hash_name) {
  if (record.hashes.empty()) return true;
  for (const std::string& hash : record.hashes) {
    if (hash == hash_name) return true;
  }
  return false;
}

}  // namespace postern
