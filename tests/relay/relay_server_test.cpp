// End-to-end tests of postern-relay's pieces together (RelayServer, RelayJob, DestinationPool,
// SmtpClient, QueuedMessage) against a real SMTP server: Postfix's smtp-sink on a loopback
// port, started per test with the options that make it refuse, disconnect or hide extensions.
// Requests go over a real Unix socket with lib/queue/ipc's client, as qmgr sends them; queue files are
// written by lib/queue/queue_file's writer into a temporary active/ folder. No mocks.
#include "relay/relay_server.hpp"

#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "lib/net/daemon.hpp"
#include "lib/base/event_handles.hpp"
#include "lib/queue/ipc.hpp"
#include "lib/base/log.hpp"
#include "lib/queue/queue_dir.hpp"
#include "lib/queue/queue_file.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern::relay {
namespace {

constexpr const char* kSmtpSink = "/usr/sbin/smtp-sink";

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t length = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  close(fd);
  return ntohs(addr.sin_port);
}

bool port_accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// smtp-sink on 127.0.0.1:port, dumping every message into dump_dir, logging (-v) to log_path.
class SmtpSink {
 public:
  SmtpSink(const std::string& dir, std::vector<std::string> options) : port_(free_port()) {
    dump_dir_ = dir + "/dump";
    log_path_ = dir + "/sink.log";
    std::filesystem::create_directories(dump_dir_);
    chmod(dir.c_str(), 0755);
    chmod(dump_dir_.c_str(), 0777);
    std::vector<std::string> args{kSmtpSink, "-v", "-d", dump_dir_ + "/msg."};
    if (geteuid() == 0) {
      args.push_back("-u");
      args.push_back("nobody");
    }
    for (std::string& option : options) args.push_back(std::move(option));
    args.push_back("127.0.0.1:" + std::to_string(port_));
    args.push_back("50");
    pid_ = fork();
    if (pid_ == 0) {
      int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(log_fd, 1);
      dup2(log_fd, 2);
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      execv(kSmtpSink, argv.data());
      _exit(127);
    }
    // Bounded wait for the listener: 200 x 10 ms.
    for (int i = 0; i < 200 && !port_accepts(port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~SmtpSink() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  std::string log() const { return read_file(log_path_); }
  std::vector<std::string> dumps() const {
    std::vector<std::string> out;
    for (const auto& entry : std::filesystem::directory_iterator(dump_dir_)) {
      out.push_back(read_file(entry.path().string()));
    }
    return out;
  }
  // SMTP sessions (the readiness probe connects too, but never says EHLO).
  size_t sessions() const {
    const std::string text = log();
    return count(text, ": EHLO ") + count(text, ": HELO ");
  }
  bool received_body(const std::string& line) const {
    for (const std::string& dump : dumps()) {
      if (dump.find(line) != std::string::npos) return true;
    }
    return false;
  }

 private:
  int port_;
  pid_t pid_ = -1;
  std::string dump_dir_;
  std::string log_path_;
};

class RelayServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    log::init("postern/relay-test", true);
    active_ = dir_.path() + "/active";
    std::filesystem::create_directories(active_);
    socket_path_ = dir_.path() + "/relay.sock";
    settings_.active_dir = active_;
    settings_.helo_name = "relay.example.test";
    settings_.tls_level = TlsLevel::kNone;
    settings_.timeouts = RelayTimeouts{5, 5, 5, 5, 5, 5, 5};
    settings_.connection_cache_seconds = 2;
    settings_.destination_concurrency = 4;
  }

  void start_server() {
    base_.reset(event_base_new());
    Result<UniqueFd> listener = listen_unix(socket_path_, 0600);
    ASSERT_TRUE(listener.ok());
    MxResolverOptions options;
    options.resolver_address = "127.0.0.1:9";  // never asked: the tests use IP literals
    Result<std::unique_ptr<MxResolver>> resolver = MxResolver::create(base_.get(), options);
    ASSERT_TRUE(resolver.ok());
    server_ = std::make_unique<RelayServer>(base_.get(), std::move(listener).value(), settings_,
                                            nullptr, std::move(resolver).value());
  }

  std::string queue_message(const std::string& body, std::vector<std::string> recipients,
                            std::vector<std::pair<std::string, std::string>> attributes = {}) {
    QueueEnvelope envelope;
    envelope.queue_id = new_queue_id();
    envelope.arrival_time = time(nullptr);
    envelope.sender = "alice@example.test";
    envelope.attributes = std::move(attributes);
    for (std::string& address : recipients) {
      QueueRecipient rcpt;
      rcpt.address = std::move(address);
      envelope.recipients.push_back(rcpt);
    }
    Result<QueueFileWriter> writer = QueueFileWriter::create(active_, envelope);
    EXPECT_TRUE(writer.ok());
    EXPECT_TRUE(writer->append_message(body).ok());
    EXPECT_TRUE(writer->commit().ok());
    return envelope.queue_id;
  }

  AttrRecord request(const std::string& queue_id, const std::string& nexthop,
                     const std::vector<std::string>& recipients) {
    AttrRecord record;
    record.add("request", "deliver")
        .add("queue_id", queue_id)
        .add("path", active_ + "/" + queue_id)
        .add("sender", "alice@example.test")
        .add("nexthop", nexthop);
    for (size_t i = 0; i < recipients.size(); ++i) {
      record.add("rcpt", recipients[i]).add("index", static_cast<int64_t>(i));
    }
    return record;
  }

  // Sends the requests from a client thread, in parallel groups of `parallel`, while this
  // thread runs the event loop; bounded by a 30 s deadline.
  std::vector<AttrRecord> call(const std::vector<AttrRecord>& requests, size_t parallel = 1) {
    std::vector<AttrRecord> replies(requests.size());
    std::atomic<size_t> done{0};
    std::vector<std::thread> threads;
    for (size_t t = 0; t < parallel; ++t) {
      threads.emplace_back([&, t] {
        for (size_t i = t; i < requests.size(); i += parallel) {
          Result<AttrRecord> reply = ipc_call(socket_path_, requests[i], 20000);
          if (reply.ok()) replies[i] = std::move(reply).value();
          ++done;
        }
      });
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (done < requests.size() && std::chrono::steady_clock::now() < deadline) {
      timeval slice{0, 10000};
      event_base_loopexit(base_.get(), &slice);
      event_base_dispatch(base_.get());
    }
    for (std::thread& thread : threads) thread.join();
    return replies;
  }

  AttrRecord deliver_one(const std::string& nexthop, const std::string& body,
                         std::vector<std::string> recipients,
                         std::vector<std::pair<std::string, std::string>> attributes = {}) {
    std::string id = queue_message(body, recipients, std::move(attributes));
    return call({request(id, nexthop, recipients)}).front();
  }

  // Lets the loop run for a while (idle timers, QUIT) without a request.
  void run_loop_for(int milliseconds) {
    timeval slice{0, milliseconds * 1000};
    event_base_loopexit(base_.get(), &slice);
    event_base_dispatch(base_.get());
  }

  std::string hop(const SmtpSink& sink) { return "[127.0.0.1]:" + std::to_string(sink.port()); }

  test_support::TempDir dir_{"relay_server_test"};
  std::string active_;
  std::string socket_path_;
  RelaySettings settings_;
  EventBaseHandle base_;
  std::unique_ptr<RelayServer> server_;
};

const char kBody[] =
    "From: alice@example.test\r\nTo: bob@example.org\r\nSubject: relay test\r\n\r\n"
    "first line\r\n.leading dot\r\n..two dots\r\n.\r\nlast line\r\n";

TEST_F(RelayServerTest, DeliversWithPipeliningAndDotStuffing) {
  SmtpSink sink(dir_.path(), {});
  start_server();
  AttrRecord reply = deliver_one(hop(sink), kBody, {"bob@example.org", "carol@example.org"});
  EXPECT_EQ(reply.get_all("status"), (std::vector<std::string_view>{"sent", "sent"}));
  EXPECT_EQ(reply.get_all("index"), (std::vector<std::string_view>{"0", "1"}));
  EXPECT_EQ(reply.get("remote_mta"), "127.0.0.1");
  ASSERT_TRUE(reply.get("diagnostic"));
  EXPECT_EQ(reply.get("diagnostic")->substr(0, 3), "250");
  std::vector<std::string> dumps = sink.dumps();
  ASSERT_EQ(dumps.size(), 1u);
  EXPECT_NE(dumps[0].find("X-Rcpt-Args: <bob@example.org>"), std::string::npos);
  EXPECT_NE(dumps[0].find("X-Rcpt-Args: <carol@example.org>"), std::string::npos);
  EXPECT_NE(dumps[0].find("X-Helo-Args: relay.example.test"), std::string::npos);
  // smtp-sink removes the stuffing again: the lines come out as they were queued.
  EXPECT_NE(dumps[0].find("\n.leading dot"), std::string::npos) << dumps[0];
  EXPECT_NE(dumps[0].find("\n..two dots"), std::string::npos);
  EXPECT_NE(dumps[0].find("\n.\n"), std::string::npos);
  EXPECT_NE(dumps[0].find("last line"), std::string::npos);
}

TEST_F(RelayServerTest, LockStepWithoutPipelining) {
  SmtpSink sink(dir_.path(), {"-p"});
  start_server();
  AttrRecord reply = deliver_one(hop(sink), kBody, {"bob@example.org", "carol@example.org"});
  EXPECT_EQ(reply.get_all("status"), (std::vector<std::string_view>{"sent", "sent"}));
  EXPECT_EQ(sink.dumps().size(), 1u);
}

TEST_F(RelayServerTest, ReusesOneConnectionForARunOfMessages) {
  SmtpSink sink(dir_.path(), {});
  start_server();
  std::vector<AttrRecord> requests;
  for (int i = 0; i < 10; ++i) {
    std::string id = queue_message(kBody, {"bob@example.org"});
    requests.push_back(request(id, hop(sink), {"bob@example.org"}));
  }
  std::vector<AttrRecord> replies = call(requests);
  for (const AttrRecord& reply : replies) EXPECT_EQ(reply.get("status"), "sent");
  EXPECT_EQ(sink.dumps().size(), 10u);
  EXPECT_EQ(sink.sessions(), 1u) << sink.log();
  // After smtp_connection_cache_time_limit the idle session is closed with QUIT.
  for (int i = 0; i < 60 && sink.log().find("QUIT") == std::string::npos; ++i) run_loop_for(50);
  EXPECT_NE(sink.log().find("QUIT"), std::string::npos);
}

TEST_F(RelayServerTest, ConcurrencyLimitPerDestination) {
  SmtpSink sink(dir_.path(), {});
  settings_.destination_concurrency = 2;
  start_server();
  std::vector<AttrRecord> requests;
  for (int i = 0; i < 12; ++i) {
    std::string id = queue_message(kBody, {"bob@example.org"});
    requests.push_back(request(id, hop(sink), {"bob@example.org"}));
  }
  std::vector<AttrRecord> replies = call(requests, 6);
  for (const AttrRecord& reply : replies) EXPECT_EQ(reply.get("status"), "sent");
  EXPECT_EQ(sink.dumps().size(), 12u);
  EXPECT_LE(sink.sessions(), 2u) << sink.log();
}

TEST_F(RelayServerTest, HardRejectAtRcptBounces) {
  SmtpSink sink(dir_.path(), {"-f", "RCPT"});
  start_server();
  AttrRecord reply = deliver_one(hop(sink), kBody, {"bob@example.org"});
  EXPECT_EQ(reply.get("status"), "bounced");
  EXPECT_EQ(reply.get("dsn"), "5.3.0");
  ASSERT_TRUE(reply.get("reason"));
  EXPECT_NE(reply.get("reason")->find("said: 500 5.3.0"), std::string::npos)
      << *reply.get("reason");
  EXPECT_NE(reply.get("reason")->find("(in reply to RCPT TO command)"), std::string::npos);
  EXPECT_FALSE(sink.received_body("first line"));
}

TEST_F(RelayServerTest, SoftRejectAtDataDefersEveryAcceptedRecipient) {
  SmtpSink sink(dir_.path(), {"-r", "DATA"});
  start_server();
  AttrRecord reply = deliver_one(hop(sink), kBody, {"bob@example.org", "carol@example.org"});
  EXPECT_EQ(reply.get_all("status"), (std::vector<std::string_view>{"deferred", "deferred"}));
  EXPECT_EQ(reply.get("dsn"), "4.3.0");
  EXPECT_NE(reply.get("reason")->find("(in reply to DATA command)"), std::string::npos);
}

TEST_F(RelayServerTest, Reply421AtEndOfDataDefers) {
  SmtpSink sink(dir_.path(), {"-Q", "."});
  start_server();
  AttrRecord reply = deliver_one(hop(sink), kBody, {"bob@example.org"});
  EXPECT_EQ(reply.get("status"), "deferred");
  ASSERT_TRUE(reply.get("diagnostic"));
  EXPECT_EQ(reply.get("diagnostic")->substr(0, 3), "421");
}

TEST_F(RelayServerTest, DisconnectAtMailDefers) {
  SmtpSink sink(dir_.path(), {"-q", "MAIL"});
  start_server();
  AttrRecord reply = deliver_one(hop(sink), kBody, {"bob@example.org"});
  EXPECT_EQ(reply.get("status"), "deferred");
  EXPECT_EQ(reply.get("dsn"), "4.4.2");
  EXPECT_NE(reply.get("reason")->find("lost connection with 127.0.0.1[127.0.0.1]"),
            std::string::npos)
      << *reply.get("reason");
}

TEST_F(RelayServerTest, ConnectionRefusedDefers) {
  start_server();
  AttrRecord reply =
      deliver_one("[127.0.0.1]:" + std::to_string(free_port()), kBody, {"bob@example.org"});
  EXPECT_EQ(reply.get("status"), "deferred");
  EXPECT_EQ(reply.get("dsn"), "4.4.1");
  EXPECT_NE(reply.get("reason")->find("Connection refused"), std::string::npos);
  EXPECT_FALSE(reply.get("remote_mta"));
}

TEST_F(RelayServerTest, EightBitWithout8BitmimeBounces) {
  SmtpSink sink(dir_.path(), {"-8"});
  start_server();
  AttrRecord reply =
      deliver_one(hop(sink), "Subject: caf\xc3\xa9\r\n\r\nbody\r\n", {"bob@example.org"});
  EXPECT_EQ(reply.get("status"), "bounced");
  EXPECT_EQ(reply.get("dsn"), "5.6.3");
  EXPECT_TRUE(sink.dumps().empty());
}

TEST_F(RelayServerTest, EightBitWith8BitmimeSendsBodyParameter) {
  SmtpSink sink(dir_.path(), {});
  start_server();
  AttrRecord reply =
      deliver_one(hop(sink), "Subject: caf\xc3\xa9\r\n\r\nbody\r\n", {"bob@example.org"});
  EXPECT_EQ(reply.get("status"), "sent");
  std::vector<std::string> dumps = sink.dumps();
  ASSERT_EQ(dumps.size(), 1u);
  EXPECT_NE(dumps[0].find("BODY=8BITMIME"), std::string::npos);
}

TEST_F(RelayServerTest, EhloRefusedFallsBackToHelo) {
  SmtpSink sink(dir_.path(), {"-f", "EHLO"});
  start_server();
  AttrRecord reply = deliver_one(hop(sink), kBody, {"bob@example.org"});
  EXPECT_EQ(reply.get("status"), "sent");
  EXPECT_NE(sink.log().find("HELO relay.example.test"), std::string::npos);
}

TEST_F(RelayServerTest, TlsRequiredButNotOfferedDefers) {
  SmtpSink sink(dir_.path(), {});
  settings_.tls_level = TlsLevel::kEncrypt;
  start_server();
  AttrRecord reply = deliver_one(hop(sink), kBody, {"bob@example.org"});
  EXPECT_EQ(reply.get("status"), "deferred");
  EXPECT_EQ(reply.get("dsn"), "4.7.4");
  EXPECT_TRUE(sink.dumps().empty());
}

TEST_F(RelayServerTest, DsnParametersPassedWhenAnnounced) {
  SmtpSink sink(dir_.path(), {});
  start_server();
  AttrRecord reply = deliver_one(hop(sink), kBody, {"bob@example.org"},
                                 {{"dsn_ret", "HDRS"}, {"dsn_envid", "ENV+2B1"}});
  EXPECT_EQ(reply.get("status"), "sent");
  std::vector<std::string> dumps = sink.dumps();
  ASSERT_EQ(dumps.size(), 1u);
  EXPECT_NE(dumps[0].find("RET=HDRS"), std::string::npos) << dumps[0];
  EXPECT_NE(dumps[0].find("ENVID=ENV+2B1"), std::string::npos);
}

TEST_F(RelayServerTest, SilentServerTimesOutAtTheGreeting) {
  // A socket that listens but never says anything: the kernel completes the connect.
  int silent = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(silent, 8), 0);
  socklen_t length = sizeof addr;
  getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &length);
  settings_.timeouts.helo_seconds = 1;
  start_server();
  const auto started = std::chrono::steady_clock::now();
  AttrRecord reply = deliver_one("[127.0.0.1]:" + std::to_string(ntohs(addr.sin_port)), kBody,
                                 {"bob@example.org"});
  close(silent);
  EXPECT_EQ(reply.get("status"), "deferred");
  EXPECT_EQ(reply.get("dsn"), "4.4.2");
  ASSERT_TRUE(reply.get("reason"));
  EXPECT_NE(reply.get("reason")->find("timed out while receiving the initial server greeting"),
            std::string::npos)
      << *reply.get("reason");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST_F(RelayServerTest, BadRequestClosesTheConnection) {
  start_server();
  AttrRecord bad;
  bad.add("request", "deliver").add("queue_id", "nope");
  std::atomic<bool> done{false};
  bool failed = false;
  std::thread client([&] {
    failed = !ipc_call(socket_path_, bad, 5000).ok();
    done = true;
  });
  for (int i = 0; i < 500 && !done; ++i) run_loop_for(10);
  client.join();
  EXPECT_TRUE(failed);
}

}  // namespace
}  // namespace postern::relay
