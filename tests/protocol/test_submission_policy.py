"""postern-submission's rules, driven with python3's smtplib over STARTTLS (and a raw socket
before TLS): no AUTH before TLS (not announced, 530 when tried), MAIL before AUTH refused with
530, the AUTH exchange (334 steps, "*" cancels, a second AUTH 503), senders the login owns
(its own address and plus forms, send_as, an alias that names it, smtpd_sender_login_maps) and
the 553 for the rest, the null sender, the From: rule at the end of DATA (nothing queued), the
header size limit, mail to a remote domain accepted, unknown local users still 550, and the
queue file's auth attribute. Whole suite on loopback."""
import base64
import os
import smtplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import postern_harness  # noqa: E402
from postern_harness import default_accounts  # noqa: E402
from smtpd_wire import Wire  # noqa: E402
from submission_support import (PASSWORD, client_context, starttls_client,  # noqa: E402
                                submission_suite, wait_for_subject)

ALICE = "alice@example.test"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def send(client, sender, recipients, subject, from_header=None, extra=""):
    """MAIL/RCPT/DATA; returns (code, text) of the final reply (or of the refused command)."""
    from_line = f"From: {from_header}\r\n" if from_header is not None else ""
    body = f"{from_line}Subject: {subject}\r\n{extra}\r\nbody\r\n"
    code, text = client.mail(sender)
    if code != 250:
        client.rset()
        return code, text.decode()
    for rcpt in recipients:
        code, text = client.rcpt(rcpt)
        if code != 250:
            client.rset()
            return code, text.decode()
    code, text = client.data(body.encode())
    return code, text.decode()


def test_no_auth_before_tls_and_no_mail_before_auth():
    with submission_suite() as suite:
        with Wire(suite.submission_port) as wire:
            ehlo = wire.greet()
            assert "STARTTLS" in ehlo and "AUTH" not in ehlo, ehlo
            wire.command("AUTH PLAIN " + b64(f"\0{ALICE}\0{PASSWORD}"), 530,
                         "5.7.0 Must issue a STARTTLS command first")
            wire.command(f"MAIL FROM:<{ALICE}>", 530, "5.7.0 Authentication required")
        with starttls_client(suite) as client:
            assert "PLAIN LOGIN" in client.esmtp_features["auth"]
            assert client.docmd(f"MAIL FROM:<{ALICE}>") == \
                (530, b"5.7.0 Authentication required")
            assert client.docmd("RCPT TO:<bob@example.test>")[0] == 503
        # 465: inside TLS from the start, AUTH announced at once; unauthenticated: nothing goes.
        with smtplib.SMTP_SSL("127.0.0.1", suite.submissions_port, timeout=20,
                              context=client_context()) as c:
            c.ehlo("client.example.net")
            assert "PLAIN LOGIN" in c.esmtp_features["auth"]
            assert c.docmd(f"MAIL FROM:<{ALICE}>")[0] == 530
        assert "NOQUEUE: reject: MAIL from unknown[127.0.0.1]: 530 5.7.0" in suite.log()
        assert not suite.queue_files()


def test_auth_exchanges():
    with submission_suite() as suite:
        with starttls_client(suite) as client:
            assert client.docmd("AUTH PLAIN") == (334, b"")
            assert client.docmd("*")[0] == 501                        # cancelled
            assert client.docmd("AUTH LOGIN") == (334, b64("Username:").encode())
            assert client.docmd(b64("alice")) == (334, b64("Password:").encode())
            assert client.docmd(b64(PASSWORD))[0] == 235             # local domain added
            assert client.docmd("AUTH PLAIN " + b64(f"\0{ALICE}\0{PASSWORD}"))[0] == 503
            code, text = send(client, ALICE, ["bob@example.test"], "after login exchange",
                              from_header=ALICE)
            assert code == 250, text
        with starttls_client(suite) as client:
            assert client.docmd("AUTH PLAIN")[0] == 334
            assert client.docmd(b64(f"\0{ALICE}\0{PASSWORD}"))[0] == 235
            assert client.docmd("AUTH CRAM-MD5")[0] == 503  # already authenticated
        with starttls_client(suite) as client:
            assert client.docmd("AUTH CRAM-MD5")[0] == 504
            assert client.docmd("AUTH PLAIN !!!notbase64")[0] == 501
            # A response line of 12288 bytes (RFC 4954's limit) is read and decoded (here: not
            # a PLAIN message, 501); one byte more ends the exchange with 500 5.5.6.
            assert client.docmd("AUTH PLAIN")[0] == 334
            assert client.docmd("A" * 12288)[0] == 501
            assert client.docmd("AUTH PLAIN")[0] == 334
            assert client.docmd("A" * 12289) == \
                (500, b"5.5.6 Authentication exchange line is too long")
            assert client.docmd("AUTH PLAIN " + b64(f"\0{ALICE}\0{PASSWORD}"))[0] == 235
        wait_for_subject(suite, "bob@example.test", "after login exchange")
        log = suite.log()
        assert "sasl_method=LOGIN, sasl_username=alice@example.test" in log, log


def test_sender_rules():
    # alice may also send as sales@example.test (send_as); bob owns shared@partner.example and
    # alice every address of tenant.example through smtpd_sender_login_maps.
    accounts = default_accounts().replace(
        "      alice:\n        password:",
        "      alice:\n        send_as: [sales]\n        password:")
    assert "send_as: [sales]" in accounts
    with submission_suite(start=False, accounts=accounts) as suite:
        maps = os.path.join(suite.etc, "sender_logins")
        with open(maps, "w") as f:
            f.write("# login map\nshared@partner.example  bob@example.test\n"
                    "@tenant.example   alice\n")
        suite.write_main_cf("smtpd_sasl_local_domain = example.test\n"
                            f"smtpd_sender_login_maps = texthash:{maps}\n")
        suite.start()
        suite.wait_for_port(suite.submission_port)
        with starttls_client(suite, ALICE) as client:
            allowed = [(ALICE, ALICE, "own"), ("alice+tag@example.test", ALICE, "plus"),
                       ("sales@example.test", "Sales <sales@example.test>", "send_as"),
                       ("team@example.test", "Team <team@example.test>", "alias team"),
                       ("x@tenant.example", "x@tenant.example", "login map domain"),
                       ("", ALICE, "null sender")]
            for sender, from_header, what in allowed:
                code, text = send(client, sender, ["bob@example.test"], f"allowed {what}",
                                  from_header=from_header)
                assert code == 250, (what, code, text)
            # info@ is an alias of demo's; nobody@ has no owner at all.
            for sender in ("bob@example.test", "info@example.test", "nobody@example.test",
                           "shared@partner.example", "boss@remote.example"):
                code, text = send(client, sender, ["bob@example.test"], "spoof")
                assert code == 553, (sender, code, text)
                assert text == (f"5.7.1 <{sender}>: Sender address rejected: not owned by "
                                f"user {ALICE}"), text
        with starttls_client(suite, "bob") as client:
            code, text = send(client, "shared@partner.example", [ALICE], "bob shared",
                              from_header="shared@partner.example")
            assert code == 250, text
            code, text = send(client, "team@example.test", [ALICE], "bob team",
                              from_header="team@example.test")
            assert code == 250, text
            code, _ = send(client, "sales@example.test", [ALICE], "bob sales")
            assert code == 553
        for what in ("own", "plus", "send_as", "alias team", "login map domain",
                     "null sender"):
            wait_for_subject(suite, "bob@example.test", f"allowed {what}")
        wait_for_subject(suite, ALICE, "bob shared")
        wait_for_subject(suite, ALICE, "bob team")


def test_from_header_rules():
    with submission_suite(main_cf_extra="header_size_limit = 2048\n") as suite:
        with starttls_client(suite, ALICE) as client:
            for from_header in ("The Boss <boss@example.test>", f"{ALICE}, bob@example.test",
                                "bob@example.test"):
                code, text = send(client, ALICE, ["bob@example.test"], "spoofed from",
                                  from_header=from_header)
                assert code == 553, (from_header, code, text)
                assert "Sender address rejected: not owned by user alice@example.test" in text
            for from_header in ("<alice@example.test", "undisclosed-recipients:;"):
                code, text = send(client, ALICE, ["bob@example.test"], "unreadable from",
                                  from_header=from_header)
                assert (code, text) == (553, "5.7.1 Sender address rejected: the From: "
                                             "header cannot be read"), (from_header, text)
            # Two From: fields, the second spoofed.
            code, _ = send(client, ALICE, ["bob@example.test"], "two froms", from_header=ALICE,
                           extra="From: bob@example.test\r\n")
            assert code == 553
            # header_size_limit at 2048: a header section just over it is refused.
            code, text = send(client, ALICE, ["bob@example.test"], "big header",
                              from_header=ALICE, extra="X-Pad: " + "a" * 2100 + "\r\n")
            assert (code, text) == (552, "5.3.4 Message header size exceeds fixed limit"), text
            code, text = send(client, ALICE, ["bob@example.test"], "fits",
                              from_header=ALICE, extra="X-Pad: " + "a" * 1900 + "\r\n")
            assert code == 250, text
            # No From: at all: ours is added, naming the envelope sender.
            code, text = send(client, "alice+noreply@example.test", ["bob@example.test"],
                              "no from")
            assert code == 250, text
            # The session goes on after a refusal.
            assert client.noop()[0] == 250
        message = wait_for_subject(suite, "bob@example.test", "no from")
        assert message.get_all("From") == ["<alice+noreply@example.test>"], message.get_all("From")
        assert message["Message-ID"] and message["Date"]
        wait_for_subject(suite, "bob@example.test", "fits")
        assert len(suite.messages("bob@example.test")) == 2  # nothing refused was delivered
        assert "reject: header from unknown[127.0.0.1]: 553 5.7.1" in suite.log()


def test_bdat_and_the_auth_parameter():
    with submission_suite() as suite:
        with starttls_client(suite, ALICE) as client:
            # RFC 4954's AUTH= is accepted (and not used); the header section spans two BDAT
            # chunks and has no From:, Message-ID or Date: all three are added.
            assert client.docmd(f"MAIL FROM:<{ALICE}> AUTH=<>")[0] == 250
            assert client.docmd("RCPT TO:<bob@example.test>")[0] == 250
            first, second = b"Subject: bdat chunks\r\nX-Spl", b"it: yes\r\n\r\nbody\r\n"
            client.send(f"BDAT {len(first)}\r\n".encode() + first)
            assert client.getreply()[0] == 250
            client.send(f"BDAT {len(second)} LAST\r\n".encode() + second)
            code, text = client.getreply()
            assert code == 250, text
            # A spoofed From: in BDAT is refused at the last chunk, like at the end of DATA.
            assert client.docmd(f"MAIL FROM:<{ALICE}>")[0] == 250
            assert client.docmd("RCPT TO:<bob@example.test>")[0] == 250
            spoof = b"From: bob@example.test\r\nSubject: bdat spoof\r\n\r\nx\r\n"
            client.send(f"BDAT {len(spoof)} LAST\r\n".encode() + spoof)
            assert client.getreply()[0] == 553
        message = wait_for_subject(suite, "bob@example.test", "bdat chunks")
        assert message["X-Split"] == "yes"
        assert message["From"] == f"<{ALICE}>" and message["Message-ID"] and message["Date"]
        assert message.get_payload() == "body\n" or message.get_payload() == "body\r\n"
        assert len(suite.messages("bob@example.test")) == 1


def test_recipients_and_queue_file():
    # No qmgr: the queue files stay in incoming/ for inspection.
    with submission_suite(start=False) as suite:
        suite.write_master_cf([
            f"127.0.0.1:{suite.smtp_port} inet n - n - - smtpd",
            f"127.0.0.1:{suite.submission_port} inet n - n - - submission",
            f"127.0.0.1:{suite.submissions_port} inet n - n - - submission"
            " -o smtpd_tls_wrappermode=yes"])
        suite.start()
        suite.wait_for_port(suite.submission_port)
        with starttls_client(suite, ALICE) as client:
            assert client.rcpt("x@y.z")[0] == 503  # no MAIL yet
            assert client.mail(ALICE)[0] == 250
            code, text = client.rcpt("nosuchuser@example.test")
            assert code == 550 and text.startswith(b"5.1.1"), text
            assert client.rcpt("someone@remote.example")[0] == 250  # no relay check
            code, text = client.data(f"From: {ALICE}\r\nSubject: out\r\n\r\nhi\r\n".encode())
            assert code == 250, text
        [path] = suite.queue_files("incoming")
        with open(path, "rb") as f:
            data = f.read()
        assert b"auth=alice@example.test" in data
        assert b"with ESMTPSA id" in data
        received = data[data.index(b"Received:"):data.index(b"Subject:")]
        assert b"alice" not in received.split(b"for <")[0], received


if __name__ == "__main__":
    postern_harness.run_tests([test_no_auth_before_tls_and_no_mail_before_auth,
                               test_auth_exchanges, test_sender_rules, test_from_header_rules,
                               test_bdat_and_the_auth_parameter, test_recipients_and_queue_file])
