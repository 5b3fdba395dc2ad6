// A streamed DKIM body hash; see dkim_body_hash.hpp.
#include "lib/dkim/dkim_body_hash.hpp"

namespace postern {

DkimBodyHash::DkimBodyHash(DkimCanon canon, DkimHashAlgorithm hash, std::optional<uint64_t> limit)
    : canon_(canon),
      hash_(hash),
      limit_(limit),
      context_(hash),
      canonicalizer_(canon, limit, [this](std::string_view bytes) { context_.update(bytes); }) {}

void DkimBodyHash::finish() {
  if (finished_) return;
  finished_ = true;
  canonicalizer_.finish();
  digest_ = context_.finish();
}

}  // namespace postern
