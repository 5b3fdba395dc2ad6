// Parses DKIM-Signature values (RFC 6376 3.5); see dkim_signature.hpp. Every tag value comes
// from the message and is checked before it is used; the error messages name tags, never echo
// the hostile text.
#include "lib/dkim/dkim_signature.hpp"

#include "lib/base/ascii.hpp"
#include "lib/dkim/dkim_base64.hpp"

namespace postern {
namespace {

constexpr size_t kMaxDkimDomainBytes = 253;
constexpr size_t kMaxDkimLabelBytes = 63;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool contains_space(std::string_view text) {
  for (char c : text) {
    if (is_space(c)) return true;
  }
  return false;
}

}  // namespace

std::optional<DkimCanonPair> parse_dkim_canonicalization(std::string_view text) {
  auto one = [](std::string_view word) -> std::optional<DkimCanon> {
    if (word == "simple") return DkimCanon::kSimple;
    if (word == "relaxed") return DkimCanon::kRelaxed;
    return std::nullopt;
  };
  size_t slash = text.find('/');
  std::optional<DkimCanon> header = one(text.substr(0, slash));
  std::optional<DkimCanon> body =
      slash == std::string_view::npos ? DkimCanon::kSimple : one(text.substr(slash + 1));
  if (!header || !body) return std::nullopt;
  return DkimCanonPair{*header, *body};
}

std::string_view dkim_algorithm_name(DkimAlgorithm algorithm) {
  switch (algorithm) {
    case DkimAlgorithm::kRsaSha256:
      return "rsa-sha256";
    case DkimAlgorithm::kEd25519Sha256:
      return "ed25519-sha256";
    case DkimAlgorithm::kRsaSha1:
      return "rsa-sha1";
  }
  return "rsa-sha256";
}

DkimHashAlgorithm dkim_algorithm_hash(DkimAlgorithm algorithm) {
  return algorithm == DkimAlgorithm::kRsaSha1 ? DkimHashAlgorithm::kSha1
                                              : DkimHashAlgorithm::kSha256;
}

bool dkim_algorithm_is_rsa(DkimAlgorithm algorithm) {
  return algorithm != DkimAlgorithm::kEd25519Sha256;
}

bool dkim_is_domain_text(std::string_view text) {
  if (text.empty() || text.size() > kMaxDkimDomainBytes) return false;
  size_t label = 0;
  for (char c : text) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok || ++label > kMaxDkimLabelBytes) return false;
  }
  return label > 0;
}

Result<std::string> dkim_decode_quoted_printable(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (is_space(c)) continue;  // FWS inside the value is not part of it
    if (c != '=') {
      out += c;
      continue;
    }
    if (i + 2 >= text.size()) return Error::parse("bad quoted-printable escape");
    int high = hex(text[i + 1]);
    int low = hex(text[i + 2]);
    if (high < 0 || low < 0) return Error::parse("bad quoted-printable escape");
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

DkimSignatureLabels dkim_signature_labels(std::string_view value) {
  DkimSignatureLabels labels;
  Result<DkimTagList> tags = DkimTagList::parse(value);
  if (!tags) return labels;
  if (const DkimTag* d = tags->find("d"); d && dkim_is_domain_text(d->value)) {
    labels.domain = ascii_lowercase(d->value);
  }
  if (const DkimTag* s = tags->find("s"); s && dkim_is_domain_text(s->value)) {
    labels.selector = ascii_lowercase(s->value);
  }
  if (const DkimTag* a = tags->find("a");
      a && (a->value == "rsa-sha256" || a->value == "ed25519-sha256" || a->value == "rsa-sha1")) {
    labels.algorithm = a->value;
  }
  return labels;
}

Result<DkimSignature> parse_dkim_signature(std::string_view value) {
  Result<DkimTagList> parsed = DkimTagList::parse(value);
  if (!parsed) return parsed.error();
  const DkimTagList& tags = *parsed;
  for (const char* required : {"v", "a", "b", "bh", "d", "h", "s"}) {
    if (!tags.find(required)) return Error::parse(std::string("missing tag ") + required + "=");
  }
  DkimSignature signature;
  if (tags.find("v")->value != "1") return Error::parse("unsupported version v=");

  std::string_view algorithm = tags.find("a")->value;
  if (algorithm == "rsa-sha256") {
    signature.algorithm = DkimAlgorithm::kRsaSha256;
  } else if (algorithm == "ed25519-sha256") {
    signature.algorithm = DkimAlgorithm::kEd25519Sha256;
  } else if (algorithm == "rsa-sha1") {
    signature.algorithm = DkimAlgorithm::kRsaSha1;
  } else {
    return Error::parse("unsupported algorithm a=");
  }

  if (const DkimTag* c = tags.find("c")) {
    std::optional<DkimCanonPair> canon = parse_dkim_canonicalization(c->value);
    Status status = canon ? Status::success() : Status(Error::parse("unknown canonicalization c="));
    if (canon) {
      signature.header_canon = canon->header;
      signature.body_canon = canon->body;
    }
    if (!status) return status.error();
  }

  if (const DkimTag* q = tags.find("q")) {
    bool dns_txt = false;
    for (const std::string& method : dkim_split_colon_list(q->value)) {
      if (method == "dns/txt") dns_txt = true;
    }
    if (!dns_txt) return Error::parse("unsupported query method q=");
  }

  const DkimTag& d = *tags.find("d");
  if (!dkim_is_domain_text(d.value)) return Error::parse("bad domain d=");
  signature.domain = ascii_lowercase(d.value);
  const DkimTag& s = *tags.find("s");
  if (!dkim_is_domain_text(s.value)) return Error::parse("bad selector s=");
  signature.selector = ascii_lowercase(s.value);

  std::vector<std::string> names = dkim_split_colon_list(tags.find("h")->value);
  if (names.size() > kMaxDkimSignedHeaders) return Error::limit("too many names in h=");
  bool has_from = false;
  for (std::string& name : names) {
    if (name.empty() || contains_space(name)) return Error::parse("bad header name in h=");
    name = ascii_lowercase(name);
    if (name == "from") has_from = true;
  }
  if (!has_from) return Error::parse("From not signed");
  signature.signed_headers = std::move(names);

  if (const DkimTag* i = tags.find("i")) {
    Result<std::string> identity = dkim_decode_quoted_printable(i->value);
    if (!identity) return Error::parse("bad identity i=");
    size_t at = identity->rfind('@');
    if (at == std::string::npos) return Error::parse("bad identity i=");
    std::string id_domain = ascii_lowercase(std::string_view(*identity).substr(at + 1));
    bool same = id_domain == signature.domain;
    bool sub = id_domain.size() > signature.domain.size() &&
               id_domain.compare(id_domain.size() - signature.domain.size(),
                                 signature.domain.size(), signature.domain) == 0 &&
               id_domain[id_domain.size() - signature.domain.size() - 1] == '.';
    if (!same && !sub) return Error::parse("identity i= not within d=");
    signature.identity = std::move(*identity);
    signature.identity_domain = std::move(id_domain);
  } else {
    signature.identity = "@" + signature.domain;
    signature.identity_domain = signature.domain;
  }

  Result<std::string> body_hash = dkim_base64_decode(dkim_strip_whitespace(tags.find("bh")->value));
  if (!body_hash || body_hash->empty()) return Error::parse("bad body hash bh=");
  signature.body_hash = std::move(*body_hash);
  const DkimTag& b = *tags.find("b");
  signature.signature_text = dkim_strip_whitespace(b.value);
  Result<std::string> signature_bytes = dkim_base64_decode(signature.signature_text);
  if (!signature_bytes || signature_bytes->empty()) return Error::parse("bad signature b=");
  signature.signature = std::move(*signature_bytes);
  signature.b_raw_begin = b.raw_begin;
  signature.b_raw_end = b.raw_end;

  if (const DkimTag* l = tags.find("l")) {
    Result<uint64_t> length = dkim_parse_digits(l->value, kMaxDkimLengthDigits, "l=");
    if (!length) return length.error();
    signature.body_length = *length;
  }
  if (const DkimTag* t = tags.find("t")) {
    Result<uint64_t> timestamp = dkim_parse_digits(t->value, kMaxDkimTimeDigits, "t=");
    if (!timestamp) return timestamp.error();
    signature.timestamp = static_cast<int64_t>(*timestamp);
  }
  if (const DkimTag* x = tags.find("x")) {
    Result<uint64_t> expiration = dkim_parse_digits(x->value, kMaxDkimTimeDigits, "x=");
    if (!expiration) return expiration.error();
    signature.expiration = static_cast<int64_t>(*expiration);
    if (signature.timestamp && *signature.expiration < *signature.timestamp) {
      return Error::parse("x= before t=");
    }
  }
  return signature;
}

}  // namespace postern
