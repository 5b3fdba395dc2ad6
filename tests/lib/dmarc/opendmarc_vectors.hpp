// The OpenDMARC vectors (POSTERN_SHARED_TESTDATA/dmarc/opendmarc-vectors.yml, 45 vectors
// transcribed from OpenDMARC's libopendmarc/tests) for the lib/dmarc tests: loads one group, or
// says why not so the caller can skip. Where we differ from OpenDMARC on purpose, the vector is
// listed in the test with why, and the test checks that we behave as the list says; every other
// vector must give OpenDMARC's answer.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>

namespace postern {

inline const std::filesystem::path& opendmarc_vectors_path() {
  static const std::filesystem::path path =
      std::filesystem::path(POSTERN_SHARED_TESTDATA) / "dmarc" / "opendmarc-vectors.yml";
  return path;
}

// The vectors of one group ("record_parse", "alignment", "from_domain",
// "organizational_domain"); a null node when the file is absent (callers skip on IsNull():
// a default YAML::Node is null but still counts as defined).
inline YAML::Node load_opendmarc_vectors(const std::string& group) {
  if (!std::filesystem::exists(opendmarc_vectors_path())) return YAML::Node();
  return YAML::LoadFile(opendmarc_vectors_path().string())[group];
}

}  // namespace postern
