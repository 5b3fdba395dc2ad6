// Milter packets, replies and option negotiation (see milter_protocol.hpp). Every read of a
// reply's data goes through Cursor, which never reads past the data and says whether anything
// was left over.
#include "lib/milter/milter_protocol.hpp"

#include <fmt/format.h>

namespace postern::milter {
namespace {

constexpr size_t kLengthBytes = 4;
constexpr uint32_t kMaxMilterStage = 6;  // macro stages: connect .. end of headers
constexpr size_t kMaxHeaderNameBytes = 1000;

void put_u32(std::string& out, uint32_t value) {
  out.push_back(static_cast<char>(value >> 24));
  out.push_back(static_cast<char>(value >> 16));
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value));
}

uint32_t get_u32(const char* in) {
  const auto* p = reinterpret_cast<const unsigned char*>(in);
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void put_string(std::string& out, std::string_view text) {
  out.append(text);
  out.push_back('\0');
}

Error bad(std::string_view what) {
  return Error::parse(fmt::format("milter reply: {}", what));
}

class Cursor {
 public:
  explicit Cursor(std::string_view data) : data_(data) {}
  bool u32(uint32_t& out) {
    if (data_.size() - pos_ < 4) return false;
    out = get_u32(data_.data() + pos_);
    pos_ += 4;
    return true;
  }
  // A NUL-terminated string (the NUL is consumed, not returned).
  bool string(std::string& out) {
    size_t nul = data_.find('\0', pos_);
    if (nul == std::string_view::npos) return false;
    out.assign(data_.substr(pos_, nul - pos_));
    pos_ = nul + 1;
    return true;
  }
  std::string_view rest() {
    std::string_view out = data_.substr(pos_);
    pos_ = data_.size();
    return out;
  }
  bool done() const { return pos_ == data_.size(); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

bool valid_header_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxHeaderNameBytes) return false;
  for (char c : name) {
    if (c <= ' ' || c >= 0x7f || c == ':') return false;
  }
  return true;
}

// "550 5.7.1 text" (lines of a multi-line reply are joined by CRLF, each with its code).
Result<MilterReply> reply_code(Cursor& in) {
  MilterReply reply;
  reply.kind = MilterReply::Kind::kReplyCode;
  std::string line;
  if (!in.string(line) || !in.done()) return bad("REPLYCODE is not one NUL-terminated string");
  if (line.size() < 3 || (line[0] != '4' && line[0] != '5') || line[1] < '0' || line[1] > '9' ||
      line[2] < '0' || line[2] > '9') {
    return bad("REPLYCODE without a 4xx or 5xx code");
  }
  if (line.size() > 3 && line[3] != ' ' && line[3] != '-')
    return bad("REPLYCODE code not followed by a space");
  for (char c : line) {
    if ((c < ' ' && c != '\r' && c != '\n') || c == 0x7f) return bad("control byte in REPLYCODE");
  }
  reply.code = line.substr(0, 3);
  reply.text = line.size() > 4 ? line.substr(4) : "";
  return reply;
}

Result<MilterReply> header_action(Cursor& in, MilterReply::Kind kind, bool indexed) {
  MilterReply reply;
  reply.kind = kind;
  if (indexed && !in.u32(reply.header_index)) return bad("header action without its index");
  if (!in.string(reply.header_name) || !in.string(reply.header_value) || !in.done()) {
    return bad("header action is not name and value");
  }
  if (!valid_header_name(reply.header_name)) return bad("header action with a bad field name");
  if (reply.header_value.find('\0') != std::string::npos) return bad("NUL in a header value");
  return reply;
}

Result<MilterReply> option_negotiation(Cursor& in) {
  MilterReply reply;
  reply.kind = MilterReply::Kind::kOptionNegotiation;
  if (!in.u32(reply.version) || !in.u32(reply.actions) || !in.u32(reply.protocol)) {
    return bad("option negotiation shorter than 12 bytes");
  }
  while (!in.done()) {
    uint32_t stage = 0;
    std::string names;
    if (!in.u32(stage) || !in.string(names)) return bad("truncated macro list");
    if (stage > kMaxMilterStage) return bad("macro list for an unknown stage");
    if (reply.macro_lists.size() == kMaxMilterMacroLists) return bad("too many macro lists");
    reply.macro_lists.emplace_back(stage, std::move(names));
  }
  return reply;
}

}  // namespace

// --- MTA to milter

std::string encode_packet(MilterCommand command, std::string_view data) {
  std::string out;
  out.reserve(kLengthBytes + 1 + data.size());
  put_u32(out, static_cast<uint32_t>(data.size() + 1));
  out.push_back(static_cast<char>(command));
  out.append(data);
  return out;
}

std::string encode_option_negotiation(uint32_t version, uint32_t actions, uint32_t protocol) {
  std::string data;
  put_u32(data, version);
  put_u32(data, actions);
  put_u32(data, protocol);
  return encode_packet(MilterCommand::kOptionNegotiation, data);
}

std::string encode_macros(MilterCommand stage,
                          const std::vector<std::pair<std::string, std::string>>& macros) {
  std::string data(1, static_cast<char>(stage));
  for (const auto& [name, value] : macros) {
    put_string(data, name);
    put_string(data, value);
  }
  return encode_packet(MilterCommand::kMacro, data);
}

std::string encode_connect(std::string_view hostname, char family, uint16_t port,
                           std::string_view address) {
  std::string data;
  put_string(data, hostname);
  data.push_back(family);
  if (family != 'U') {
    data.push_back(static_cast<char>(port >> 8));
    data.push_back(static_cast<char>(port));
    put_string(data, address);
  }
  return encode_packet(MilterCommand::kConnect, data);
}

std::string encode_helo(std::string_view helo) {
  std::string data;
  put_string(data, helo);
  return encode_packet(MilterCommand::kHelo, data);
}

std::string encode_envelope(MilterCommand command, std::string_view address,
                            const std::vector<std::string>& esmtp_args) {
  std::string data;
  put_string(data, fmt::format("<{}>", address));
  for (const std::string& arg : esmtp_args) put_string(data, arg);
  return encode_packet(command, data);
}

std::string encode_header(std::string_view name, std::string_view value) {
  std::string data;
  put_string(data, name);
  put_string(data, value);
  return encode_packet(MilterCommand::kHeader, data);
}

std::string encode_body_chunk(std::string_view chunk) {
  return encode_packet(MilterCommand::kBody, chunk.substr(0, kMaxMilterBodyChunkBytes));
}

std::string encode_simple(MilterCommand command) {
  return encode_packet(command, {});
}

// --- milter to MTA

std::optional<Result<MilterPacket>> MilterPacketReader::next() {
  if (failed_) return Result<MilterPacket>(bad("connection already refused"));
  if (buffer_.size() < kLengthBytes) return std::nullopt;
  const uint32_t length = get_u32(buffer_.data());
  if (length == 0 || length > kMaxMilterPacketBytes) {
    failed_ = true;
    buffer_.clear();
    return Result<MilterPacket>(
        bad(length == 0 ? "packet of length 0" : "packet longer than kMaxMilterPacketBytes"));
  }
  if (buffer_.size() - kLengthBytes < length) return std::nullopt;
  MilterPacket packet;
  packet.command = buffer_[kLengthBytes];
  packet.data.assign(buffer_, kLengthBytes + 1, length - 1);
  buffer_.erase(0, kLengthBytes + length);
  return Result<MilterPacket>(std::move(packet));
}

bool MilterReply::is_final() const {
  return kind == Kind::kAccept || kind == Kind::kReject || kind == Kind::kTempfail ||
         kind == Kind::kDiscard || kind == Kind::kReplyCode || kind == Kind::kShutdown;
}

Result<MilterReply> decode_reply(const MilterPacket& packet) {
  Cursor in(packet.data);
  MilterReply reply;
  auto simple = [&](MilterReply::Kind kind) -> Result<MilterReply> {
    if (!in.done()) return bad(fmt::format("'{}' reply with data", packet.command));
    reply.kind = kind;
    return reply;
  };
  switch (packet.command) {
    case 'a':
      return simple(MilterReply::Kind::kAccept);
    case 'c':
      return simple(MilterReply::Kind::kContinue);
    case 'r':
      return simple(MilterReply::Kind::kReject);
    case 't':
      return simple(MilterReply::Kind::kTempfail);
    case 'd':
      return simple(MilterReply::Kind::kDiscard);
    case 's':
      return simple(MilterReply::Kind::kSkip);
    case 'p':
      return simple(MilterReply::Kind::kProgress);
    case '4':
    case 'f':
      return simple(MilterReply::Kind::kShutdown);
    case 'y':
      return reply_code(in);
    case '+':
    case '-':
      reply.kind = packet.command == '+' ? MilterReply::Kind::kAddRecipient
                                         : MilterReply::Kind::kDeleteRecipient;
      if (!in.string(reply.address) || !in.done() || reply.address.empty()) {
        return bad("recipient action is not one address");
      }
      return reply;
    case '2':  // ADDRCPT_PAR: address, then its ESMTP arguments
    case 'e':  // CHGFROM: address, then optional ESMTP arguments
      reply.kind =
          packet.command == '2' ? MilterReply::Kind::kAddRecipient : MilterReply::Kind::kChangeFrom;
      if (!in.string(reply.address)) return bad("address action without its address");
      if (!in.done() && (!in.string(reply.esmtp_args) || !in.done())) {
        return bad("address action with bytes after its arguments");
      }
      return reply;
    case 'b':
      reply.kind = MilterReply::Kind::kReplaceBody;
      reply.body.assign(in.rest());
      return reply;
    case 'h':
      return header_action(in, MilterReply::Kind::kAddHeader, false);
    case 'i':
      return header_action(in, MilterReply::Kind::kInsertHeader, true);
    case 'm':
      return header_action(in, MilterReply::Kind::kChangeHeader, true);
    case 'q':
      reply.kind = MilterReply::Kind::kQuarantine;
      if (!in.string(reply.reason) || !in.done()) return bad("QUARANTINE is not one reason");
      return reply;
    case 'O':
      return option_negotiation(in);
    default:
      return bad(fmt::format("unknown reply 0x{:02x}", static_cast<unsigned char>(packet.command)));
  }
}

Result<MilterNegotiation> negotiate(const MilterReply& reply, uint32_t offered_actions,
                                    uint32_t offered_protocol) {
  if (reply.kind != MilterReply::Kind::kOptionNegotiation) {
    return bad("expected the option negotiation");
  }
  if (reply.version < kMinMilterVersion || reply.version > kMilterVersion) {
    return bad(fmt::format("milter protocol version {} (we speak {} to {})", reply.version,
                           kMinMilterVersion, kMilterVersion));
  }
  if ((reply.actions & ~offered_actions) != 0) {
    return bad(fmt::format("milter asks for actions 0x{:x} we did not offer",
                           reply.actions & ~offered_actions));
  }
  if ((reply.protocol & ~offered_protocol) != 0) {
    return bad(fmt::format("milter asks for protocol options 0x{:x} we did not offer",
                           reply.protocol & ~offered_protocol));
  }
  MilterNegotiation out;
  out.version = reply.version;
  out.actions = reply.actions;
  out.protocol = reply.protocol;
  out.macro_lists = reply.macro_lists;
  return out;
}

}  // namespace postern::milter
