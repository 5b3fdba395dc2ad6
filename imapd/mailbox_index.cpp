// Binary forms of imapd's per-folder LMDB index (see mailbox_index.hpp). Values are read back
// with every length checked: a damaged index gives an Error, never a read past the value.
#include "imapd/mailbox_index.hpp"

namespace postern::imapd {
namespace {

constexpr uint8_t kRecordVersion = 1;
constexpr unsigned kMaxDatabases = 8;

void put_be(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

uint64_t get_be(std::string_view in, size_t pos, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | static_cast<uint8_t>(in[pos + i]);
  return value;
}

// A cursor over a record value; every read checks the remaining length.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool read(int bytes, uint64_t* value) {
    if (in_.size() - pos_ < static_cast<size_t>(bytes)) return false;
    *value = get_be(in_, pos_, bytes);
    pos_ += bytes;
    return true;
  }
  bool read_text(size_t length, std::string* text) {
    if (in_.size() - pos_ < length) return false;
    text->assign(in_.substr(pos_, length));
    pos_ += length;
    return true;
  }
  bool at_end() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

Result<LmdbEnv> open_index(const std::string& file, IndexDbs* dbs) {
  LmdbOptions options;
  options.map_size_bytes = kIndexMapBytes;
  options.max_databases = kMaxDatabases;
  options.no_subdir = true;
  auto opened = LmdbEnv::open(file, options);
  if (!opened) return opened.error();
  auto txn = LmdbTxn::begin(*opened, false);
  if (!txn) return txn.error();
  const std::pair<const char*, MDB_dbi*> names[] = {
      {"meta", &dbs->meta},       {"uids", &dbs->uids},         {"names", &dbs->names},
      {"changes", &dbs->changes}, {"expunged", &dbs->expunged}, {"cache", &dbs->cache},
  };
  for (const auto& [name, dbi] : names) {
    auto opened_db = txn->open_db(name, true);
    if (!opened_db) return opened_db.error();
    *dbi = *opened_db;
  }
  if (Status s = txn->commit(); !s) return s.error();
  return std::move(*opened);
}

std::string uid_key(uint32_t uid) {
  std::string out;
  put_be(out, uid, 4);
  return out;
}

std::string modseq_key(uint64_t modseq) {
  std::string out;
  put_be(out, modseq, 8);
  return out;
}

Result<uint32_t> decode_uid(std::string_view bytes) {
  if (bytes.size() != 4) return Error::parse("index: bad uid value");
  return static_cast<uint32_t>(get_be(bytes, 0, 4));
}

Result<uint64_t> decode_modseq(std::string_view bytes) {
  if (bytes.size() != 8) return Error::parse("index: bad modseq value");
  return get_be(bytes, 0, 8);
}

std::string cache_key(uint32_t uid, CacheKind kind) {
  std::string out = uid_key(uid);
  out += static_cast<char>(kind);
  return out;
}

std::string encode_u64(uint64_t value) {
  return modseq_key(value);
}
Result<uint64_t> decode_u64(std::string_view bytes) {
  return decode_modseq(bytes);
}

std::string encode_change(uint32_t uid, bool expunged) {
  std::string out = uid_key(uid);
  out += static_cast<char>(expunged ? 1 : 0);
  return out;
}

Result<std::pair<uint32_t, bool>> decode_change(std::string_view bytes) {
  if (bytes.size() != 5 || static_cast<uint8_t>(bytes[4]) > 1) {
    return Error::parse("index: bad change value");
  }
  return std::make_pair(static_cast<uint32_t>(get_be(bytes, 0, 4)), bytes[4] == 1);
}

std::string encode_record(const MessageRecord& record) {
  std::string out;
  out += static_cast<char>(kRecordVersion);
  put_be(out, record.modseq, 8);
  out += static_cast<char>(record.flags.system);
  put_be(out, record.size, 8);
  put_be(out, static_cast<uint64_t>(record.internal_date), 8);
  put_be(out, static_cast<uint32_t>(record.internal_date_zone), 4);
  put_be(out, record.file.size(), 2);
  out += record.file;
  put_be(out, record.flags.keywords.size(), 1);
  for (const std::string& keyword : record.flags.keywords) {
    put_be(out, keyword.size(), 1);
    out += keyword;
  }
  return out;
}

Result<MessageRecord> decode_record(uint32_t uid, std::string_view bytes) {
  MessageRecord record;
  record.uid = uid;
  Reader in(bytes);
  uint64_t version = 0, system = 0, date = 0, zone = 0, file_length = 0, keyword_count = 0;
  if (!in.read(1, &version) || version != kRecordVersion || !in.read(8, &record.modseq) ||
      !in.read(1, &system) || !in.read(8, &record.size) || !in.read(8, &date) ||
      !in.read(4, &zone) || !in.read(2, &file_length) || !in.read_text(file_length, &record.file) ||
      !in.read(1, &keyword_count) || keyword_count > kMaxKeywordsPerMessage) {
    return Error::parse("index: bad record for uid " + std::to_string(uid));
  }
  record.flags.system = static_cast<uint8_t>(system);
  record.internal_date = static_cast<int64_t>(date);
  record.internal_date_zone = static_cast<int32_t>(static_cast<uint32_t>(zone));
  for (uint64_t i = 0; i < keyword_count; ++i) {
    uint64_t length = 0;
    std::string keyword;
    if (!in.read(1, &length) || !in.read_text(length, &keyword)) {
      return Error::parse("index: bad keyword for uid " + std::to_string(uid));
    }
    record.flags.keywords.push_back(std::move(keyword));
  }
  if (!in.at_end()) return Error::parse("index: trailing bytes for uid " + std::to_string(uid));
  return record;
}

Result<uint64_t> meta_get(const LmdbTxn& txn, const IndexDbs& dbs, std::string_view key,
                          uint64_t fallback) {
  auto got = txn.get(dbs.meta, key);
  if (!got) return got.error();
  if (!*got) return fallback;
  return decode_u64(**got);
}

Status meta_put(LmdbTxn& txn, const IndexDbs& dbs, std::string_view key, uint64_t value) {
  return txn.put(dbs.meta, key, encode_u64(value));
}

}  // namespace postern::imapd
