// DNS query builder, response parser and answer selection for lib/net/dns_client (see
// dns_message.hpp). Every byte of a response is untrusted: all reads go through Reader, which
// checks the bounds; TXT strings and CNAME chains are counted against their limits.
#include "lib/net/dns_message.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "lib/base/ascii.hpp"

namespace postern {
namespace {

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  size_t pos() const { return pos_; }
  size_t left() const { return bytes_.size() - pos_; }
  bool u8(uint8_t& out) {
    if (left() < 1) return false;
    out = static_cast<uint8_t>(bytes_[pos_++]);
    return true;
  }
  bool u16(uint16_t& out) {
    if (left() < 2) return false;
    out = static_cast<uint16_t>((static_cast<uint8_t>(bytes_[pos_]) << 8) |
                                static_cast<uint8_t>(bytes_[pos_ + 1]));
    pos_ += 2;
    return true;
  }
  bool u32(uint32_t& out) {
    uint16_t high = 0, low = 0;
    if (!u16(high) || !u16(low)) return false;
    out = (static_cast<uint32_t>(high) << 16) | low;
    return true;
  }
  bool skip(size_t n) {
    if (left() < n) return false;
    pos_ += n;
    return true;
  }
  // A possibly compressed name starting at the current position; the position moves past the
  // name as it appears here (up to and including the first pointer).
  Result<std::string> name() {
    std::string out;
    size_t wire_bytes = 0;
    size_t cursor = pos_;
    size_t jumps = 0;
    bool jumped = false;
    while (true) {
      if (cursor >= bytes_.size()) return Error::parse("DNS name runs past the message");
      uint8_t length = static_cast<uint8_t>(bytes_[cursor]);
      if ((length & 0xc0) == 0xc0) {
        if (cursor + 1 >= bytes_.size()) return Error::parse("DNS pointer runs past the message");
        size_t target =
            (static_cast<size_t>(length & 0x3f) << 8) | static_cast<uint8_t>(bytes_[cursor + 1]);
        // Strictly backwards: no pointer can reach itself, so no loop; the jump count is a
        // second guard.
        if (target >= cursor) return Error::parse("DNS pointer does not point backwards");
        if (++jumps > kMaxDnsPointerJumps) return Error::limit("too many DNS name pointers");
        if (!jumped) pos_ = cursor + 2;
        jumped = true;
        cursor = target;
        continue;
      }
      if ((length & 0xc0) != 0) return Error::parse("DNS label type not supported");
      wire_bytes += 1 + length;
      if (wire_bytes > kMaxDnsNameBytes) return Error::limit("DNS name longer than 255 bytes");
      if (length == 0) {
        if (!jumped) pos_ = cursor + 1;
        return out;
      }
      if (cursor + 1 + length > bytes_.size()) return Error::parse("DNS label runs past the end");
      if (!out.empty()) out += '.';
      for (size_t i = 0; i < length; ++i) {
        char c = bytes_[cursor + 1 + i];
        // A dot inside a label would make two names look alike; refuse it.
        if (c == '.') return Error::parse("DNS label holds a dot");
        out += ascii_lower(c);
      }
      cursor += 1 + length;
    }
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

Error truncated_message() {
  return Error::parse("DNS message truncated");
}

std::string_view strip_trailing_dot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

}  // namespace

std::string DnsRecord::joined_text() const {
  std::string out;
  for (const std::string& piece : strings) out += piece;
  return out;
}

Result<DnsAnswerSet> select_dns_answer(const DnsMessage& message) {
  DnsAnswerSet out;
  if (message.rcode != kDnsNoError && message.rcode != kDnsNxDomain) {
    out.kind = DnsAnswerKind::kServerError;
    return out;
  }
  uint32_t ttl = std::numeric_limits<uint32_t>::max();
  std::string name = message.question_name;
  std::vector<std::string> chain{name};
  // Asked for the CNAME itself: no chain to follow.
  while (message.question_type != kDnsTypeCname) {
    auto cname =
        std::find_if(message.answers.begin(), message.answers.end(), [&](const DnsRecord& record) {
          return record.klass == kDnsClassIn && record.type == kDnsTypeCname && record.name == name;
        });
    if (cname == message.answers.end()) break;
    if (chain.size() > kMaxDnsCnameChain) {
      return Error::limit(fmt::format("DNS CNAME chain longer than {}", kMaxDnsCnameChain));
    }
    if (std::find(chain.begin(), chain.end(), cname->target) != chain.end()) {
      return Error::parse("DNS CNAME chain loops");
    }
    ttl = std::min(ttl, cname->ttl);
    name = cname->target;
    chain.push_back(name);
  }
  out.canonical_name = name;
  if (message.rcode == kDnsNxDomain) {
    out.kind = DnsAnswerKind::kNxDomain;
    return out;
  }
  for (const DnsRecord& record : message.answers) {
    if (record.klass == kDnsClassIn && record.type == message.question_type &&
        record.name == name) {
      ttl = std::min(ttl, record.ttl);
      out.records.push_back(record);
    }
  }
  out.kind = out.records.empty() ? DnsAnswerKind::kNoData : DnsAnswerKind::kRecords;
  out.ttl_seconds = out.records.empty() ? 0 : ttl;
  return out;
}

Status check_dns_name(std::string_view name) {
  name = strip_trailing_dot(name);
  if (name.empty()) return Error::parse("empty domain name");
  size_t wire_bytes = 1;  // the root label
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    size_t length = dot - start;
    if (length == 0) return Error::parse("empty label in domain name");
    if (length > kMaxDnsLabelBytes) return Error::limit("domain name label longer than 63 bytes");
    wire_bytes += 1 + length;
    start = dot + 1;
  }
  if (wire_bytes > kMaxDnsNameBytes) return Error::limit("domain name longer than 255 bytes");
  return Status::success();
}

Result<std::string> build_dns_query(uint16_t id, std::string_view name, uint16_t type,
                                    uint16_t edns_udp_bytes) {
  if (Status checked = check_dns_name(name); !checked) return checked.error();
  name = strip_trailing_dot(name);
  std::string out;
  auto put16 = [&](uint16_t v) {
    out += static_cast<char>(v >> 8);
    out += static_cast<char>(v & 0xff);
  };
  put16(id);
  put16(0x0100);  // standard query, recursion desired
  put16(1);       // one question
  put16(0);
  put16(0);
  put16(edns_udp_bytes > 0 ? 1 : 0);  // additional: the OPT record
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    out += static_cast<char>(dot - start);
    out.append(name.substr(start, dot - start));
    start = dot + 1;
  }
  out += '\0';
  put16(type);
  put16(kDnsClassIn);
  if (edns_udp_bytes > 0) {
    out += '\0';  // root owner
    put16(kDnsTypeOpt);
    put16(edns_udp_bytes);  // the class field carries the UDP payload size
    put16(0);               // extended rcode, version 0
    put16(0);               // flags (no DNSSEC)
    put16(0);               // no options
  }
  return out;
}

Result<DnsMessage> parse_dns_message(std::string_view bytes) {
  if (bytes.size() > kMaxDnsMessageBytes) return Error::limit("DNS message too long");
  Reader in(bytes);
  DnsMessage message;
  uint16_t flags = 0, questions = 0, answers = 0, authority = 0, additional = 0;
  if (!in.u16(message.id) || !in.u16(flags) || !in.u16(questions) || !in.u16(answers) ||
      !in.u16(authority) || !in.u16(additional)) {
    return truncated_message();
  }
  message.response = (flags & 0x8000) != 0;
  message.truncated = (flags & 0x0200) != 0;
  message.rcode = flags & 0x000f;
  if (questions != 1) return Error::parse(fmt::format("DNS message has {} questions", questions));
  if (answers > kMaxDnsAnswers) return Error::limit("too many DNS answers");
  Result<std::string> question = in.name();
  if (!question) return question.error();
  uint16_t question_class = 0;
  if (!in.u16(message.question_type) || !in.u16(question_class)) return truncated_message();
  message.question_name = std::move(*question);
  for (uint16_t i = 0; i < answers; ++i) {
    DnsRecord record;
    Result<std::string> owner = in.name();
    if (!owner) return owner.error();
    record.name = std::move(*owner);
    uint16_t data_length = 0;
    if (!in.u16(record.type) || !in.u16(record.klass) || !in.u32(record.ttl) ||
        !in.u16(data_length)) {
      return truncated_message();
    }
    if (in.left() < data_length) return truncated_message();
    size_t data_end = in.pos() + data_length;
    if (record.klass == kDnsClassIn && record.type == kDnsTypeMx) {
      if (!in.u16(record.preference)) return truncated_message();
      Result<std::string> exchange = in.name();
      if (!exchange) return exchange.error();
      record.target = std::move(*exchange);
    } else if (record.klass == kDnsClassIn &&
               (record.type == kDnsTypeCname || record.type == kDnsTypePtr)) {
      Result<std::string> target = in.name();
      if (!target) return target.error();
      record.target = std::move(*target);
    } else if (record.klass == kDnsClassIn && record.type == kDnsTypeTxt) {
      // RFC 1035 3.3.14: one or more <character-string>s (a length byte, then that many bytes)
      // filling the data exactly.
      if (data_length == 0) return Error::parse("DNS TXT record without a string");
      while (in.pos() < data_end) {
        if (record.strings.size() >= kMaxDnsTxtStrings) {
          return Error::limit(
              fmt::format("DNS TXT record with over {} strings", kMaxDnsTxtStrings));
        }
        uint8_t length = 0;
        if (!in.u8(length)) return truncated_message();
        if (data_end - in.pos() < length)
          return Error::parse("DNS TXT string runs past its record");
        record.strings.emplace_back(bytes.substr(in.pos(), length));
        if (!in.skip(length)) return truncated_message();
      }
    } else if (record.klass == kDnsClassIn &&
               (record.type == kDnsTypeA || record.type == kDnsTypeAaaa)) {
      size_t expected = record.type == kDnsTypeA ? 4 : 16;
      if (data_length != expected) return Error::parse("DNS address record of wrong length");
      unsigned char raw[16];
      for (size_t b = 0; b < expected; ++b) {
        uint8_t byte = 0;
        if (!in.u8(byte)) return truncated_message();
        raw[b] = byte;
      }
      char text[INET6_ADDRSTRLEN] = {};
      int family = record.type == kDnsTypeA ? AF_INET : AF_INET6;
      if (!inet_ntop(family, raw, text, sizeof(text))) return Error::parse("bad DNS address");
      record.address = text;
    }
    // The decoded data must fit its declared length exactly; other types are skipped.
    if (in.pos() > data_end) return Error::parse("DNS record data longer than its length");
    if ((record.type == kDnsTypeMx || record.type == kDnsTypeCname || record.type == kDnsTypePtr) &&
        record.klass == kDnsClassIn && in.pos() != data_end) {
      return Error::parse("DNS record data shorter than its length");
    }
    if (!in.skip(data_end - in.pos())) return truncated_message();
    message.answers.push_back(std::move(record));
  }
  return message;
}

}  // namespace postern
