// The Sendmail milter protocol, version 6, from the MTA's side, as Postfix speaks it: the
// packets smtpd, submission and pickup will send to a milter, and the reading of what a milter
// sends back. A packet is a 4-byte big-endian length (of what follows), one command byte, then
// the data. Used by the milter client (next step of issue 12); this file does no I/O.
// A milter is a separate program, often remote (inet:): every byte it sends is untrusted.
// MilterPacketReader bounds a packet by kMaxMilterPacketBytes before buffering it; the reply
// decoder checks each reply's shape completely (NUL-terminated strings, no bytes left over,
// reply codes 4xx/5xx, header names) and anything else is an error: the caller then drops that
// milter's connection and applies milter_default_action.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/base/result.hpp"

namespace postern::milter {

inline constexpr uint32_t kMilterVersion = 6;
inline constexpr uint32_t kMinMilterVersion = 2;  // the oldest a milter may answer with
// A reply packet: a replaced body comes in pieces of at most 64 KiB from libmilter, but other
// milters may send more; 1 MiB bounds what one packet can make us buffer.
inline constexpr uint32_t kMaxMilterPacketBytes = 1024 * 1024;
inline constexpr size_t kMaxMilterBodyChunkBytes = 65535;  // what we send per SMFIC_BODY
inline constexpr size_t kMaxMilterMacroLists = 16;

// SMFIF_*: what a milter may do at end of message.
enum MilterAction : uint32_t {
  kActionAddHeaders = 0x01,
  kActionChangeBody = 0x02,
  kActionAddRecipient = 0x04,
  kActionDeleteRecipient = 0x08,
  kActionChangeHeaders = 0x10,
  kActionQuarantine = 0x20,
  kActionChangeFrom = 0x40,
  kActionAddRecipientArgs = 0x80,
  kActionSetSymbolList = 0x100,
};
inline constexpr uint32_t kAllMilterActions = 0x1ff;

// SMFIP_*: the steps a milter does not want, the ones it will not answer (NR), and options.
enum MilterProtocolFlag : uint32_t {
  kNoConnect = 0x1,
  kNoHelo = 0x2,
  kNoMail = 0x4,
  kNoRcpt = 0x8,
  kNoBody = 0x10,
  kNoHeaders = 0x20,
  kNoEndOfHeaders = 0x40,
  kNoReplyHeader = 0x80,
  kNoUnknown = 0x100,
  kNoData = 0x200,
  kSkip = 0x400,  // the milter may answer SKIP to a body chunk
  kRejectedRcpt = 0x800,
  kNoReplyConnect = 0x1000,
  kNoReplyHelo = 0x2000,
  kNoReplyMail = 0x4000,
  kNoReplyRcpt = 0x8000,
  kNoReplyData = 0x10000,
  kNoReplyUnknown = 0x20000,
  kNoReplyEndOfHeaders = 0x40000,
  kNoReplyBody = 0x80000,
  kHeaderLeadingSpace = 0x100000,
};
inline constexpr uint32_t kAllMilterProtocolFlags = 0x1fffff;

// SMFIC_* command bytes (MTA to milter).
enum class MilterCommand : char {
  kAbort = 'A',
  kBody = 'B',
  kConnect = 'C',
  kMacro = 'D',
  kEndOfMessage = 'E',
  kHelo = 'H',
  kQuitNewConnection = 'K',
  kHeader = 'L',
  kMail = 'M',
  kEndOfHeaders = 'N',
  kOptionNegotiation = 'O',
  kQuit = 'Q',
  kRcpt = 'R',
  kData = 'T',
  kUnknown = 'U',
};

// --- MTA to milter

std::string encode_packet(MilterCommand command, std::string_view data);
std::string encode_option_negotiation(uint32_t version, uint32_t actions, uint32_t protocol);
// Macros for the stage whose command follows (SMFIC_MACRO): "name\0value\0" pairs.
std::string encode_macros(MilterCommand stage,
                          const std::vector<std::pair<std::string, std::string>>& macros);
// family: '4' (IPv4), '6' (IPv6), 'L' (Unix socket) or 'U' (unknown; then no port/address).
std::string encode_connect(std::string_view hostname, char family, uint16_t port,
                           std::string_view address);
std::string encode_helo(std::string_view helo);
// MAIL FROM / RCPT TO: the address in angle brackets, then each ESMTP argument.
std::string encode_envelope(MilterCommand command, std::string_view address,
                            const std::vector<std::string>& esmtp_args);
std::string encode_header(std::string_view name, std::string_view value);
std::string encode_body_chunk(std::string_view chunk);  // at most kMaxMilterBodyChunkBytes
std::string encode_simple(MilterCommand command);       // DATA, EOH, EOM, ABORT, QUIT...

// --- milter to MTA

struct MilterPacket {
  char command = 0;
  std::string data;
};

// Splits a byte stream into packets. feed() takes any piece; next() returns a whole packet,
// nullopt when more bytes are needed, or an error (length 0, or over kMaxMilterPacketBytes)
// after which the connection is unusable. Never buffers more than one packet beyond what it
// has returned.
class MilterPacketReader {
 public:
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  std::optional<Result<MilterPacket>> next();
  size_t buffered() const { return buffer_.size(); }

 private:
  std::string buffer_;
  bool failed_ = false;
};

struct MilterReply {
  enum class Kind {
    kAccept,
    kContinue,
    kReject,
    kTempfail,
    kDiscard,
    kReplyCode,
    kSkip,
    kProgress,
    kShutdown,  // SMFIR_SHUTDOWN and SMFIR_CONN_FAIL: the milter gives up this connection
    kAddRecipient,
    kDeleteRecipient,
    kReplaceBody,
    kChangeFrom,
    kAddHeader,
    kInsertHeader,
    kChangeHeader,
    kQuarantine,
    kOptionNegotiation,
  };
  Kind kind = Kind::kContinue;
  std::string code;           // kReplyCode: "550", "451"...
  std::string text;           // kReplyCode: the rest ("5.7.1 Gtube pattern", lines joined by CRLF)
  std::string address;        // kAddRecipient, kDeleteRecipient, kChangeFrom
  std::string esmtp_args;     // kAddRecipient (from ADDRCPT_PAR), kChangeFrom; may be ""
  std::string header_name;    // the header actions
  std::string header_value;   // the header actions ("" with kChangeHeader = delete)
  uint32_t header_index = 0;  // kInsertHeader: position; kChangeHeader: nth of that name
  std::string body;           // kReplaceBody: one piece of the new body
  std::string reason;         // kQuarantine
  uint32_t version = 0, actions = 0, protocol = 0;  // kOptionNegotiation
  // kOptionNegotiation, version 6: the macros the milter asks for, per stage (SMFIR_SETSYMLIST
  // data carried in the negotiation reply): stage index, then the space-separated names.
  std::vector<std::pair<uint32_t, std::string>> macro_lists;

  bool is_final() const;  // accept, reject, tempfail, discard, replycode (ends the stage)
};

// The complete check of one reply packet (kParse errors name what was wrong).
Result<MilterReply> decode_reply(const MilterPacket& packet);

// What both sides agreed at option negotiation.
struct MilterNegotiation {
  uint32_t version = 0;
  uint32_t actions = 0;   // what the milter may do (never more than we offered)
  uint32_t protocol = 0;  // its steps and options (never an option we did not offer)
  std::vector<std::pair<uint32_t, std::string>> macro_lists;
};

// The milter's answer to our SMFIC_OPTNEG (version kMilterVersion, offered_actions,
// offered_protocol). Errors: not an option-negotiation reply, a version outside
// kMinMilterVersion..kMilterVersion, an action or protocol bit we did not offer.
Result<MilterNegotiation> negotiate(const MilterReply& reply, uint32_t offered_actions,
                                    uint32_t offered_protocol);

}  // namespace postern::milter
