// Per-recipient results of postern-relay: how an SMTP reply (or a failure before any reply)
// becomes sent / deferred / bounced with a DSN code and a reason, the reply record qmgr reads
// (lib/queue/ipc.hpp: index status dsn reason [remote_mta diagnostic]) and the Postfix-shaped log
// line "ID: to=<..>, relay=host[ip]:port, delay=.., dsn=.., status=.. (reason)". The server's
// text is hostile: it is made printable and cut (kMaxReasonBytes) before it goes anywhere.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/queue/ipc.hpp"
#include "lib/smtp/smtp_reply.hpp"

namespace postern::relay {

inline constexpr size_t kMaxReasonBytes = 400;

enum class DeliveryStatus { kSent, kDeferred, kBounced };
std::string_view delivery_status_name(DeliveryStatus status);

struct RecipientResult {
  DeliveryStatus status = DeliveryStatus::kDeferred;
  std::string dsn = "4.0.0";  // X.Y.Z
  std::string reason;         // for the log line, qmgr's defer file and the bounce
  std::string remote_mta;     // the server that answered, "" when none did
  std::string diagnostic;     // its reply, "550 5.1.1 text", "" when none
};

// The enhanced code of the reply when it gave one whose class matches the reply code, else the
// one derived from the code (2.0.0, 4.0.0, 5.0.0).
std::string reply_dsn(const SmtpReply& reply);

// A reply to a command: 2xx sent, 4xx deferred, 5xx bounced. For anything but a final success
// the reason reads "host H[ip] said: 550 5.1.1 text (in reply to RCPT TO command)".
// server_label: "H[ip]"; remote_mta: H.
RecipientResult result_from_reply(const SmtpReply& reply, std::string_view server_label,
                                  std::string_view remote_mta, std::string_view command);

// A failure of ours or of the network, with no reply to quote ("connect to ...: Connection
// refused", "Host or domain name not found..."): deferred for a 4.x.x dsn, bounced for 5.x.x.
RecipientResult local_result(std::string_view dsn, std::string reason);

// Appends one recipient's reply attributes to record (index, status, dsn, reason, and
// remote_mta / diagnostic when known).
void add_reply_attributes(AttrRecord& record, int64_t index, const RecipientResult& result);

// "ID: to=<rcpt>, relay=RELAY, delay=D, dsn=X, status=S (reason)". relay: "host[ip]:port" or
// "none".
std::string delivery_log_line(std::string_view queue_id, std::string_view recipient,
                              std::string_view relay, double delay_seconds,
                              const RecipientResult& result);

}  // namespace postern::relay
