// Tests for imapd's message commands (commands_message, fetch_response, search_engine) on the
// real mail store: a Maildir in a temporary directory, the real LMDB index and
// SelectedMailboxImpl, commands read by the real lib/imap/imap_parser. The session is the only
// stand-in: a CommandContext that collects what the handlers write. Checks the response shapes
// (checked against Dovecot 2.3.19 by hand), \Seen rules, STORE forms with UNCHANGEDSINCE,
// SEARCH keys incl. RFC 2047 subjects and QP bodies, ESEARCH, and prints how long a flag and
// a header search take on a 50,000-message folder (no timed assertion).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "imapd/command_context.hpp"
#include "imapd/commands.hpp"
#include "imapd/imapd_settings.hpp"
#include "imapd/mail_store.hpp"
#include "imapd/selected_mailbox_impl.hpp"
#include "lib/base/event_handles.hpp"
#include "lib/imap/imap_parser.hpp"

namespace postern::imapd {
namespace {

const char* kPlain =
    "From: =?utf-8?q?J=C3=BCrgen?= <jurgen@example.test>\nTo: Bob <bob@example.test>\n"
    "Cc: carol@example.test\nSubject: =?utf-8?b?R3LDvMOfZSBhdXMgS8O2bG4=?=\n"
    "Date: Tue, 1 Feb 1994 10:00:00 +0100\nMessage-ID: <m1@example.test>\n"
    "X-Mailer: mutt\n\nHello body line one.\nSecond line: findme.\n";

const char* kMultipart =
    "From: Alice <alice@example.test>\nTo: bob@example.test\nSubject: multipart one\n"
    "Date: Wed, 2 Feb 1994 10:00:00 +0000\nMIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\n\npreamble\n--XX\n"
    "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
    "caf=C3=A9 au lait\n--XX\nContent-Type: application/octet-stream\n"
    "Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"a.bin\"\n\n"
    "AAECAwBoZWxsbw==\n--XX\nContent-Type: message/rfc822\n\n"
    "From: Inner <inner@example.test>\nSubject: inner message\nMIME-Version: 1.0\n"
    "Content-Type: multipart/alternative; boundary=YY\n\n--YY\nContent-Type: text/plain\n\n"
    "inner plain\n--YY\nContent-Type: text/html\n\n<p>inner html</p>\n--YY--\n\n--XX--\n";

std::string crlf(std::string_view lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

class CollectingContext : public CommandContext {
 public:
  void untagged(std::string_view line) override {
    output += "* ";
    output += line;
    output += "\r\n";
  }
  void raw(std::string_view bytes) override { output += bytes; }
  SessionState state() const override { return SessionState::kSelected; }
  const std::string& user() const override { return user_; }
  MailStore& store() override { return *store_; }
  SelectedMailbox* selected() override { return selected_.get(); }
  void set_selected(std::unique_ptr<SelectedMailbox> mailbox) override {
    selected_ = std::move(mailbox);
  }
  bool enabled(std::string_view extension) const override {
    return extension == "CONDSTORE" ? condstore : false;
  }
  void enable(std::string_view extension) override {
    if (extension == "CONDSTORE") condstore = true;
  }
  const ImapdSettings& settings() const override { return settings_; }

  std::string output;
  bool condstore = false;
  MailStore* store_ = nullptr;
  std::unique_ptr<SelectedMailbox> selected_;
  std::string user_ = "u@example.test";
  ImapdSettings settings_;
};

class CommandsMessageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/postern-commands-message-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    event_base_.reset(event_base_new());
    registry_ = std::make_unique<MailboxRegistry>(event_base_.get());
    auto store = MailStore::open(*registry_, base_, "u@example.test");
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    context_.store_ = store_.get();
  }
  void TearDown() override {
    context_.selected_.reset();
    store_.reset();
    registry_.reset();
    event_base_.reset();
    std::string cmd = "rm -rf '" + base_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }

  void deliver(const std::string& body) {
    std::string unique =
        "1700000000.M" + std::to_string(serial_) + "P1Q" + std::to_string(serial_) + ".testhost";
    ++serial_;
    std::string tmp = store_->root() + "/tmp/" + unique;
    {
      std::ofstream out(tmp, std::ios::binary);
      out << body;
    }
    // Delivery's time: the internal date of a file nobody APPENDed is its mtime.
    struct timespec times[2] = {{1700000000, 0}, {1700000000, 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, tmp.c_str(), times, 0), 0);
    ASSERT_EQ(rename(tmp.c_str(), (store_->root() + "/new/" + unique).c_str()), 0);
  }

  void select(bool read_only = false) {
    auto mailbox = store_->open_mailbox("INBOX");
    ASSERT_TRUE(mailbox.ok()) << mailbox.error().message;
    context_.set_selected(std::make_unique<SelectedMailboxImpl>("INBOX", *mailbox, read_only));
  }

  // Runs one command line ("t1 FETCH 1 FLAGS"): the untagged output and the tagged text.
  std::string run(std::string_view line, std::string* tagged = nullptr) {
    Result<ImapCommand> command = parse_imap_command(std::string(line) + "\r\n");
    EXPECT_TRUE(command.ok()) << line;
    if (!command.ok()) return "";
    const CommandSpec* spec = find_command(command->name);
    EXPECT_NE(spec, nullptr) << line;
    context_.output.clear();
    std::string reply = spec->handler(context_, *command);
    if (tagged != nullptr) *tagged = reply;
    return context_.output;
  }

  std::string base_;
  EventBaseHandle event_base_;
  std::unique_ptr<MailboxRegistry> registry_;
  std::unique_ptr<MailStore> store_;
  CollectingContext context_;
  int serial_ = 0;
};

TEST_F(CommandsMessageTest, FetchSimpleItemsAndUid) {
  deliver(kPlain);
  deliver(kMultipart);
  select();
  std::string tagged;
  EXPECT_EQ(run("t FETCH 1:* (FLAGS RFC822.SIZE)", &tagged),
            "* 1 FETCH (FLAGS (\\Recent) RFC822.SIZE " + std::to_string(crlf(kPlain).size()) +
                ")\r\n* 2 FETCH (FLAGS (\\Recent) RFC822.SIZE " +
                std::to_string(crlf(kMultipart).size()) + ")\r\n");
  EXPECT_EQ(tagged.substr(0, 2), "OK");
  uint32_t uid2 = context_.selected()->record(2).uid;
  EXPECT_EQ(run("t UID FETCH " + std::to_string(uid2) + " FLAGS"),
            "* 2 FETCH (UID " + std::to_string(uid2) + " FLAGS (\\Recent))\r\n");
  EXPECT_EQ(run("t UID FETCH 99999:* UID"), "* 2 FETCH (UID " + std::to_string(uid2) + ")\r\n");
  run("t FETCH 3 FLAGS", &tagged);
  EXPECT_EQ(tagged.substr(0, 3), "BAD");
  run("t FETCH 1 (FLAGS BOGUS)", &tagged);
  EXPECT_EQ(tagged.substr(0, 3), "BAD");
  std::string date = run("t FETCH 1 INTERNALDATE");
  EXPECT_NE(date.find("INTERNALDATE \"14-Nov-2023 22:13:20 +0000\""), std::string::npos) << date;
}

TEST_F(CommandsMessageTest, EmptyFolder) {
  select();
  std::string tagged;
  EXPECT_EQ(run("t UID FETCH 1:* FLAGS", &tagged), "");
  EXPECT_EQ(tagged, "OK Fetch completed");
  for (const char* command : {"t FETCH 1:* FLAGS", "t FETCH 1 FLAGS", "t STORE 1:* +FLAGS x"}) {
    EXPECT_EQ(run(command, &tagged), "");
    EXPECT_EQ(tagged.substr(0, 3), "BAD") << command;
  }
  EXPECT_EQ(run("t SEARCH ALL", &tagged), "* SEARCH\r\n");
  EXPECT_EQ(run("t UID SEARCH RETURN (MIN COUNT) 1:*", &tagged),
            "* ESEARCH (TAG \"t\") UID COUNT 0\r\n");
}

TEST_F(CommandsMessageTest, FetchBodySections) {
  deliver(kPlain);
  deliver(kMultipart);
  select();
  std::string whole = crlf(kPlain);
  EXPECT_EQ(run("t FETCH 1 BODY.PEEK[]"),
            "* 1 FETCH (BODY[] {" + std::to_string(whole.size()) + "}\r\n" + whole + ")\r\n");
  EXPECT_EQ(run("t FETCH 1 (BODY.PEEK[HEADER.FIELDS (from \"To\")])"),
            "* 1 FETCH (BODY[HEADER.FIELDS (FROM TO)] {83}\r\n"
            "From: =?utf-8?q?J=C3=BCrgen?= <jurgen@example.test>\r\n"
            "To: Bob <bob@example.test>\r\n\r\n)\r\n");
  EXPECT_EQ(run("t FETCH 2 (BODY.PEEK[7] BODY.PEEK[3.1] BODY.PEEK[1.HEADER] BINARY.PEEK[2] "
                "BINARY.SIZE[2] BODY.PEEK[]<0.10> BODY.PEEK[]<5000.10>)"),
            std::string("* 2 FETCH (BODY[7] {0}\r\n BODY[3.1] {11}\r\ninner plain "
                        "BODY[1.HEADER] {0}\r\n BINARY[2] ~{10}\r\n\x00\x01\x02\x03\x00hello "
                        "BINARY.SIZE[2] 10 BODY[]<0> {10}\r\nFrom: Alic BODY[]<5000> {0}\r\n)\r\n",
                        168));
  EXPECT_EQ(run("t FETCH 2 BODY.PEEK[3.HEADER]"),
            "* 2 FETCH (BODY[3.HEADER] {129}\r\nFrom: Inner <inner@example.test>\r\n"
            "Subject: inner message\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/alternative; boundary=YY\r\n\r\n)\r\n");
  // Nothing so far set \Seen.
  EXPECT_EQ(context_.selected()->record(1).flags.system & kFlagSeen, 0);
}

TEST_F(CommandsMessageTest, FetchWithoutPeekSetsSeenAndReportsFlags) {
  deliver(kPlain);
  select();
  EXPECT_EQ(run("t FETCH 1 BODY[TEXT]"),
            "* 1 FETCH (BODY[TEXT] {44}\r\nHello body line one.\r\nSecond line: findme.\r\n "
            "FLAGS (\\Seen \\Recent))\r\n");
  EXPECT_NE(context_.selected()->record(1).flags.system & kFlagSeen, 0);
  // Already seen: no FLAGS added.
  EXPECT_EQ(run("t FETCH 1 RFC822.TEXT").find("FLAGS"), std::string::npos);
}

TEST_F(CommandsMessageTest, FetchReadOnlyDoesNotSetSeen) {
  deliver(kPlain);
  select(true);
  EXPECT_EQ(run("t FETCH 1 RFC822").find("FLAGS"), std::string::npos);
  EXPECT_EQ(context_.selected()->record(1).flags.system & kFlagSeen, 0);
}

TEST_F(CommandsMessageTest, EnvelopeAndBodyStructureAreCached) {
  deliver(kMultipart);
  select();
  EXPECT_FALSE(context_.selected()->cached(1, CacheKind::kBodyStructure).has_value());
  std::string first = run("t FETCH 1 (ENVELOPE BODYSTRUCTURE)");
  EXPECT_EQ(first,
            "* 1 FETCH (ENVELOPE (\"Wed, 2 Feb 1994 10:00:00 +0000\" \"multipart one\" "
            "((\"Alice\" NIL \"alice\" \"example.test\")) ((\"Alice\" NIL \"alice\" "
            "\"example.test\")) ((\"Alice\" NIL \"alice\" \"example.test\")) ((NIL NIL \"bob\" "
            "\"example.test\")) NIL NIL NIL NIL) BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" "
            "\"utf-8\") NIL NIL \"quoted-printable\" 17 0 NIL NIL NIL NIL)(\"application\" "
            "\"octet-stream\" NIL NIL NIL \"base64\" 16 NIL (\"attachment\" (\"filename\" "
            "\"a.bin\")) NIL NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 236 (NIL \"inner "
            "message\" ((\"Inner\" NIL \"inner\" \"example.test\")) ((\"Inner\" NIL \"inner\" "
            "\"example.test\")) ((\"Inner\" NIL \"inner\" \"example.test\")) NIL NIL NIL NIL NIL) "
            "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 11 0 NIL NIL NIL "
            "NIL)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 17 0 NIL NIL NIL "
            "NIL) \"alternative\" (\"boundary\" \"YY\") NIL NIL NIL) 14 NIL NIL NIL NIL) "
            "\"mixed\" (\"boundary\" \"XX\") NIL NIL NIL))\r\n");
  EXPECT_TRUE(context_.selected()->cached(1, CacheKind::kBodyStructure).has_value());
  EXPECT_TRUE(context_.selected()->cached(1, CacheKind::kEnvelope).has_value());
  EXPECT_EQ(run("t FETCH 1 (ENVELOPE BODYSTRUCTURE)"), first);
}

TEST_F(CommandsMessageTest, SearchHeaderFieldsAreCachedAfterTheFirstRead) {
  deliver(kPlain);
  select();
  EXPECT_FALSE(context_.selected()->cached(1, CacheKind::kSearchFields).has_value());
  EXPECT_EQ(run("t SEARCH FROM jurgen"), "* SEARCH 1\r\n");
  std::optional<std::string> kept = context_.selected()->cached(1, CacheKind::kSearchFields);
  ASSERT_TRUE(kept.has_value());
  EXPECT_NE(kept->find("From: =?utf-8?q?J=C3=BCrgen?= <jurgen@example.test>\r\n"),
            std::string::npos);
  EXPECT_NE(kept->find("Message-ID: <m1@example.test>\r\n"), std::string::npos);
  EXPECT_EQ(kept->find("X-Mailer"), std::string::npos);  // not a field SEARCH keys name
  // Maildir files never change; one that does shows which answers come from the cache.
  std::string file = store_->root() + "/" + context_.selected()->record(1).file;
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << "From: someone@example.test\nSubject: other\nX-Probe: yes\n\nbody\n";
  }
  EXPECT_EQ(run("t SEARCH FROM jurgen SUBJECT \"aus K\""), "* SEARCH 1\r\n");
  EXPECT_EQ(run("t SEARCH SENTON 1-Feb-1994"), "* SEARCH 1\r\n");
  EXPECT_EQ(run("t SEARCH HEADER X-Probe yes"), "* SEARCH 1\r\n");  // read from the file
}

TEST_F(CommandsMessageTest, FetchChangedSinceAndModSeq) {
  deliver(kPlain);
  deliver(kPlain);
  select();
  std::string tagged;
  run("t STORE 2 +FLAGS (\\Flagged)", &tagged);
  ASSERT_EQ(tagged.substr(0, 2), "OK");
  uint64_t modseq2 = context_.selected()->record(2).modseq;
  uint64_t modseq1 = context_.selected()->record(1).modseq;
  ASSERT_GT(modseq2, modseq1);
  // The first CONDSTORE-enabling command reports HIGHESTMODSEQ (RFC 7162 3.1); later ones not.
  const std::string highest = std::to_string(context_.selected()->highest_modseq());
  std::string out = run("t FETCH 1:* (FLAGS) (CHANGEDSINCE " + std::to_string(modseq1) + ")");
  EXPECT_EQ(out,
            "* OK [HIGHESTMODSEQ " + highest + "] Highest\r\n"
            "* 2 FETCH (FLAGS (\\Flagged \\Recent) MODSEQ (" + std::to_string(modseq2) + "))\r\n");
  EXPECT_TRUE(context_.condstore);
  EXPECT_EQ(run("t FETCH 1 MODSEQ"), "* 1 FETCH (MODSEQ (" + std::to_string(modseq1) + "))\r\n");
}

TEST_F(CommandsMessageTest, StoreForms) {
  deliver(kPlain);
  deliver(kPlain);
  select();
  std::string tagged;
  // $Work is new to the folder: FLAGS and PERMANENTFLAGS say so before the FETCH shows it.
  EXPECT_EQ(run("t STORE 1:2 +FLAGS (\\Flagged $Work)", &tagged),
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)\r\n"
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] "
            "Flags permitted.\r\n"
            "* 1 FETCH (FLAGS (\\Flagged $Work \\Recent))\r\n"
            "* 2 FETCH (FLAGS (\\Flagged $Work \\Recent))\r\n");
  EXPECT_EQ(tagged, "OK Store completed");
  EXPECT_EQ(run("t STORE 1:2 +FLAGS (\\Flagged)"), "");  // nothing changed: no FETCH
  EXPECT_EQ(run("t STORE 1 -FLAGS.SILENT \\Flagged"), "");
  uint32_t uid1 = context_.selected()->record(1).uid;
  EXPECT_EQ(run("t UID STORE " + std::to_string(uid1) + " FLAGS (\\Seen \\Deleted)"),
            "* 1 FETCH (UID " + std::to_string(uid1) + " FLAGS (\\Seen \\Deleted \\Recent))\r\n");
  EXPECT_EQ(context_.selected()->record(1).flags.system, kFlagSeen | kFlagDeleted);
  EXPECT_TRUE(context_.selected()->record(1).flags.keywords.empty());
  for (const char* bad : {"t STORE 1 FLAGS (\\Recent)", "t STORE 1 FLAGS (\\Bogus)",
                          "t STORE 1 XFLAGS (\\Seen)", "t STORE 1 +FLAGS", "t STORE 9 +FLAGS x",
                          "t STORE 1 (UNCHANGEDSINCE x) +FLAGS y", "t STORE 1 +FLAGS (a%b)"}) {
    run(bad, &tagged);
    EXPECT_EQ(tagged.substr(0, 3), "BAD") << bad << ": " << tagged;
  }
}

TEST_F(CommandsMessageTest, StoreRefusesAKeywordNamedNil) {
  deliver(kPlain);
  select();
  std::string tagged;
  // A client's generic parser reads FLAGS (NIL) as nothing, so NIL is no keyword (issue 10).
  for (const char* command : {"t STORE 1 +FLAGS NIL", "t STORE 1 +FLAGS (nil $Junk)"}) {
    EXPECT_EQ(run(command, &tagged), "") << command;
    EXPECT_EQ(tagged, "BAD Invalid keyword NIL") << command;
  }
  EXPECT_TRUE(context_.selected()->record(1).flags.keywords.empty());
}

TEST_F(CommandsMessageTest, KeywordsAreAnnouncedOnceBeforeTheFirstFetchShowingThem) {
  deliver(kPlain);
  deliver(kPlain);
  select();
  std::string tagged;
  const std::string flags_line = "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label4)\r\n";
  // .SILENT: no FETCH, but the folder's flags changed all the same.
  std::string out = run("t STORE 1 +FLAGS.SILENT ($Label4)", &tagged);
  EXPECT_EQ(out.substr(0, flags_line.size()), flags_line) << out;
  EXPECT_NE(out.find("* OK [PERMANENTFLAGS ("), std::string::npos) << out;
  EXPECT_EQ(out.find("FETCH"), std::string::npos) << out;
  // Known now: no second FLAGS, for STORE or FETCH.
  EXPECT_EQ(run("t STORE 2 +FLAGS ($Label4)"), "* 2 FETCH (FLAGS ($Label4 \\Recent))\r\n");
  EXPECT_EQ(run("t FETCH 1:2 FLAGS"),
            "* 1 FETCH (FLAGS ($Label4 \\Recent))\r\n* 2 FETCH (FLAGS ($Label4 \\Recent))\r\n");

  // Another session of the folder adds a keyword: this one's FETCH FLAGS is preceded by FLAGS
  // even before a sync point reports the change.
  auto mailbox = store_->open_mailbox("INBOX");
  ASSERT_TRUE(mailbox.ok());
  SelectedMailboxImpl other("INBOX", *mailbox, false);
  MessageFlags label5;
  label5.keywords = {"$Label5"};
  ASSERT_TRUE(other.store_flags({2}, FlagChange{FlagOp::kAdd, label5, std::nullopt}).ok());
  out = run("t FETCH 2 (UID FLAGS)");
  const std::string grown = "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label4 $Label5)\r\n";
  EXPECT_EQ(out.substr(0, grown.size()), grown) << out;
  EXPECT_LT(out.find("PERMANENTFLAGS"), out.find("FETCH")) << out;
  EXPECT_NE(out.find("FLAGS ($Label4 $Label5 \\Recent)"), std::string::npos) << out;
  // A FETCH without FLAGS shows no keyword and announces nothing.
  MessageFlags label6;
  label6.keywords = {"$Label6"};
  ASSERT_TRUE(other.store_flags({1}, FlagChange{FlagOp::kAdd, label6, std::nullopt}).ok());
  out = run("t FETCH 1 UID");
  EXPECT_EQ(out.find("* FLAGS"), std::string::npos) << out;
}

TEST_F(CommandsMessageTest, StoreUnchangedSinceAndSilentModSeq) {
  deliver(kPlain);
  deliver(kPlain);
  select();
  context_.condstore = true;
  std::string tagged;
  std::string out = run("t STORE 1:2 +FLAGS.SILENT (\\Answered)", &tagged);
  uint64_t modseq = context_.selected()->record(1).modseq;
  EXPECT_EQ(out, "* 1 FETCH (MODSEQ (" + std::to_string(modseq) + "))\r\n* 2 FETCH (MODSEQ (" +
                     std::to_string(context_.selected()->record(2).modseq) + "))\r\n");
  run("t STORE 1:2 (UNCHANGEDSINCE 1) +FLAGS (\\Draft)", &tagged);
  EXPECT_EQ(tagged, "OK [MODIFIED 1:2] Conditional STORE failed");
  uint32_t uid2 = context_.selected()->record(2).uid;
  run("t UID STORE 1:* (UNCHANGEDSINCE 1) +FLAGS (\\Draft)", &tagged);
  EXPECT_EQ(tagged, "OK [MODIFIED " + std::to_string(uid2 - 1) + ":" + std::to_string(uid2) +
                        "] Conditional STORE failed");
  EXPECT_EQ(context_.selected()->record(1).flags.system & kFlagDraft, 0);
  out = run("t STORE 1 (UNCHANGEDSINCE " + std::to_string(modseq) + ") +FLAGS (\\Draft)", &tagged);
  EXPECT_EQ(tagged, "OK Store completed");
  EXPECT_NE(out.find("FLAGS (\\Answered \\Draft \\Recent) MODSEQ ("), std::string::npos) << out;
}

TEST_F(CommandsMessageTest, StoreReadOnlyIsRefused) {
  deliver(kPlain);
  select(true);
  std::string tagged;
  run("t STORE 1 +FLAGS (\\Seen)", &tagged);
  EXPECT_EQ(tagged.substr(0, 2), "NO");
}

TEST_F(CommandsMessageTest, SearchKeys) {
  deliver(kPlain);
  deliver(kMultipart);
  select();
  std::string tagged;
  run("t STORE 2 +FLAGS (\\Flagged)", &tagged);
  struct Case {
    const char* criteria;
    const char* result;
  };
  const Case cases[] = {
      {"ALL", " 1 2"},
      {"FLAGGED", " 2"},
      {"UNFLAGGED", " 1"},
      {"NOT FLAGGED", " 1"},
      {"OR FLAGGED SUBJECT inner", " 2"},
      {"CHARSET UTF-8 SUBJECT \"Grüße\"", " 1"},
      {"SUBJECT \"GRÜSSE\"", ""},
      {"SUBJECT \"GRÜßE aus\"", " 1"},
      {"FROM \"jürgen\"", " 1"},
      {"FROM alice", " 2"},
      {"TO bob", " 1 2"},
      {"CC carol", " 1"},
      {"BCC carol", ""},
      {"BODY café", " 2"},
      {"BODY \"inner html\"", " 2"},
      {"BODY findme", " 1"},
      {"TEXT findme", " 1"},
      {"TEXT x-mailer", " 1"},
      {"HEADER X-Mailer \"\"", " 1"},
      {"HEADER Content-Type mixed", " 2"},
      {"SENTON 1-Feb-1994", " 1"},
      {"SENTBEFORE 2-Feb-1994", " 1"},
      {"SENTSINCE 2-Feb-1994", " 2"},
      {"SINCE 1-Jan-2000", " 1 2"},
      {"BEFORE 1-Jan-2000", ""},
      {"LARGER 500", " 2"},
      {"SMALLER 500", " 1"},
      {"RECENT NEW", " 1 2"},
      {"OLD", ""},
      {"2", " 2"},
      {"5", ""},
      {"2:*", " 2"},
      {"KEYWORD $Work", ""},
      {"(FLAGGED) (LARGER 10)", " 2"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(run(std::string("t SEARCH ") + c.criteria, &tagged),
              std::string("* SEARCH") + c.result + "\r\n")
        << c.criteria;
    EXPECT_EQ(tagged, "OK Search completed") << c.criteria;
  }
  uint32_t uid2 = context_.selected()->record(2).uid;
  EXPECT_EQ(run("t UID SEARCH FLAGGED"), "* SEARCH " + std::to_string(uid2) + "\r\n");
  EXPECT_EQ(run("t SEARCH UID " + std::to_string(uid2)), "* SEARCH 2\r\n");
  run("t SEARCH CHARSET KOI8-R ALL", &tagged);
  EXPECT_EQ(tagged, "NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
  run("t SEARCH BOGUS", &tagged);
  EXPECT_EQ(tagged.substr(0, 3), "BAD");
  run("t SEARCH $", &tagged);
  EXPECT_EQ(tagged.substr(0, 3), "BAD");
}

TEST_F(CommandsMessageTest, EsearchAndModSeq) {
  deliver(kPlain);
  deliver(kPlain);
  deliver(kPlain);
  select();
  std::string tagged;
  run("t STORE 1,3 +FLAGS.SILENT (\\Seen)", &tagged);
  EXPECT_EQ(run("a1 SEARCH RETURN (MIN MAX COUNT ALL) ALL"),
            "* ESEARCH (TAG \"a1\") MIN 1 MAX 3 COUNT 3 ALL 1:3\r\n");
  uint32_t uid1 = context_.selected()->record(1).uid;
  uint32_t uid3 = context_.selected()->record(3).uid;
  EXPECT_EQ(run("a2 UID SEARCH RETURN () SEEN"), "* ESEARCH (TAG \"a2\") UID ALL " +
                                                     std::to_string(uid1) + "," +
                                                     std::to_string(uid3) + "\r\n");
  EXPECT_EQ(run("a3 SEARCH RETURN (COUNT) DELETED"), "* ESEARCH (TAG \"a3\") COUNT 0\r\n");
  uint64_t top =
      std::max(context_.selected()->record(1).modseq, context_.selected()->record(3).modseq);
  const std::string highest = std::to_string(context_.selected()->highest_modseq());
  EXPECT_EQ(run("a4 SEARCH MODSEQ " + std::to_string(top)),
            "* OK [HIGHESTMODSEQ " + highest + "] Highest\r\n"
            "* SEARCH " + std::string(context_.selected()->record(3).modseq == top ? "3" : "1") +
                " (MODSEQ " + std::to_string(top) + ")\r\n");
  EXPECT_TRUE(context_.condstore);
  EXPECT_EQ(run("a5 SEARCH MODSEQ 999999"), "* SEARCH\r\n");
}

// Not a benchmark with a threshold: prints the time of a flag search and a header search over
// 50,000 messages so a regression is visible in the test log.
TEST_F(CommandsMessageTest, SearchFiftyThousandMessages) {
  constexpr int kMessages = 50000;
  for (int i = 0; i < kMessages; ++i) {
    deliver("From: sender" + std::to_string(i) + "@example.test\nSubject: message " +
            std::to_string(i) + (i % 1000 == 7 ? " needle" : "") + "\nDate: Tue, 1 Feb 1994 " +
            "10:00:00 +0000\n\nbody of " + std::to_string(i) + "\n");
  }
  auto started = std::chrono::steady_clock::now();
  select();
  auto indexed = std::chrono::steady_clock::now();
  ASSERT_EQ(context_.selected()->count(), static_cast<uint32_t>(kMessages));
  std::string tagged;
  run("t STORE 100:199 +FLAGS.SILENT (\\Flagged)", &tagged);
  ASSERT_EQ(tagged, "OK Store completed");
  auto flag_start = std::chrono::steady_clock::now();
  std::string flagged = run("t SEARCH RETURN (COUNT) FLAGGED UNDELETED");
  auto flag_end = std::chrono::steady_clock::now();
  EXPECT_EQ(flagged, "* ESEARCH (TAG \"t\") COUNT 100\r\n");
  std::string header = run("t SEARCH RETURN (COUNT) SUBJECT needle");
  auto header_end = std::chrono::steady_clock::now();
  EXPECT_EQ(header, "* ESEARCH (TAG \"t\") COUNT 50\r\n");
  std::string cached = run("t SEARCH RETURN (COUNT) SUBJECT needle");
  auto cached_end = std::chrono::steady_clock::now();
  EXPECT_EQ(cached, header);
  auto ms = [](auto a, auto b) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
  };
  std::printf(
      "50,000 messages: index build %lld ms, SEARCH FLAGGED %lld ms, SEARCH SUBJECT "
      "%lld ms, again (fields cached) %lld ms\n",
      static_cast<long long>(ms(started, indexed)),
      static_cast<long long>(ms(flag_start, flag_end)),
      static_cast<long long>(ms(flag_end, header_end)),
      static_cast<long long>(ms(header_end, cached_end)));
}

}  // namespace
}  // namespace postern::imapd
