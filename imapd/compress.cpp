// COMPRESS=DEFLATE filter (see compress.hpp), run by postern-imapd on its event loop. Input from
// the client is hostile: a corrupt stream is an error that ends the connection.
#include "imapd/compress.hpp"

#include <event2/buffer.h>
#include <zlib.h>

#include <new>

namespace postern::imapd {
namespace {

constexpr size_t kChunkBytes = 16 * 1024;

struct DeflateStreams {
  z_stream inflate{};
  z_stream deflate{};
  bool inflate_ready = false;
  bool deflate_ready = false;
  ~DeflateStreams() {
    if (inflate_ready) inflateEnd(&inflate);
    if (deflate_ready) deflateEnd(&deflate);
  }
};

void free_streams(void* ctx) {
  delete static_cast<DeflateStreams*>(ctx);
}

// Feeds bytes (maybe none) through one zlib step into dst until zlib wants more input and has
// no more output. false on a corrupt or ended stream.
bool pump(z_stream* stream, bool output, const unsigned char* in, size_t in_bytes, int flush,
          evbuffer* dst) {
  stream->next_in = const_cast<unsigned char*>(in);
  stream->avail_in = static_cast<uInt>(in_bytes);
  while (true) {
    evbuffer_iovec out;
    if (evbuffer_reserve_space(dst, kChunkBytes, &out, 1) < 1) return false;
    stream->next_out = static_cast<unsigned char*>(out.iov_base);
    stream->avail_out = static_cast<uInt>(out.iov_len);
    int rc = output ? deflate(stream, flush) : inflate(stream, Z_NO_FLUSH);
    out.iov_len -= stream->avail_out;
    evbuffer_commit_space(dst, &out, 1);
    if (rc == Z_STREAM_END) return false;  // RFC 4978: the stream lasts as long as the connection
    if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
    if (stream->avail_out != 0 && stream->avail_in == 0) return true;
  }
}

// All of src through the stream; output ends with a sync flush so each reply leaves at once.
bufferevent_filter_result run_stream(evbuffer* src, evbuffer* dst, z_stream* stream, bool output) {
  while (evbuffer_get_length(src) > 0) {
    evbuffer_iovec vec;
    if (evbuffer_peek(src, -1, nullptr, &vec, 1) < 1) break;
    if (!pump(stream, output, static_cast<const unsigned char*>(vec.iov_base), vec.iov_len,
              Z_NO_FLUSH, dst)) {
      return BEV_ERROR;
    }
    evbuffer_drain(src, vec.iov_len);
  }
  if (output && !pump(stream, true, nullptr, 0, Z_SYNC_FLUSH, dst)) return BEV_ERROR;
  return BEV_OK;
}

bufferevent_filter_result inflate_filter(evbuffer* src, evbuffer* dst, ev_ssize_t,
                                         bufferevent_flush_mode, void* ctx) {
  auto* streams = static_cast<DeflateStreams*>(ctx);
  if (evbuffer_get_length(src) == 0) return BEV_NEED_MORE;
  return run_stream(src, dst, &streams->inflate, false);
}

bufferevent_filter_result deflate_filter(evbuffer* src, evbuffer* dst, ev_ssize_t,
                                         bufferevent_flush_mode, void* ctx) {
  auto* streams = static_cast<DeflateStreams*>(ctx);
  if (evbuffer_get_length(src) == 0) return BEV_NEED_MORE;
  return run_stream(src, dst, &streams->deflate, true);
}

}  // namespace

bufferevent* compress_filter_new(bufferevent* underlying) {
  auto* streams = new (std::nothrow) DeflateStreams;
  if (streams == nullptr) return nullptr;
  if (inflateInit2(&streams->inflate, -15) != Z_OK) {
    delete streams;
    return nullptr;
  }
  streams->inflate_ready = true;
  // Level 1 with a small memory level: replies are small and many sessions run at once.
  if (deflateInit2(&streams->deflate, 1, Z_DEFLATED, -15, 5, Z_DEFAULT_STRATEGY) != Z_OK) {
    delete streams;
    return nullptr;
  }
  streams->deflate_ready = true;
  bufferevent* filter =
      bufferevent_filter_new(underlying, inflate_filter, deflate_filter,
                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS, free_streams, streams);
  if (filter == nullptr) delete streams;
  return filter;
}

}  // namespace postern::imapd
