// The header block of a stored message read into header fields, for the ARC seal that
// postern-qmgr and postern-local add to a forwarded copy (arc_forward_seal.hpp). The bytes are
// fed in the queue file's chunks, in any sizes, and the reader says how many of each chunk
// belong to the header block, so the caller knows where the body begins. The message came from
// a stranger, so every byte is hostile: the header lines together are bounded by
// kMaxArcHeaderBlockBytes and the fields by kMaxArcHeaderBlockFields (as postern-authmilter
// bounds what it checks); past a limit, or on a line that is not a header field (no colon, an
// empty or non-printable name, a continuation line first), the block does not parse and the
// message is not sealed. Never more than the block is held in memory.
//
// Each field is given as the milter gives it (lib/dkim's DkimHeader): the name as written
// (trailing SP/TAB before the colon dropped), the value everything after the colon with its
// folding line breaks, without the final one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/dkim/dkim_canonicalization.hpp"

namespace postern {

// The header lines with their line ends, not counting the empty line that ends the block.
inline constexpr size_t kMaxArcHeaderBlockBytes = 1024 * 1024;
inline constexpr size_t kMaxArcHeaderBlockFields = 1000;

class ArcHeaderBlockReader {
 public:
  // Takes the next bytes of the message; returns how many of them belong to the header block
  // (all of them until the empty line that ends it is seen, then none). An error is final.
  Result<size_t> add(std::string_view chunk);
  // The message ended: a block without an empty line after it (a message without a body) ends
  // here. Call once, after the last add(), when done() is still false.
  Status finish();

  bool done() const { return done_; }
  // The bytes of the block, its empty line included (where the body begins).
  size_t block_bytes() const { return consumed_; }
  const std::vector<DkimHeader>& headers() const { return headers_; }
  std::vector<DkimHeader> take_headers() { return std::move(headers_); }

 private:
  Status end_line();
  Status flush_field();

  std::vector<DkimHeader> headers_;
  std::string line_;       // the line being read, with its line end once complete
  std::string field_;      // the field being gathered (its lines so far, with their line ends)
  size_t line_bytes_ = 0;  // header lines completed so far, with their line ends
  size_t consumed_ = 0;
  bool done_ = false;
  bool failed_ = false;
};

}  // namespace postern
