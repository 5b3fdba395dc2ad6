// Delivery outcomes of postern-local and their one-line form (see delivery_outcome.hpp).
#include "local/delivery_outcome.hpp"

#include "lib/base/log.hpp"

namespace postern::local {
namespace {

int severity(DeliveryOutcome::Kind kind) {
  switch (kind) {
    case DeliveryOutcome::Kind::kSent:
      return 0;
    case DeliveryOutcome::Kind::kBounced:
      return 1;
    case DeliveryOutcome::Kind::kDeferred:
      return 2;
  }
  return 2;
}

bool is_dsn(std::string_view dsn, char first) {
  if (dsn.size() < 5 || dsn.size() > 11 || dsn[0] != first || dsn[1] != '.') return false;
  int dots = 0;
  for (char c : dsn.substr(1)) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 2 && dsn.back() != '.' && dsn.find("..") == std::string_view::npos;
}

}  // namespace

std::string_view status_word(DeliveryOutcome::Kind kind) {
  switch (kind) {
    case DeliveryOutcome::Kind::kSent:
      return "sent";
    case DeliveryOutcome::Kind::kBounced:
      return "bounced";
    case DeliveryOutcome::Kind::kDeferred:
      return "deferred";
  }
  return "deferred";
}

const DeliveryOutcome& worse_of(const DeliveryOutcome& a, const DeliveryOutcome& b) {
  return severity(b.kind) > severity(a.kind) ? b : a;
}

std::string encode_outcome(const DeliveryOutcome& outcome) {
  std::string line(1, status_word(outcome.kind)[0]);
  line += ' ';
  line += outcome.dsn;
  line += ' ';
  line += log::printable(outcome.reason, kMaxOutcomeReasonBytes);
  line += '\n';
  return line;
}

DeliveryOutcome decode_outcome(std::string_view line) {
  const DeliveryOutcome bad = DeliveryOutcome::deferred("4.3.0", "bad result from the child");
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (line.size() < 7 || line[1] != ' ') return bad;
  size_t space = line.find(' ', 2);
  if (space == std::string_view::npos) return bad;
  std::string_view dsn = line.substr(2, space - 2);
  std::string reason = log::printable(line.substr(space + 1), kMaxOutcomeReasonBytes);
  switch (line[0]) {
    case 's':
      if (!is_dsn(dsn, '2')) return bad;
      return DeliveryOutcome{DeliveryOutcome::Kind::kSent, std::string(dsn), reason};
    case 'b':
      if (!is_dsn(dsn, '5')) return bad;
      return DeliveryOutcome{DeliveryOutcome::Kind::kBounced, std::string(dsn), reason};
    case 'd':
      if (!is_dsn(dsn, '4')) return bad;
      return DeliveryOutcome{DeliveryOutcome::Kind::kDeferred, std::string(dsn), reason};
    default:
      return bad;
  }
}

}  // namespace postern::local
