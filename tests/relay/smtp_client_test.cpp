// Tests relay/smtp_client against a scripted SMTP server on loopback (a thread with a blocking
// socket) for what smtp-sink cannot be made to do: replies delivered one byte at a time,
// per-recipient refusals mixed in one pipelined transaction, an over-long reply line, a 421 in
// the middle of the RCPTs, ESMTP parameters (SIZE, DSN) only when announced. The event loop
// runs in the test thread; every wait is bounded.
#include "relay/smtp_client.hpp"

#include <arpa/inet.h>
#include <event2/event.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <mutex>
#include <thread>

#include "lib/base/event_handles.hpp"
#include "lib/queue/queue_dir.hpp"
#include "lib/queue/queue_file.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern::relay {
namespace {

// One SMTP session, answered by respond(command line) -> reply text (CRLF-terminated lines).
class ScriptedServer {
 public:
  using Respond = std::function<std::string(const std::string& line)>;
  ScriptedServer(std::string greeting, Respond respond, bool byte_by_byte)
      : greeting_(std::move(greeting)), respond_(std::move(respond)), byte_by_byte_(byte_by_byte) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(listen_fd_, 4);
    socklen_t length = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &length);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  std::string received() {
    std::lock_guard<std::mutex> lock(mutex_);
    return received_;
  }

 private:
  void put(int fd, const std::string& text) {
    if (!byte_by_byte_) {
      (void)!write(fd, text.data(), text.size());
      return;
    }
    for (char c : text) {
      if (write(fd, &c, 1) != 1) return;
    }
  }
  void serve() {
    int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval timeout{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    put(fd, greeting_);
    std::string buffer;
    bool in_data = false;
    char chunk[4096];
    // Bounded by the receive timeout and by the client closing.
    for (;;) {
      ssize_t n = read(fd, chunk, sizeof chunk);
      if (n <= 0) break;
      buffer.append(chunk, static_cast<size_t>(n));
      {
        std::lock_guard<std::mutex> lock(mutex_);
        received_.append(chunk, static_cast<size_t>(n));
      }
      bool closed = false;
      for (;;) {
        if (in_data) {
          size_t end = buffer.find("\r\n.\r\n");
          if (end == std::string::npos) break;
          buffer.erase(0, end + 5);
          in_data = false;
          put(fd, respond_("."));
          continue;
        }
        size_t eol = buffer.find("\r\n");
        if (eol == std::string::npos) break;
        std::string line = buffer.substr(0, eol);
        buffer.erase(0, eol + 2);
        std::string reply = respond_(line);
        if (line == "DATA" && reply.rfind("354", 0) == 0) {
          in_data = true;
          buffer.insert(0, "\r\n");  // the data starts at a line start
        }
        put(fd, reply);
        if (reply.rfind("421", 0) == 0 || line == "QUIT") {
          closed = true;
          break;
        }
      }
      if (closed) break;
    }
    close(fd);
  }

  std::string greeting_;
  Respond respond_;
  bool byte_by_byte_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::string received_;
};

const char kEhlo[] =
    "250-scripted.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n250-DSN\r\n"
    "250 ENHANCEDSTATUSCODES\r\n";

class SmtpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    settings_.helo_name = "relay.example.test";
    settings_.tls_level = TlsLevel::kNone;
    settings_.timeouts = RelayTimeouts{5, 5, 5, 5, 5, 5, 5};
    QueueEnvelope envelope;
    envelope.queue_id = new_queue_id();
    envelope.arrival_time = 1700000000;
    envelope.sender = "alice@example.test";
    QueueRecipient rcpt;
    rcpt.address = "bob@example.org";
    envelope.recipients.push_back(rcpt);
    Result<QueueFileWriter> writer = QueueFileWriter::create(dir_.path(), envelope);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE(writer->append_message("Subject: t\r\n\r\n.dot\r\nend\r\n").ok());
    ASSERT_TRUE(writer->commit().ok());
    Result<std::shared_ptr<QueuedMessage>> message =
        QueuedMessage::open(dir_.path() + "/" + envelope.queue_id);
    ASSERT_TRUE(message.ok());
    transaction_.message = *message;
    transaction_.sender = "alice@example.test";
  }

  void add_recipient(const std::string& address, const std::string& notify = "",
                     const std::string& orcpt = "") {
    TransactionRecipient rcpt;
    rcpt.address = address;
    rcpt.notify = notify;
    rcpt.orcpt = orcpt;
    transaction_.recipients.push_back(rcpt);
  }

  // Runs the loop until flag is set, at most 10 s.
  void run_until(const bool& flag) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!flag && std::chrono::steady_clock::now() < deadline) {
      timeval slice{0, 10000};
      event_base_loopexit(base_.get(), &slice);
      event_base_dispatch(base_.get());
    }
  }

  // Connects; returns the failure (nullopt: ready).
  std::optional<RecipientResult> connect(SmtpClient& client) {
    bool done = false;
    std::optional<RecipientResult> failure;
    client.connect(ConnectOptions{TlsLevel::kNone, false, nullptr, {}, std::nullopt},
                   [&](std::optional<RecipientResult> f) {
                     failure = std::move(f);
                     done = true;
                   });
    run_until(done);
    EXPECT_TRUE(done);
    return failure;
  }

  TransactionOutcome run(SmtpClient& client) {
    bool done = false;
    TransactionOutcome outcome;
    client.run_transaction(transaction_, [&](TransactionOutcome o) {
      outcome = o;
      done = true;
    });
    run_until(done);
    EXPECT_TRUE(done);
    return outcome;
  }

  test_support::TempDir dir_{"smtp_client_test"};
  EventBaseHandle base_{event_base_new()};
  RelaySettings settings_;
  Transaction transaction_;
};

std::string standard(const std::string& line) {
  if (line.rfind("EHLO", 0) == 0) return kEhlo;
  if (line.rfind("MAIL", 0) == 0) return "250 2.1.0 Ok\r\n";
  if (line.rfind("RCPT", 0) == 0) return "250 2.1.5 Ok\r\n";
  if (line == "DATA") return "354 End data with <CR><LF>.<CR><LF>\r\n";
  if (line == ".") return "250 2.0.0 Ok: queued as Q1\r\n";
  if (line == "QUIT") return "221 2.0.0 Bye\r\n";
  return "502 5.5.2 Error: command not recognized\r\n";
}

TEST_F(SmtpClientTest, RepliesOneByteAtATime) {
  ScriptedServer server("220 scripted.test ESMTP\r\n", standard, true);
  SmtpClient client(base_.get(), settings_,
                    ServerAddress{"scripted.test", "127.0.0.1", server.port()});
  add_recipient("bob@example.org", "SUCCESS,FAILURE", "rfc822;bob@example.org");
  add_recipient("carol@example.org");
  ASSERT_FALSE(connect(client).has_value());
  EXPECT_TRUE(client.capabilities().pipelining);
  TransactionOutcome outcome = run(client);
  EXPECT_TRUE(outcome.connection_usable);
  for (const TransactionRecipient& rcpt : transaction_.recipients) {
    ASSERT_TRUE(rcpt.result);
    EXPECT_EQ(rcpt.result->status, DeliveryStatus::kSent);
    EXPECT_EQ(rcpt.result->diagnostic, "250 2.0.0 Ok: queued as Q1");
  }
  const std::string seen = server.received();
  EXPECT_NE(seen.find("EHLO relay.example.test\r\n"), std::string::npos);
  EXPECT_NE(seen.find("MAIL FROM:<alice@example.test> SIZE="), std::string::npos) << seen;
  EXPECT_NE(seen.find("RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE "
                      "ORCPT=rfc822;bob@example.org\r\n"),
            std::string::npos);
  EXPECT_NE(seen.find("RCPT TO:<carol@example.org>\r\n"), std::string::npos);
  EXPECT_NE(seen.find("\r\n..dot\r\nend\r\n.\r\n"), std::string::npos);
}

TEST_F(SmtpClientTest, NoEsmtpParametersWhenNotAnnounced) {
  ScriptedServer server(
      "220 plain.test\r\n",
      [](const std::string& line) {
        if (line.rfind("EHLO", 0) == 0) return std::string("250 plain.test\r\n");
        return standard(line);
      },
      false);
  SmtpClient client(base_.get(), settings_,
                    ServerAddress{"plain.test", "127.0.0.1", server.port()});
  add_recipient("bob@example.org", "NEVER", "rfc822;bob@example.org");
  transaction_.dsn_ret = "HDRS";
  ASSERT_FALSE(connect(client).has_value());
  run(client);
  ASSERT_TRUE(transaction_.recipients[0].result);
  EXPECT_EQ(transaction_.recipients[0].result->status, DeliveryStatus::kSent);
  const std::string seen = server.received();
  EXPECT_NE(seen.find("MAIL FROM:<alice@example.test>\r\n"), std::string::npos) << seen;
  EXPECT_NE(seen.find("RCPT TO:<bob@example.org>\r\n"), std::string::npos);
}

TEST_F(SmtpClientTest, MixedRecipientResultsInOnePipelinedTransaction) {
  ScriptedServer server(
      "220 scripted.test ESMTP\r\n",
      [](const std::string& line) {
        if (line.find("<refused@") != std::string::npos) {
          return std::string("550 5.1.1 <refused@example.org>: User unknown\r\n");
        }
        if (line.find("<later@") != std::string::npos) {
          return std::string("450 4.2.1 Mailbox busy\r\n");
        }
        return standard(line);
      },
      false);
  SmtpClient client(base_.get(), settings_,
                    ServerAddress{"scripted.test", "127.0.0.1", server.port()});
  add_recipient("ok@example.org");
  add_recipient("refused@example.org");
  add_recipient("later@example.org");
  ASSERT_FALSE(connect(client).has_value());
  TransactionOutcome outcome = run(client);
  EXPECT_TRUE(outcome.connection_usable);
  const auto& r = transaction_.recipients;
  EXPECT_EQ(r[0].result->status, DeliveryStatus::kSent);
  EXPECT_EQ(r[1].result->status, DeliveryStatus::kBounced);
  EXPECT_EQ(r[1].result->dsn, "5.1.1");
  EXPECT_EQ(r[1].result->reason,
            "host scripted.test[127.0.0.1] said: 550 5.1.1 <refused@example.org>: User unknown "
            "(in reply to RCPT TO command)");
  EXPECT_EQ(r[2].result->status, DeliveryStatus::kDeferred);
  EXPECT_EQ(r[2].result->dsn, "4.2.1");
}

TEST_F(SmtpClientTest, Reply421AmongRcptsDefersTheRestAndCloses) {
  ScriptedServer server(
      "220 scripted.test ESMTP\r\n",
      [](const std::string& line) {
        if (line.find("<second@") != std::string::npos) {
          return std::string("421 4.3.2 Shutting down\r\n");
        }
        return standard(line);
      },
      false);
  SmtpClient client(base_.get(), settings_,
                    ServerAddress{"scripted.test", "127.0.0.1", server.port()});
  add_recipient("first@example.org");
  add_recipient("second@example.org");
  add_recipient("third@example.org");
  ASSERT_FALSE(connect(client).has_value());
  TransactionOutcome outcome = run(client);
  EXPECT_FALSE(outcome.connection_usable);
  EXPECT_FALSE(client.usable());
  for (const TransactionRecipient& rcpt : transaction_.recipients) {
    ASSERT_TRUE(rcpt.result);
    EXPECT_EQ(rcpt.result->status, DeliveryStatus::kDeferred) << rcpt.address;
  }
  EXPECT_EQ(transaction_.recipients[1].result->dsn, "4.3.2");
}

TEST_F(SmtpClientTest, OverlongReplyLineIsAProtocolError) {
  ScriptedServer server("220 " + std::string(SmtpReplyLimits{}.max_line_bytes + 10, 'x') + "\r\n",
                        standard, false);
  SmtpClient client(base_.get(), settings_,
                    ServerAddress{"scripted.test", "127.0.0.1", server.port()});
  std::optional<RecipientResult> failure = connect(client);
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->status, DeliveryStatus::kDeferred);
  EXPECT_EQ(failure->dsn, "4.4.2");
  EXPECT_NE(failure->reason.find("malformed reply"), std::string::npos) << failure->reason;
}

TEST_F(SmtpClientTest, RefusedGreetingIsASessionFailureNeverABounce) {
  ScriptedServer server("554 5.7.1 go away\r\n", standard, false);
  SmtpClient client(base_.get(), settings_,
                    ServerAddress{"scripted.test", "127.0.0.1", server.port()});
  std::optional<RecipientResult> failure = connect(client);
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->status, DeliveryStatus::kDeferred);
  EXPECT_EQ(failure->dsn, "4.7.1");
  EXPECT_NE(failure->reason.find("554 5.7.1 go away"), std::string::npos);
}

TEST_F(SmtpClientTest, RsetAndQuitAfterAFailedTransaction) {
  ScriptedServer server(
      "220 scripted.test ESMTP\r\n",
      [](const std::string& line) {
        if (line.rfind("RCPT", 0) == 0) return std::string("550 5.1.1 no\r\n");
        if (line == "DATA") return std::string("554 5.5.1 Error: no valid recipients\r\n");
        if (line == "RSET") return std::string("250 2.0.0 Ok\r\n");
        return standard(line);
      },
      false);
  SmtpClient client(base_.get(), settings_,
                    ServerAddress{"scripted.test", "127.0.0.1", server.port()});
  add_recipient("nobody@example.org");
  ASSERT_FALSE(connect(client).has_value());
  TransactionOutcome outcome = run(client);
  EXPECT_TRUE(outcome.connection_usable);
  EXPECT_EQ(transaction_.recipients[0].result->status, DeliveryStatus::kBounced);
  EXPECT_TRUE(client.needs_reset());
  bool reset_done = false;
  bool reset_ok = false;
  client.reset([&](bool ok) {
    reset_ok = ok;
    reset_done = true;
  });
  run_until(reset_done);
  EXPECT_TRUE(reset_ok);
  EXPECT_FALSE(client.needs_reset());
  bool quit_done = false;
  client.quit([&] { quit_done = true; });
  run_until(quit_done);
  EXPECT_TRUE(quit_done);
  const std::string seen = server.received();
  EXPECT_NE(seen.find("RSET\r\n"), std::string::npos);
  EXPECT_NE(seen.find("QUIT\r\n"), std::string::npos);
}

}  // namespace
}  // namespace postern::relay
