// ARC chain validation; see arc_verifier.hpp for the steps. Every field is parsed at
// construction so that the body is hashed only for signatures that can still be checked; the
// keys of all of them are asked in one batch at finish().
#include "lib/arc/arc_verifier.hpp"

#include <optional>

#include "lib/authres/authres_writer.hpp"
#include "lib/base/ascii.hpp"
#include "lib/dkim/dkim_crypto.hpp"
#include "lib/dkim/dkim_key_record.hpp"
#include "lib/dkim/dkim_verifier.hpp"
#include "lib/net/dns_message.hpp"

namespace postern {

struct ArcVerifier::Signature {
  std::optional<ArcMessageSignature> fields;  // empty when it did not parse
  std::string error;
  DkimBodyHash* body_hash = nullptr;
  size_t question = 0;
};

struct ArcVerifier::Seal {
  ArcSeal fields;
  size_t question = 0;
};

namespace {

std::string instance_text(uint32_t instance) {
  return "i=" + std::to_string(instance);
}

// The key for a signature from its TXT answer, with lib/dkim's record and key checks.
Result<DkimPublicKey> key_from_answer(const DnsAnswer& answer, DkimAlgorithm algorithm,
                                      int min_rsa_bits) {
  switch (answer.status) {
    case DnsLookupStatus::kOk:
      break;
    case DnsLookupStatus::kNxDomain:
      return Error::not_found("no key");
    case DnsLookupStatus::kTemporary:
      return Error::temporary("key unavailable");
    case DnsLookupStatus::kMalformed:
      return Error::parse("key query failed");
  }
  std::optional<DkimKeyRecord> record;
  for (const std::string& text : answer.values) {
    Result<DkimKeyRecord> parsed = parse_dkim_key_record(text);
    if (parsed) {
      record = std::move(*parsed);
      break;
    }
  }
  if (!record) return Error::not_found("no usable key record");
  if (record->revoked) return Error::parse("key revoked");
  bool ed25519 = algorithm == DkimAlgorithm::kEd25519Sha256;
  if (ed25519 != (record->key_type == DkimKeyType::kEd25519)) {
    return Error::parse("key type does not match a=");
  }
  if (!dkim_key_allows_hash(*record, "sha256")) return Error::parse("key does not allow sha256");
  Result<DkimPublicKey> key = DkimPublicKey::from_record(record->key_type, record->public_key);
  if (!key) return Error::parse("bad public key");
  if (!ed25519 && key->bits() < min_rsa_bits) return Error::parse("key too small");
  return key;
}

}  // namespace

std::string ArcResult::resinfo(std::string_view remote_ip) const {
  std::string text = "arc=" + std::string(arc_chain_status_name(status));
  if (status != ArcChainStatus::kNone && highest_instance > 0) {
    text += " (" + instance_text(highest_instance) + ")";
  }
  if (status == ArcChainStatus::kFail && !reason.empty()) {
    text += " reason=" + authres_quote_value(reason);
  }
  if (status == ArcChainStatus::kPass) {
    text += " header.oldest-pass=" + std::to_string(oldest_pass);
  }
  if (status != ArcChainStatus::kNone && !remote_ip.empty()) {
    text += " smtp.remote-ip=" + authres_quote_pvalue(remote_ip);
  }
  return text;
}

ArcResult ArcVerifier::fail(std::string reason) {
  ArcResult result = early_;
  result.status = ArcChainStatus::kFail;
  result.reason = std::move(reason);
  return result;
}

ArcVerifier::ArcVerifier(std::vector<DkimHeader> headers, ArcVerifyOptions options)
    : headers_(std::move(headers)), options_(options), gathered_(gather_arc_sets(headers_)) {
  early_.highest_instance = gathered_.highest_instance;
  // The newest seal's cv=, read even from a broken chain: a sealer must not add to a chain
  // whose last sealer already said fail (RFC 8617 5.1 step 1).
  for (const DkimHeader& header : headers_) {
    if (!ascii_iequals(header.name, kArcSealName)) continue;
    Result<ArcSeal> seal = parse_arc_seal(header.value);
    if (seal && seal->instance == gathered_.highest_instance &&
        seal->chain_status == ArcChainStatus::kFail) {
      early_.newest_seal_failed = true;
    }
  }
  decided_ = true;
  if (gathered_.failed) {
    early_ = fail(gathered_.reason);
    return;
  }
  if (gathered_.sets.empty()) return;  // none
  early_.instances = static_cast<uint32_t>(gathered_.sets.size());
  for (const ArcSetFields& set : gathered_.sets) {
    Result<ArcSeal> seal = parse_arc_seal(headers_[set.seal].value);
    std::string where = "AS " + instance_text(set.instance) + ": ";
    if (!seal) {
      early_ = fail(where + seal.error().message);
      return;
    }
    if (seal->chain_status == ArcChainStatus::kFail) {
      early_ = fail(where + "cv=fail");
      return;
    }
    ArcChainStatus wanted = set.instance == 1 ? ArcChainStatus::kNone : ArcChainStatus::kPass;
    if (seal->chain_status != wanted) {
      early_ = fail(where + "cv=" + std::string(arc_chain_status_name(seal->chain_status)));
      return;
    }
    if (set.instance == gathered_.sets.size()) early_.seal_domain = seal->domain;
    seals_.push_back(Seal{std::move(*seal), 0});
  }
  for (const ArcSetFields& set : gathered_.sets) {
    Signature signature;
    Result<ArcMessageSignature> parsed =
        parse_arc_message_signature(headers_[set.message_signature].value);
    if (!parsed) {
      if (set.instance == gathered_.sets.size()) {
        early_ = fail("AMS " + instance_text(set.instance) + ": " + parsed.error().message);
        return;
      }
      signature.error = parsed.error().message;
      signatures_.push_back(std::move(signature));
      continue;
    }
    for (const auto& body_hash : body_hashes_) {
      if (body_hash->matches(parsed->body_canon, DkimHashAlgorithm::kSha256, parsed->body_length)) {
        signature.body_hash = body_hash.get();
      }
    }
    if (!signature.body_hash) {
      body_hashes_.push_back(std::make_unique<DkimBodyHash>(
          parsed->body_canon, DkimHashAlgorithm::kSha256, parsed->body_length));
      signature.body_hash = body_hashes_.back().get();
    }
    signature.fields = std::move(*parsed);
    signatures_.push_back(std::move(signature));
  }
  decided_ = false;
}

ArcVerifier::~ArcVerifier() = default;

void ArcVerifier::add_body(std::string_view chunk) {
  for (const auto& body_hash : body_hashes_) body_hash->add(chunk);
}

ArcResult ArcVerifier::finish(DnsLookup& dns) {
  if (decided_) return early_;
  decided_ = true;
  for (const auto& body_hash : body_hashes_) body_hash->finish();

  std::vector<DnsQuestion> questions;
  auto ask = [&](std::string_view selector, std::string_view domain) {
    std::string name = dkim_key_name(selector, domain);
    for (size_t q = 0; q < questions.size(); ++q) {
      if (questions[q].name == name) return q;
    }
    questions.push_back(DnsQuestion{std::move(name), kDnsTypeTxt});
    return questions.size() - 1;
  };
  for (Signature& signature : signatures_) {
    if (signature.fields)
      signature.question = ask(signature.fields->selector, signature.fields->domain);
  }
  for (Seal& seal : seals_) seal.question = ask(seal.fields.selector, seal.fields.domain);
  std::vector<DnsAnswer> answers = dns.lookup(questions);
  answers.resize(questions.size());  // a short reply leaves kTemporary answers

  // Step 4 and 5: the AMSes, newest first.
  auto check_signature = [&](const Signature& signature) -> Status {
    if (!signature.fields) return Error::parse(signature.error);
    const ArcMessageSignature& fields = *signature.fields;
    Result<DkimPublicKey> key =
        key_from_answer(answers[signature.question], fields.algorithm, options_.min_rsa_bits);
    if (!key) return key.error();
    if (fields.body_length && *fields.body_length != signature.body_hash->canonical_bytes()) {
      return Error::parse("l= does not cover the body");
    }
    if (signature.body_hash->digest() != fields.body_hash) {
      return Error::parse("body hash did not verify");
    }
    const DkimHeader& own = headers_[gathered_.sets[fields.instance - 1].message_signature];
    std::string blanked =
        own.value.substr(0, fields.b_raw_begin) + own.value.substr(fields.b_raw_end);
    std::string input = dkim_header_hash_input(fields.header_canon, headers_, fields.signed_headers,
                                               own.name, blanked);
    if (!key->verify(fields.algorithm, input, fields.signature)) {
      return Error::parse("signature did not verify");
    }
    return Status::success();
  };
  const uint32_t newest = static_cast<uint32_t>(signatures_.size());
  Status newest_status = check_signature(signatures_.back());
  if (!newest_status) {
    ArcResult result = fail("AMS " + instance_text(newest) + ": " + newest_status.error().message);
    result.temporary = newest_status.error().kind == ErrorKind::kTemporary;
    return result;
  }
  uint32_t oldest_pass = 0;
  for (uint32_t instance = newest - 1; instance >= 1; --instance) {
    if (!check_signature(signatures_[instance - 1])) {
      oldest_pass = instance + 1;
      break;
    }
  }

  // Step 6: the seals, newest first, each over the sets up to its own. Each field is
  // canonicalized once (relaxed); the seal of instance i signs the text of sets 1..i-1, then
  // the AAR and AMS of set i, then itself with b= empty: arc_seal_hash_input's bytes, built
  // without canonicalizing the older sets again for every seal.
  std::string sets_text;                          // canonical AAR, AMS, AS of sets 1..k
  std::vector<size_t> sets_end(newest + 1, 0);    // sets_text's size after set k
  std::vector<std::string> own_pair(newest + 1);  // canonical AAR and AMS of set k
  for (uint32_t k = 1; k <= newest; ++k) {
    const ArcSetFields& set = gathered_.sets[k - 1];
    for (size_t index : {set.results, set.message_signature}) {
      own_pair[k] += dkim_canonicalize_header(DkimCanon::kRelaxed, headers_[index].name,
                                              headers_[index].value);
    }
    sets_text += own_pair[k];
    sets_text += dkim_canonicalize_header(DkimCanon::kRelaxed, headers_[set.seal].name,
                                          headers_[set.seal].value);
    sets_end[k] = sets_text.size();
  }
  for (uint32_t instance = newest; instance >= 1; --instance) {
    const Seal& seal = seals_[instance - 1];
    Result<DkimPublicKey> key =
        key_from_answer(answers[seal.question], seal.fields.algorithm, options_.min_rsa_bits);
    std::string where = "AS " + instance_text(instance) + ": ";
    if (!key) {
      ArcResult result = fail(where + key.error().message);
      result.temporary = key.error().kind == ErrorKind::kTemporary;
      return result;
    }
    const DkimHeader& own = headers_[gathered_.sets[instance - 1].seal];
    std::string blanked =
        own.value.substr(0, seal.fields.b_raw_begin) + own.value.substr(seal.fields.b_raw_end);
    std::string input = sets_text.substr(0, sets_end[instance - 1]) + own_pair[instance] +
                        dkim_canonicalize_header(DkimCanon::kRelaxed, own.name, blanked);
    input.resize(input.size() - 2);  // no CRLF after the seal's own field
    if (!key->verify(seal.fields.algorithm, input, seal.fields.signature)) {
      return fail(where + "seal did not verify");
    }
  }
  ArcResult result = early_;
  result.status = ArcChainStatus::kPass;
  result.oldest_pass = oldest_pass;
  return result;
}

}  // namespace postern
