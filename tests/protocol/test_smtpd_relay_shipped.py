#!/usr/bin/env python3
"""Never an open relay, on the configuration that ships (etc/main.cf, only its paths changed),
from 127.0.0.1 and from ::1: behind a tunnel, reverse proxy or port-forward every client is
loopback, so loopback must not be trusted. Every spelling of a foreign destination we know of
gets 554 5.7.1 at RCPT, with the null sender and with one of our own addresses as sender, and
nothing reaches the queue; postmaster and our own users are still accepted, and so are the
system users of mydestination's default (root@localhost, as Postfix accepts it), while a user
that does not exist there gets 550 5.1.1."""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(__file__))
from postern_harness import Suite, free_port, run_tests, wait_until  # noqa: E402
from smtpd_wire import Wire  # noqa: E402

# Each of these names a destination that is not ours, however it is written. The last group
# names our domain last but routes onwards (sender-specified routing): an MTA that rewrites
# user%other@ours or other!user@ours, or honours a quoted "@", would relay it.
FOREIGN = [
    "user@other.example",
    "USER@OTHER.EXAMPLE",
    "user@Other.Example.",
    "user@[192.0.2.1]",
    "user@[127.0.0.1]",
    "user@[IPv6:2001:db8::1]",
    "user@[IPv6:::1]",
    "@example.test:user@other.example",
    "@example.test,@mx.example.test:user@other.example",
    '"user@other.example"@example.test',
    '"user@other.example"@other.example',
    "user%other.example@example.test",
    "user%other.example@[127.0.0.1]",
    "other.example!user@example.test",
    "other.example!user",
    "user%other.example",
    '"demo@example.test"@other.example',
]
# Refused as syntax (501 5.1.3) before any routing question: a trailing dot, and a path with no
# domain other than postmaster. Neither is a relay.
UNPARSABLE = {"user@Other.Example.", "other.example!user", "user%other.example"}
SENDERS = ["", "demo@example.test", "stranger@elsewhere.example"]
ACCEPTED = ["postmaster", "postmaster@example.test", "POSTMASTER@EXAMPLE.TEST",
            "demo@example.test"]


def ipv6_loopback_works():
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def run_against(host, port):
    """Tries every sender with every foreign recipient, one connection per try (so smtpd's
    error sleep after the soft error limit does not slow the test); returns how many were
    refused with 554 5.7.1."""
    refused = 0
    for sender in SENDERS:
        for recipient in FOREIGN:
            wire = Wire(port, host=host)
            wire.greet()
            wire.command(f"MAIL FROM:<{sender}>", 250)
            wire.send(f"RCPT TO:<{recipient}>\r\n")
            code, lines = wire.reply()
            text = " ".join(lines)
            expected = 501 if recipient in UNPARSABLE else 554
            assert code == expected and text.startswith("5."), \
                f"{host}: <{sender}> -> <{recipient}> got {code} {text}, expected {expected}"
            if code == 554:
                assert text.startswith("5.7.1"), text
                refused += 1
            wire.command("QUIT", 221)
    return refused


def test_loopback_is_not_trusted_on_the_shipped_config():
    v6_port = free_port()
    with Suite(shipped=True, start=False) as suite:
        services = suite.default_services()
        have_v6 = ipv6_loopback_works()
        if have_v6:
            services.append(f"[::1]:{v6_port} inet n - n - - smtpd")
        suite.write_master_cf(services)
        suite.start()
        main_cf = open(os.path.join(suite.etc, "main.cf")).read()
        assert "\nmynetworks =\n" in main_cf, "the shipped main.cf must leave mynetworks empty"
        refused = run_against("127.0.0.1", suite.smtp_port)
        if have_v6:
            def v6_accepts():
                try:
                    socket.create_connection(("::1", v6_port), timeout=1).close()
                    return True
                except OSError:
                    return False
            wait_until(v6_accepts, 20, what=f"[::1]:{v6_port}")
            refused += run_against("::1", v6_port)
        print(f"{refused} relay attempts refused with 554 5.7.1"
              f"{'' if have_v6 else ' (no ::1 on this machine: IPv4 only)'}")
        hosts = 2 if have_v6 else 1
        assert refused == hosts * len(SENDERS) * (len(FOREIGN) - len(UNPARSABLE)), refused

        # A DATA after only refused recipients carries nothing into the queue.
        wire = Wire(suite.smtp_port)
        wire.greet()
        wire.command("MAIL FROM:<demo@example.test>", 250)
        wire.command("RCPT TO:<user@other.example>", 554)
        wire.send("DATA\r\n")
        code, _ = wire.reply()
        assert code in (503, 554), f"DATA after refused recipients got {code}"
        wire.command("QUIT", 221)
        assert suite.queue_files() == [], suite.queue_files()

        # mydestination's default (localhost, $myhostname) is the system users': root is
        # accepted from loopback as from anywhere, as Postfix accepts it; a user that does not
        # exist is refused at RCPT; nothing is relayed. (RSET: nothing reaches root's mailbox.)
        wire = Wire(suite.smtp_port)
        wire.greet()
        wire.command("MAIL FROM:<stranger@elsewhere.example>", 250)
        wire.command("RCPT TO:<root@localhost>", 250)
        wire.command("RCPT TO:<root@mx.example.test>", 250)
        wire.command("RCPT TO:<nosuchuser@localhost>", 550,
                     "5.1.1 <nosuchuser@localhost>: Recipient address rejected: User unknown in "
                     "local recipient table")
        wire.command("RCPT TO:<root@other.example>", 554, "5.7.1")
        wire.command("RCPT TO:<root%other.example@localhost>", 554, "5.7.1")
        wire.command("RSET", 250)
        wire.command("QUIT", 221)
        assert suite.queue_files() == [], suite.queue_files()

        # Our own addresses, postmaster in every spelling, still get through.
        wire = Wire(suite.smtp_port)
        wire.greet()
        wire.command("MAIL FROM:<stranger@elsewhere.example>", 250)
        for recipient in ACCEPTED:
            wire.command(f"RCPT TO:<{recipient}>", 250)
        wire.command("DATA", 354)
        wire.send("Subject: still ours\r\n\r\nhello\r\n.\r\n")
        wire.expect(250)
        wire.command("QUIT", 221)
        suite.wait_for_mail("demo@example.test", 1)


if __name__ == "__main__":
    run_tests([test_loopback_is_not_trusted_on_the_shipped_config])
