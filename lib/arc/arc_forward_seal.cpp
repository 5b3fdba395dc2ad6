// The ARC set of a forwarded copy (see arc_forward_seal.hpp). Bounded by the header block's
// limits, lib/authres' parser limits and the sealer's; the body streams through one hash.
#include "lib/arc/arc_forward_seal.hpp"

#include <optional>

#include "lib/arc/arc_header_block.hpp"
#include "lib/authres/authres_parser.hpp"
#include "lib/authres/authres_writer.hpp"
#include "lib/base/ascii.hpp"

namespace postern {
namespace {

constexpr std::string_view kAuthResultsName = "Authentication-Results";

ArcForwardSeal not_sealed(std::string why) {
  ArcForwardSeal seal;
  seal.why_not = std::move(why);
  return seal;
}

std::optional<ArcChainStatus> chain_status_of(std::string_view result) {
  if (result == "none") return ArcChainStatus::kNone;
  if (result == "pass") return ArcChainStatus::kPass;
  if (result == "fail") return ArcChainStatus::kFail;
  return std::nullopt;
}

// The newest AS of the message says cv=fail (RFC 8617 5.1: such a chain gets no new set).
bool newest_seal_failed(const std::vector<DkimHeader>& headers, uint32_t highest_instance) {
  if (highest_instance == 0) return false;
  for (const DkimHeader& header : headers) {
    if (!ascii_iequals(header.name, kArcSealName)) continue;
    Result<ArcSeal> seal = parse_arc_seal(header.value);
    if (seal && seal->instance == highest_instance && seal->chain_status == ArcChainStatus::kFail) {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<ArcForwardSeal> arc_seal_forward(const std::vector<DkimHeader>& headers,
                                        const ArcChunkReader& body,
                                        const ArcForwardSealRequest& request) {
  // Ours is the topmost that claims our authserv-id: authmilter added it and removed others.
  const DkimHeader* ours = nullptr;
  for (const DkimHeader& header : headers) {
    if (ascii_iequals(header.name, kAuthResultsName) &&
        claims_authserv_id(header.value, request.authserv_id)) {
      ours = &header;
      break;
    }
  }
  if (ours == nullptr) return not_sealed("no Authentication-Results of ours");
  Result<AuthResults> results = parse_auth_results(ours->value);
  if (!results) return not_sealed("our Authentication-Results does not parse");

  std::vector<std::string> resinfos;
  std::optional<ArcChainStatus> status;
  for (const AuthResultsInfo& info : results->results) {
    resinfos.push_back(format_authres_resinfo(info));
    if (info.method == "arc" && !status) status = chain_status_of(info.result);
  }
  if (!status) return not_sealed("our Authentication-Results has no arc=none|pass|fail");

  ArcSetsGathered gathered = gather_arc_sets(headers);
  ArcResult chain;
  chain.status = *status;
  chain.instances = static_cast<uint32_t>(gathered.sets.size());
  chain.highest_instance = gathered.highest_instance;
  chain.newest_seal_failed = newest_seal_failed(headers, gathered.highest_instance);
  if (chain.status == ArcChainStatus::kNone && gathered.highest_instance != 0) {
    return not_sealed("arc=none but the message carries ARC fields");
  }
  if (chain.status == ArcChainStatus::kPass && (gathered.failed || gathered.sets.empty())) {
    return not_sealed("arc=pass but the message's ARC sets do not form a chain");
  }
  if (chain.newest_seal_failed) return not_sealed("the newest ARC-Seal already says cv=fail");
  if (chain.highest_instance >= kMaxArcInstances) return not_sealed("the ARC chain is full");

  ArcSealer sealer(request.key, request.options);
  Status read = body([&](std::string_view chunk) -> Status {
    sealer.add_body(chunk);
    return {};
  });
  if (!read) return read.error();
  Result<ArcSetValues> set = sealer.finish(headers, request.authserv_id, resinfos, chain);
  if (!set) {
    if (set.error().kind == ErrorKind::kLimit || set.error().kind == ErrorKind::kPermanent) {
      return not_sealed(set.error().message);
    }
    return set.error();
  }
  ArcForwardSeal seal;
  seal.sealed = true;
  seal.instance = set->instance;
  seal.chain_status = set->chain_status;
  for (const DkimHeader& field : set->fields()) {
    seal.prepend += field.name + ":" + field.value + "\r\n";
  }
  return seal;
}

Result<ArcForwardSeal> arc_seal_forward_message(const ArcChunkReader& message,
                                                const std::vector<DkimHeader>& extra_headers,
                                                const ArcForwardSealRequest& request) {
  ArcHeaderBlockReader block;
  std::optional<Error> block_error;
  // A chunk-reader stops at the sink's first error; this one says the header block is read.
  const Error kBlockRead{ErrorKind::kPermanent, "header block read", 0};
  Status first = message([&](std::string_view chunk) -> Status {
    Result<size_t> used = block.add(chunk);
    if (!used) {
      block_error = used.error();
      return used.error();
    }
    if (block.done()) return kBlockRead;
    return {};
  });
  if (block_error) return not_sealed(block_error->message);
  if (!first && !block.done()) return first.error();
  if (!block.done()) {
    if (Status s = block.finish(); !s) return not_sealed(s.error().message);
  }
  std::vector<DkimHeader> headers = extra_headers;
  for (DkimHeader& header : block.take_headers()) headers.push_back(std::move(header));

  const size_t skip = block.block_bytes();
  auto body = [&](const ArcChunkSink& sink) -> Status {
    size_t seen = 0;
    return message([&](std::string_view chunk) -> Status {
      size_t before = seen;
      seen += chunk.size();
      if (seen <= skip) return {};
      if (before < skip) chunk.remove_prefix(skip - before);
      return sink(chunk);
    });
  };
  return arc_seal_forward(headers, body, request);
}

}  // namespace postern
