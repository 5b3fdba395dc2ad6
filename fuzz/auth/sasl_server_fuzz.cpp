// libFuzzer target for AUTH PLAIN / LOGIN exchanges (lib/auth/sasl_server), the parser submission and
// imapd will run on every client's AUTH line: base64 decoding, RFC 4616 NUL-separated fields,
// the LOGIN state machine, cancel, and every length limit. The input is split at '\n' into a
// mechanism line (with an optional initial response after a space) and the client's answers.
// Accounts: one domain with one user whose hash is cheap (SHA-256-crypt, 5000 rounds) so that
// inputs reaching the password check do not starve the fuzzer; unknown users still pay the dummy
// hash, as in production. Properties: no crash, no sanitizer report, a success only for the one
// right password.
#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/auth/accounts.hpp"
#include "lib/auth/sasl_server.hpp"

namespace {

char g_dir[] = "/tmp/sasl_server_fuzz.XXXXXX";

void remove_fuzz_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(g_dir, ignored);
}

const postern::AccountsDb& fuzz_accounts() {
  static postern::AccountsDb* db = [] {
    if (::mkdtemp(g_dir) == nullptr) std::abort();
    std::atexit(remove_fuzz_dir);
    const std::string dir = g_dir;
    postern::AccountsData data;
    data.domains.insert("example.test");
    // openssl passwd -5 -salt fuzzsalt fuzz-password
    data.passwords["demo@example.test"] = "$5$fuzzsalt$yh.HYXY3O/wXQEaibBbIvC11CHvkfRPhgqhYEz4kZb2";
    auto opened = postern::AccountsDb::open(dir + "/accounts", false);
    if (!opened) std::abort();
    if (!opened->store(data)) std::abort();
    return new postern::AccountsDb(std::move(opened).value());
  }();
  return *db;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines;
  while (!input.empty() && lines.size() < 8) {
    size_t nl = input.find('\n');
    lines.push_back(input.substr(0, nl));
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
  }
  if (lines.empty()) return 0;

  postern::SaslServer server(fuzz_accounts(), "example.test");
  std::string_view first = lines[0];
  size_t space = first.find(' ');
  std::optional<std::string_view> initial;
  if (space != std::string_view::npos) initial = first.substr(space + 1);
  postern::SaslStep result = server.start(first.substr(0, space), initial);
  for (size_t i = 1; i < lines.size() && result.outcome == postern::SaslOutcome::kContinue; ++i) {
    result = server.step(lines[i]);
  }
  if (result.outcome == postern::SaslOutcome::kSuccess && result.user != "demo@example.test") {
    std::fprintf(stderr, "success for an unexpected user\n");
    std::abort();
  }
  (void)postern::sasl_failure_smtp_reply(result.failure);
  return 0;
}
