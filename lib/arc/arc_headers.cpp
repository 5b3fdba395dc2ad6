// Parses ARC-Seal and ARC-Message-Signature values and gathers ARC sets; see arc_headers.hpp.
// Tag lists, base64 and domain checks are lib/dkim's; error messages name tags and never echo
// the hostile text.
#include "lib/arc/arc_headers.hpp"

#include "lib/authres/authres_parser.hpp"
#include "lib/base/ascii.hpp"
#include "lib/dkim/dkim_base64.hpp"
#include "lib/dkim/dkim_tag_list.hpp"

namespace postern {
static_assert(kMaxArcInstances == kMaxArcInstance, "lib/authres and lib/arc agree on i=");

namespace {

constexpr size_t kMaxArcTimeDigits = 12;
constexpr size_t kMaxArcLengthDigits = 18;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

Result<DkimAlgorithm> parse_algorithm(std::string_view text) {
  if (text == "rsa-sha256") return DkimAlgorithm::kRsaSha256;
  if (text == "ed25519-sha256") return DkimAlgorithm::kEd25519Sha256;
  return Error::parse("unsupported algorithm a=");
}

Result<DkimCanon> parse_canon_word(std::string_view word) {
  if (word == "simple") return DkimCanon::kSimple;
  if (word == "relaxed") return DkimCanon::kRelaxed;
  return Error::parse("unknown canonicalization c=");
}

// The tags every ARC signature has: i, a, d, s, b, and the optional t.
template <class Fields>
Status parse_common(const DkimTagList& tags, Fields& fields) {
  for (const char* required : {"i", "a", "b", "d", "s"}) {
    if (!tags.find(required)) return Error::parse(std::string("missing tag ") + required + "=");
  }
  Result<uint32_t> instance = parse_arc_instance(tags.find("i")->value);
  if (!instance) return instance.error();
  fields.instance = *instance;
  Result<DkimAlgorithm> algorithm = parse_algorithm(tags.find("a")->value);
  if (!algorithm) return algorithm.error();
  fields.algorithm = *algorithm;
  const DkimTag& d = *tags.find("d");
  if (!dkim_is_domain_text(d.value)) return Error::parse("bad domain d=");
  fields.domain = ascii_lowercase(d.value);
  const DkimTag& s = *tags.find("s");
  if (!dkim_is_domain_text(s.value)) return Error::parse("bad selector s=");
  fields.selector = ascii_lowercase(s.value);
  const DkimTag& b = *tags.find("b");
  Result<std::string> signature = dkim_base64_decode(dkim_strip_whitespace(b.value));
  if (!signature || signature->empty()) return Error::parse("bad signature b=");
  fields.signature = std::move(*signature);
  fields.b_raw_begin = b.raw_begin;
  fields.b_raw_end = b.raw_end;
  if (const DkimTag* t = tags.find("t")) {
    Result<uint64_t> timestamp = dkim_parse_digits(t->value, kMaxArcTimeDigits, "t=");
    if (!timestamp) return timestamp.error();
    fields.timestamp = static_cast<int64_t>(*timestamp);
  }
  return Status::success();
}

Result<DkimTagList> parse_tags(std::string_view value) {
  if (value.size() > kMaxArcHeaderValueBytes) return Error::limit("ARC header field too long");
  return DkimTagList::parse(value);
}

}  // namespace

std::string_view arc_chain_status_name(ArcChainStatus status) {
  switch (status) {
    case ArcChainStatus::kNone:
      return "none";
    case ArcChainStatus::kPass:
      return "pass";
    case ArcChainStatus::kFail:
      return "fail";
  }
  return "fail";
}

Result<uint32_t> parse_arc_instance(std::string_view text) {
  if (text.empty() || text.size() > kMaxArcInstanceDigits || text.front() == '0') {
    return Error::parse("bad instance i=");
  }
  Result<uint64_t> number = dkim_parse_digits(text, kMaxArcInstanceDigits, "i=");
  if (!number || *number < 1 || *number > kMaxArcInstances) return Error::parse("bad instance i=");
  return static_cast<uint32_t>(*number);
}

Result<uint32_t> parse_arc_results_instance(std::string_view value) {
  if (value.size() > kMaxArcHeaderValueBytes) return Error::limit("ARC header field too long");
  size_t at = 0;
  while (at < value.size() && is_space(value[at])) ++at;
  if (at >= value.size() || value[at] != 'i') return Error::parse("AAR does not start with i=");
  ++at;
  while (at < value.size() && is_space(value[at])) ++at;
  if (at >= value.size() || value[at] != '=') return Error::parse("AAR does not start with i=");
  ++at;
  while (at < value.size() && is_space(value[at])) ++at;
  size_t digits = at;
  while (at < value.size() && value[at] >= '0' && value[at] <= '9') ++at;
  Result<uint32_t> instance = parse_arc_instance(value.substr(digits, at - digits));
  if (!instance) return instance.error();
  while (at < value.size() && is_space(value[at])) ++at;
  if (at >= value.size() || value[at] != ';') return Error::parse("AAR i= not followed by ';'");
  return instance;
}

Result<ArcSeal> parse_arc_seal(std::string_view value) {
  Result<DkimTagList> parsed = parse_tags(value);
  if (!parsed) return parsed.error();
  const DkimTagList& tags = *parsed;
  ArcSeal seal;
  Status common = parse_common(tags, seal);
  if (!common) return common.error();
  if (tags.find("h")) return Error::parse("h= is not allowed in ARC-Seal");
  const DkimTag* cv = tags.find("cv");
  if (!cv) return Error::parse("missing tag cv=");
  if (cv->value == "none") {
    seal.chain_status = ArcChainStatus::kNone;
  } else if (cv->value == "pass") {
    seal.chain_status = ArcChainStatus::kPass;
  } else if (cv->value == "fail") {
    seal.chain_status = ArcChainStatus::kFail;
  } else {
    return Error::parse("bad chain status cv=");
  }
  return seal;
}

Result<ArcMessageSignature> parse_arc_message_signature(std::string_view value) {
  Result<DkimTagList> parsed = parse_tags(value);
  if (!parsed) return parsed.error();
  const DkimTagList& tags = *parsed;
  ArcMessageSignature signature;
  Status common = parse_common(tags, signature);
  if (!common) return common.error();
  for (const char* required : {"bh", "h"}) {
    if (!tags.find(required)) return Error::parse(std::string("missing tag ") + required + "=");
  }
  if (const DkimTag* c = tags.find("c")) {
    std::string_view text = c->value;
    size_t slash = text.find('/');
    Result<DkimCanon> header = parse_canon_word(text.substr(0, slash));
    if (!header) return header.error();
    signature.header_canon = *header;
    if (slash != std::string_view::npos) {
      Result<DkimCanon> body = parse_canon_word(text.substr(slash + 1));
      if (!body) return body.error();
      signature.body_canon = *body;
    }
  }
  if (const DkimTag* q = tags.find("q")) {
    bool dns_txt = false;
    for (const std::string& method : dkim_split_colon_list(q->value)) {
      if (method == "dns/txt") dns_txt = true;
    }
    if (!dns_txt) return Error::parse("unsupported query method q=");
  }
  std::string_view names = tags.find("h")->value;
  if (!names.empty()) {
    std::vector<std::string> list = dkim_split_colon_list(names);
    if (list.size() > kMaxDkimSignedHeaders) return Error::limit("too many names in h=");
    for (std::string& name : list) {
      if (name.empty()) continue;  // "a::b": an empty name signs nothing (as the suite wants)
      for (char c : name) {
        if (is_space(c)) return Error::parse("bad header name in h=");
      }
      name = ascii_lowercase(name);
      if (name == "arc-seal") return Error::parse("h= names ARC-Seal");
      signature.signed_headers.push_back(std::move(name));
    }
  }
  Result<std::string> body_hash = dkim_base64_decode(dkim_strip_whitespace(tags.find("bh")->value));
  if (!body_hash || body_hash->empty()) return Error::parse("bad body hash bh=");
  signature.body_hash = std::move(*body_hash);
  if (const DkimTag* l = tags.find("l")) {
    Result<uint64_t> length = dkim_parse_digits(l->value, kMaxArcLengthDigits, "l=");
    if (!length) return length.error();
    signature.body_length = *length;
  }
  return signature;
}

ArcSetsGathered gather_arc_sets(const std::vector<DkimHeader>& headers) {
  ArcSetsGathered gathered;
  constexpr size_t kUnset = static_cast<size_t>(-1);
  struct Slot {
    size_t seal = kUnset;
    size_t message_signature = kUnset;
    size_t results = kUnset;
  };
  std::vector<Slot> slots(kMaxArcInstances + 1);
  auto is_arc = [](const DkimHeader& header) {
    return ascii_iequals(header.name, kArcSealName) ||
           ascii_iequals(header.name, kArcMessageSignatureName) ||
           ascii_iequals(header.name, kArcAuthResultsName);
  };
  // The count first, before any value is parsed.
  size_t fields = 0;
  for (const DkimHeader& header : headers) fields += is_arc(header) ? 1 : 0;
  if (fields > kMaxArcHeaderFields) {
    gathered.failed = true;
    gathered.reason = "too many ARC header fields";
    gathered.highest_instance = kMaxArcInstances;  // so that nobody seals on top of it
    return gathered;
  }
  std::string failure;
  auto fail = [&](std::string reason) {
    if (failure.empty()) failure = std::move(reason);
  };
  for (size_t index = 0; index < headers.size(); ++index) {
    const DkimHeader& header = headers[index];
    bool seal = ascii_iequals(header.name, kArcSealName);
    bool signature = ascii_iequals(header.name, kArcMessageSignatureName);
    bool results = ascii_iequals(header.name, kArcAuthResultsName);
    if (!seal && !signature && !results) continue;
    Result<uint32_t> instance = Error::parse("");
    if (results) {
      instance = parse_arc_results_instance(header.value);
    } else {
      Result<DkimTagList> tags = parse_tags(header.value);
      if (!tags) {
        instance = tags.error();
      } else if (const DkimTag* i = tags->find("i")) {
        instance = parse_arc_instance(i->value);
      } else {
        instance = Error::parse("missing tag i=");
      }
    }
    std::string_view what = seal        ? "ARC-Seal"
                            : signature ? "ARC-Message-Signature"
                                        : "ARC-Authentication-Results";
    if (!instance) {
      fail(std::string(what) + " without a valid instance");
      continue;
    }
    if (*instance > gathered.highest_instance) gathered.highest_instance = *instance;
    Slot& slot = slots[*instance];
    size_t& place = seal ? slot.seal : signature ? slot.message_signature : slot.results;
    if (place != kUnset) {
      fail("two " + std::string(what) + " fields with i=" + std::to_string(*instance));
      continue;
    }
    place = index;
  }
  if (failure.empty()) {
    for (uint32_t instance = 1; instance <= gathered.highest_instance; ++instance) {
      const Slot& slot = slots[instance];
      if (slot.seal == kUnset || slot.message_signature == kUnset || slot.results == kUnset) {
        fail("ARC set i=" + std::to_string(instance) + " incomplete");
        break;
      }
      gathered.sets.push_back(
          ArcSetFields{instance, slot.seal, slot.message_signature, slot.results});
    }
  }
  if (!failure.empty()) {
    gathered.failed = true;
    gathered.reason = std::move(failure);
    gathered.sets.clear();
  }
  return gathered;
}

std::string arc_seal_hash_input(const std::vector<const DkimHeader*>& fields,
                                std::string_view seal_value_without_b) {
  std::string out;
  for (const DkimHeader* field : fields) {
    out += dkim_canonicalize_header(DkimCanon::kRelaxed, field->name, field->value);
  }
  std::string own =
      dkim_canonicalize_header(DkimCanon::kRelaxed, kArcSealName, seal_value_without_b);
  own.resize(own.size() - 2);  // no CRLF after the seal's own field
  out += own;
  return out;
}

}  // namespace postern
