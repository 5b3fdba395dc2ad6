// Small file helpers for the GoogleTest files in tests/: whole-file read and write, the sorted
// names in a folder, and a committed queue file holding one message (for tests of what reads
// queue files: pickup, local's deliveries). Test code only.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/queue/queue_dir.hpp"
#include "lib/queue/queue_file.hpp"

namespace postern::test_support {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The entry names of dir, sorted (empty when dir cannot be read).
inline std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// dir/<new queue ID>: sender, one recipient, message (wire form), committed and opened
// read-only; nullopt (with the reason in the test's failure output) when that fails.
inline std::optional<QueueFile> committed_queue_file(const std::string& dir,
                                                     const std::string& sender,
                                                     const std::string& recipient,
                                                     std::string_view message) {
  QueueEnvelope envelope;
  envelope.queue_id = new_queue_id();
  envelope.arrival_time = 1700000000;
  envelope.sender = sender;
  envelope.recipients.resize(1);
  envelope.recipients[0].address = recipient;
  Result<QueueFileWriter> writer = QueueFileWriter::create(dir, envelope);
  if (!writer || !writer->append_message(message) || !writer->commit()) return std::nullopt;
  Result<QueueFile> file = QueueFile::open(dir + "/" + envelope.queue_id, false);
  if (!file) return std::nullopt;
  return std::move(file).value();
}

}  // namespace postern::test_support
