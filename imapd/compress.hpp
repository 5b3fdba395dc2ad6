// COMPRESS=DEFLATE (RFC 4978) for imapd's sessions: a libevent filter bufferevent that inflates
// what the client sends and deflates what we send (raw deflate, zlib windowBits -15), stacked on
// the socket or TLS bufferevent after "OK DEFLATE active". Everything the client sends is
// hostile: what one read inflates to is bounded by deflate's ratio (about 1000:1) times libevent's
// per-read maximum (16 KiB), and the session's command reader discards what it cannot use.
#pragma once

#include <event2/bufferevent.h>

namespace postern::imapd {

// A filter on top of underlying (which it then owns and frees). null on failure (underlying
// is then still the caller's).
bufferevent* compress_filter_new(bufferevent* underlying);

}  // namespace postern::imapd
