// libFuzzer target for lib/arc: arc_header_block.cpp (a stored message's header block read in
// chunks) and arc_forward_seal.cpp (the seal postern-qmgr and postern-local add to a forwarded
// copy). The message came from a stranger, so every byte is hostile, including an
// Authentication-Results that claims our authserv-id (authmilter removes such forgeries at
// receipt; the input may carry one anyway). Input: the first byte picks the chunk size; the
// rest is the message. Invariants: the header block reads the same in chunks as in one piece
// (fields and where the body begins), within its limits; sealing gives the same answer in
// chunks as in one piece; a seal is three CRLF-ended fields, ARC-Seal first; "not sealed"
// always says why.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lib/arc/arc_forward_seal.hpp"
#include "lib/arc/arc_header_block.hpp"
#include "lib/dkim/dkim_private_key.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

// RFC 8032 7.1 TEST 1 (the RFC 8463 example key), as PKCS#8 PEM.
constexpr std::string_view kKeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";

struct Block {
  bool ok = false;
  size_t bytes = 0;
  std::vector<postern::DkimHeader> headers;
};

Block read_block(std::string_view raw, size_t chunk) {
  postern::ArcHeaderBlockReader reader;
  Block out;
  for (size_t at = 0; at < raw.size() && !reader.done(); at += chunk) {
    std::string_view piece = raw.substr(at, chunk);
    postern::Result<size_t> used = reader.add(piece);
    if (!used) return out;
    check(*used <= piece.size());
    check(reader.done() || *used == piece.size());
  }
  if (!reader.done() && !reader.finish().ok()) return out;
  out.ok = true;
  out.bytes = reader.block_bytes();
  out.headers = reader.take_headers();
  check(out.bytes <= raw.size());
  check(out.headers.size() <= postern::kMaxArcHeaderBlockFields);
  return out;
}

postern::ArcChunkReader reader_of(std::string_view raw, size_t chunk) {
  return [raw, chunk](const postern::ArcChunkSink& sink) -> postern::Status {
    for (size_t at = 0; at < raw.size(); at += chunk) {
      if (postern::Status s = sink(raw.substr(at, chunk)); !s) return s;
    }
    return {};
  };
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const postern::DkimPrivateKey key = postern::load_dkim_private_key(kKeyPem).value();
  if (size == 0 || size > 65536) return 0;
  const size_t chunk = 1 + data[0];
  std::string_view raw(reinterpret_cast<const char*>(data) + 1, size - 1);

  Block whole = read_block(raw, raw.size() + 1);
  Block pieces = read_block(raw, chunk);
  check(whole.ok == pieces.ok);
  if (whole.ok) {
    check(whole.bytes == pieces.bytes);
    check(whole.headers.size() == pieces.headers.size());
    for (size_t k = 0; k < whole.headers.size(); ++k) {
      check(whole.headers[k].name == pieces.headers[k].name);
      check(whole.headers[k].value == pieces.headers[k].value);
    }
  }

  postern::ArcForwardSealRequest request;
  request.authserv_id = "mx.example.org";
  request.key = postern::ArcSealingKey{"example.org", "fuzz", &key};
  request.options.timestamp = 1796677200;
  auto one = postern::arc_seal_forward_message(reader_of(raw, raw.size() + 1), {}, request);
  auto two = postern::arc_seal_forward_message(reader_of(raw, chunk), {}, request);
  check(one.ok() == two.ok());
  if (!one.ok()) return 0;
  check(one->sealed == two->sealed);
  if (one->sealed) {
    check(one->prepend == two->prepend);  // Ed25519 signs deterministically
    check(one->prepend.rfind("ARC-Seal:", 0) == 0);
    check(one->prepend.size() >= 2 && one->prepend.substr(one->prepend.size() - 2) == "\r\n");
    check(one->instance >= 1 && one->instance <= postern::kMaxArcInstances);
    check(whole.ok);
  } else {
    check(!one->why_not.empty() && one->prepend.empty());
  }
  return 0;
}
