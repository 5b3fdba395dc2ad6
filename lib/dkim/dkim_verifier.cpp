// DKIM verification; see dkim_verifier.hpp for the rules chosen. Signatures are parsed and
// pre-checked at construction so the body is hashed only for those that can still pass.
#include "lib/dkim/dkim_verifier.hpp"

#include "lib/base/ascii.hpp"
#include "lib/dkim/dkim_crypto.hpp"
#include "lib/dkim/dkim_key_record.hpp"
#include "lib/net/dns_message.hpp"

namespace postern {

struct DkimVerifier::Entry {
  size_t header_index = 0;
  std::optional<DkimSignature> signature;  // empty when it did not parse
  DkimResult result;                       // labels always; the verdict once decided
  bool decided = false;
  DkimBodyHash* body_hash = nullptr;
  size_t question = 0;  // index into the batch
};

std::string dkim_key_name(std::string_view selector, std::string_view domain) {
  std::string name(selector);
  name += "._domainkey.";
  name += domain;
  return name;
}

namespace {

void decide(DkimResult& result, DkimStatus status, std::string reason) {
  result.status = status;
  result.reason = std::move(reason);
}

}  // namespace

DkimVerifier::DkimVerifier(std::vector<DkimHeader> headers, DkimVerifyOptions options)
    : headers_(std::move(headers)), options_(options) {
  for (size_t i = 0; i < headers_.size(); ++i) {
    if (!ascii_iequals(headers_[i].name, "DKIM-Signature")) continue;
    DkimSignatureLabels labels = dkim_signature_labels(headers_[i].value);
    if (entries_.size() == options_.max_signatures) {
      DkimResult result;
      result.domain = labels.domain;
      result.selector = labels.selector;
      result.algorithm = labels.algorithm;
      decide(result, DkimStatus::kPolicy, "too many signatures");
      too_many_ = std::move(result);
      break;
    }
    Entry entry;
    entry.header_index = i;
    entry.result.domain = labels.domain;
    entry.result.selector = labels.selector;
    entry.result.algorithm = labels.algorithm;
    Result<DkimSignature> parsed = parse_dkim_signature(headers_[i].value);
    if (!parsed) {
      decide(entry.result, DkimStatus::kPermerror, parsed.error().message);
      entry.decided = true;
      entries_.push_back(std::move(entry));
      continue;
    }
    DkimSignature& signature = *parsed;
    entry.result.identity = signature.identity;
    entry.result.algorithm = std::string(dkim_algorithm_name(signature.algorithm));
    entry.result.b_prefix = signature.signature_text.substr(0, kDkimHeaderBChars);
    if (signature.algorithm == DkimAlgorithm::kRsaSha1 && !options_.accept_rsa_sha1) {
      decide(entry.result, DkimStatus::kPolicy, "rsa-sha1 is not accepted");
      entry.decided = true;
    } else if (signature.expiration && options_.now > *signature.expiration) {
      decide(entry.result, DkimStatus::kPermerror, "signature expired");
      entry.decided = true;
    } else if (signature.timestamp &&
               *signature.timestamp > options_.now + options_.max_future_seconds) {
      decide(entry.result, DkimStatus::kPermerror, "signature timestamp in the future");
      entry.decided = true;
    } else if (!check_dns_name(dkim_key_name(signature.selector, signature.domain)).ok()) {
      decide(entry.result, DkimStatus::kPermerror, "key name too long");
      entry.decided = true;
    }
    if (!entry.decided) {
      DkimHashAlgorithm hash = dkim_algorithm_hash(signature.algorithm);
      for (const auto& body_hash : body_hashes_) {
        if (body_hash->matches(signature.body_canon, hash, signature.body_length)) {
          entry.body_hash = body_hash.get();
        }
      }
      if (!entry.body_hash) {
        body_hashes_.push_back(
            std::make_unique<DkimBodyHash>(signature.body_canon, hash, signature.body_length));
        entry.body_hash = body_hashes_.back().get();
      }
    }
    entry.signature = std::move(signature);
    entries_.push_back(std::move(entry));
  }
}

DkimVerifier::~DkimVerifier() = default;

void DkimVerifier::add_body(std::string_view chunk) {
  for (const auto& body_hash : body_hashes_) body_hash->add(chunk);
}

std::vector<DkimResult> DkimVerifier::finish(DnsLookup& dns) {
  std::vector<DkimResult> results;
  if (entries_.empty() && !too_many_) {
    results.push_back(DkimResult{});  // none
    return results;
  }
  for (const auto& body_hash : body_hashes_) body_hash->finish();

  std::vector<DnsQuestion> questions;
  for (Entry& entry : entries_) {
    if (entry.decided) continue;
    std::string name = dkim_key_name(entry.signature->selector, entry.signature->domain);
    size_t found = questions.size();
    for (size_t q = 0; q < questions.size(); ++q) {
      if (questions[q].name == name) found = q;
    }
    if (found == questions.size()) questions.push_back(DnsQuestion{name, kDnsTypeTxt});
    entry.question = found;
  }
  std::vector<DnsAnswer> answers;
  if (!questions.empty()) answers = dns.lookup(questions);

  for (Entry& entry : entries_) {
    if (!entry.decided) {
      if (entry.question < answers.size()) {
        entry.result = check(entry, answers[entry.question]);
      } else {
        decide(entry.result, DkimStatus::kTemperror, "key lookup failed");
      }
    }
    results.push_back(entry.result);
  }
  if (too_many_) results.push_back(*too_many_);
  return results;
}

DkimResult DkimVerifier::check(Entry& entry, const DnsAnswer& answer) {
  DkimResult result = entry.result;
  const DkimSignature& signature = *entry.signature;
  switch (answer.status) {
    case DnsLookupStatus::kOk:
      break;
    case DnsLookupStatus::kNxDomain:
      decide(result, DkimStatus::kPermerror, "no key for signature");
      return result;
    case DnsLookupStatus::kTemporary:
      decide(result, DkimStatus::kTemperror, "key unavailable");
      return result;
    case DnsLookupStatus::kMalformed:
      decide(result, DkimStatus::kPermerror, "key query failed");
      return result;
  }
  if (answer.values.empty()) {
    decide(result, DkimStatus::kPermerror, "no key for signature");
    return result;
  }
  std::optional<DkimKeyRecord> record;
  std::string record_error;
  for (const std::string& text : answer.values) {
    Result<DkimKeyRecord> parsed = parse_dkim_key_record(text);
    if (parsed) {
      record = std::move(*parsed);
      break;
    }
    if (record_error.empty()) record_error = parsed.error().message;
  }
  if (!record) {
    decide(result, DkimStatus::kPermerror, record_error);
    return result;
  }
  result.testing = record->testing;
  if (record->revoked) {
    decide(result, DkimStatus::kFail, "key revoked");
    return result;
  }
  bool ed25519 = signature.algorithm == DkimAlgorithm::kEd25519Sha256;
  if (ed25519 != (record->key_type == DkimKeyType::kEd25519)) {
    decide(result, DkimStatus::kPermerror, "key type does not match a=");
    return result;
  }
  std::string_view hash_name =
      dkim_algorithm_hash(signature.algorithm) == DkimHashAlgorithm::kSha1 ? "sha1" : "sha256";
  if (!dkim_key_allows_hash(*record, hash_name)) {
    decide(result, DkimStatus::kPermerror, "key does not allow the hash of a=");
    return result;
  }
  if (record->strict_identity && signature.identity_domain != signature.domain) {
    decide(result, DkimStatus::kPermerror, "key requires the i= domain to be d=");
    return result;
  }
  Result<DkimPublicKey> key = DkimPublicKey::from_record(record->key_type, record->public_key);
  if (!key) {
    decide(result, DkimStatus::kPermerror, "bad public key");
    return result;
  }
  result.key_bits = key->bits();
  if (!ed25519 && key->bits() < options_.min_rsa_bits) {
    decide(result, DkimStatus::kPolicy, "signing key too small");
    return result;
  }
  uint64_t body_bytes = entry.body_hash->canonical_bytes();
  if (signature.body_length && *signature.body_length > body_bytes) {
    decide(result, DkimStatus::kFail, "body shorter than l=");
    return result;
  }
  if (entry.body_hash->digest() != signature.body_hash) {
    decide(result, DkimStatus::kFail, "body hash did not verify");
    return result;
  }
  const DkimHeader& own = headers_[entry.header_index];
  std::string blanked =
      own.value.substr(0, signature.b_raw_begin) + own.value.substr(signature.b_raw_end);
  std::string input = dkim_header_hash_input(signature.header_canon, headers_,
                                             signature.signed_headers, own.name, blanked);
  if (!key->verify(signature.algorithm, input, signature.signature)) {
    decide(result, DkimStatus::kFail, "signature did not verify");
    return result;
  }
  if (signature.body_length && *signature.body_length < body_bytes) {
    decide(result, DkimStatus::kPolicy, "body extends past l=");
    return result;
  }
  decide(result, DkimStatus::kPass, "");
  return result;
}

}  // namespace postern
