// libFuzzer target for lib/dkim/dkim_tag_list.cpp and dkim_signature.cpp: postern-authmilter
// parses every DKIM-Signature field of incoming mail with them. The input is one field value.
// Besides crashes and sanitizer reports it checks that an accepted tag list respects its limits
// and that its raw spans lie inside the input, and that an accepted signature keeps the
// promises of parse_dkim_signature (From signed, i= within d=, domains well formed, h= bounded).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lib/dkim/dkim_signature.hpp"
#include "lib/dkim/dkim_tag_list.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  postern::Result<postern::DkimTagList> tags = postern::DkimTagList::parse(text);
  if (tags) {
    check(tags->tags().size() <= postern::kMaxDkimTags);
    for (const postern::DkimTag& tag : tags->tags()) {
      check(!tag.name.empty() && tag.name.size() <= postern::kMaxDkimTagNameBytes);
      check(tag.value.size() <= postern::kMaxDkimTagValueBytes);
      check(tag.raw_begin <= tag.raw_end && tag.raw_end <= size);
      check(text.substr(tag.raw_begin, tag.raw_end - tag.raw_begin).find(tag.value) !=
            std::string_view::npos);
      check(tags->find(tag.name) == &tag);  // no duplicates
    }
  }
  postern::DkimSignatureLabels labels = postern::dkim_signature_labels(text);
  check(labels.domain.empty() || postern::dkim_is_domain_text(labels.domain));
  postern::Result<postern::DkimSignature> signature = postern::parse_dkim_signature(text);
  if (!signature) return 0;
  check(tags.ok());
  check(postern::dkim_is_domain_text(signature->domain));
  check(postern::dkim_is_domain_text(signature->selector));
  check(signature->signed_headers.size() <= postern::kMaxDkimSignedHeaders);
  bool from = false;
  for (const std::string& name : signature->signed_headers) from = from || name == "from";
  check(from);
  const std::string& id = signature->identity_domain;
  const std::string& d = signature->domain;
  check(id == d || (id.size() > d.size() && id.compare(id.size() - d.size(), d.size(), d) == 0 &&
                    id[id.size() - d.size() - 1] == '.'));
  check(!signature->body_hash.empty() && !signature->signature.empty());
  check(signature->b_raw_begin <= signature->b_raw_end && signature->b_raw_end <= size);
  if (signature->timestamp && signature->expiration) {
    check(*signature->expiration >= *signature->timestamp);
  }
  return 0;
}
