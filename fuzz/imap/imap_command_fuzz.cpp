// libFuzzer target for lib/imap/imap_parser.cpp (ImapCommandReader, parse_imap_command, imap_quote):
// the reader imapd runs on every byte an IMAP client sends. Small limits make every limit
// reachable. The input is fed twice, whole and in pieces whose sizes come from the input's first
// bytes, and both runs must produce the same events (split-independence). Checked besides
// crashes and sanitizer reports: every command has a valid tag and an upper-case name, its tree
// respects max_depth and max_tokens, the reader never holds more than its limits allow, and
// every string argument survives imap_quote and a second parse unchanged. The argument parsers
// that read the token tree (lib/imap/imap_sequence_set, imap_fetch_items, imap_search_keys) run on
// every command's arguments as FETCH/STORE/SEARCH would hand them over.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/imap/imap_fetch_items.hpp"
#include "lib/imap/imap_parser.hpp"
#include "lib/imap/imap_search_keys.hpp"
#include "lib/imap/imap_sequence_set.hpp"

namespace {

using postern::ImapCommand;
using postern::ImapCommandReader;
using postern::ImapParserLimits;
using postern::ImapReadState;
using postern::ImapToken;

void check(bool condition) {
  if (!condition) std::abort();
}

ImapParserLimits fuzz_limits() {
  ImapParserLimits limits;
  limits.max_line_bytes = 200;
  limits.max_literal_bytes = 64;
  limits.max_append_literal_bytes = 300;
  limits.max_command_bytes = 1000;
  limits.max_depth = 6;
  limits.max_tokens = 40;
  limits.max_tag_bytes = 16;
  return limits;
}

size_t check_tree(const ImapToken& token, size_t depth, const ImapParserLimits& limits) {
  check(depth <= limits.max_depth);
  size_t count = 1;
  if (token.kind == ImapToken::Kind::kList) {
    check(token.text.empty());
    for (const ImapToken& child : token.children) count += check_tree(child, depth + 1, limits);
  } else {
    check(token.children.empty());
    if (token.kind == ImapToken::Kind::kLiteral && !token.binary_literal) {
      check(token.text.find('\0') == std::string::npos);
    }
    if (std::optional<std::string_view> text = token.astring()) {
      postern::Result<ImapCommand> again = postern::parse_imap_command("t X " + postern::imap_quote(*text) + "\r\n");
      check(again.ok() && again->args.size() == 1 && again->args[0].astring() == *text);
    }
  }
  return count;
}

void run_argument_parsers(const ImapCommand& command) {
  const std::vector<ImapToken>& args = command.args;
  if (!args.empty() && args[0].is_atom()) {
    postern::Result<postern::SequenceSet> set = postern::parse_sequence_set(args[0].text);
    if (set.ok() && !set->saved) {
      (void)postern::resolve_sequence_numbers(*set, 1000);
      (void)postern::resolve_uids(*set, 1000, [](uint32_t seq) { return seq * 3; });
    }
  }
  if (args.size() >= 2) {
    const ImapToken* modifiers = args.size() >= 3 ? &args[2] : nullptr;
    (void)postern::parse_fetch_items(args[1], modifiers);
  }
  (void)postern::parse_search(args, 0);
  if (args.size() >= 1) (void)postern::parse_search(args, 1);
}

std::string describe(ImapReadState state, ImapCommandReader& reader,
                     const ImapParserLimits& limits) {
  switch (state) {
    case ImapReadState::kCommand: {
      ImapCommand command = reader.take_command();
      if (!command.tag.empty() || !command.name.empty()) {  // raw lines are never asked for here
        check(!command.tag.empty() && command.tag.size() <= limits.max_tag_bytes);
        check(!command.name.empty());
        for (char c : command.name) check(!(c >= 'a' && c <= 'z'));
      }
      size_t tokens = 0;
      for (const ImapToken& arg : command.args) tokens += check_tree(arg, 0, limits);
      run_argument_parsers(command);
      check(tokens <= limits.max_tokens);
      std::string out = "C" + command.tag + " " + command.name + (command.uid ? " U " : " ") +
                        std::to_string(tokens);
      for (const ImapToken& arg : command.args) out += "|" + arg.text;
      return out;
    }
    case ImapReadState::kContinuation:
      return "+";
    case ImapReadState::kError:
    case ImapReadState::kFatal: {
      postern::ImapSyntaxError error = reader.take_error();
      check(!error.tag.empty() && !error.message.empty());
      return (state == ImapReadState::kFatal ? "F" : "E") + error.tag + " " + error.message;
    }
    case ImapReadState::kNeedMore:
      break;
  }
  return "";
}

std::vector<std::string> run(std::string_view input, const std::vector<size_t>& pieces,
                             const ImapParserLimits& limits) {
  ImapCommandReader reader(limits);
  std::vector<std::string> events;
  size_t pos = 0;
  size_t piece_index = 0;
  while (pos < input.size()) {
    size_t want = pieces.empty() ? input.size() : pieces[piece_index++ % pieces.size()];
    std::string_view piece = input.substr(pos, want);
    size_t used = 0;
    ImapReadState state = reader.feed(piece, &used);
    check(used <= piece.size());
    check(reader.buffered_bytes() <= limits.max_command_bytes + limits.max_append_literal_bytes +
                                          limits.max_line_bytes + 4);
    pos += used;
    if (state == ImapReadState::kNeedMore) {
      check(used == piece.size());
      continue;
    }
    events.push_back(describe(state, reader, limits));
    if (state == ImapReadState::kFatal) break;
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  // The first 4 bytes choose piece sizes (1..16) for the split run.
  std::vector<size_t> pieces;
  for (size_t i = 0; i < 4; ++i) pieces.push_back(1 + (data[i] & 15));
  std::string_view input(reinterpret_cast<const char*>(data) + 4, size - 4);
  const ImapParserLimits limits = fuzz_limits();
  std::vector<std::string> whole = run(input, {}, limits);
  std::vector<std::string> split = run(input, pieces, limits);
  if (whole != split) {
    // Both event lists, so a finding says at once where the runs part.
    for (const auto& [label, events] : {std::pair{"whole", &whole}, std::pair{"split", &split}}) {
      std::fprintf(stderr, "%s run (%zu events):\n", label, events->size());
      for (const std::string& event : *events) std::fprintf(stderr, "  %s\n", event.c_str());
    }
    std::abort();
  }
  (void)postern::parse_imap_command(input, limits);
  return 0;
}
