"""Peer test: direct delivery to MX hosts (no relayhost). A dnsmasq on a loopback UDP port
(smtp_dns_resolver_address) serves:

    one.test   MX 10 mx1.one.test -> 127.0.0.31   MX 20 mx2.one.test -> 127.0.0.32
    two.test   MX 10 mx.two.test  -> 127.0.0.33
    aonly.test no MX, A 127.0.0.34                (RFC 5321 5.1: the A record is the MX)
    six.test   MX 10 mx.six.test  -> ::1 only     (AAAA: IPv6 delivery)
    nowhere.test  NXDOMAIN                        (bounced with 5.1.2, DSN to the sender)

and Postfix's smtp-sink listens on port 25 of each of those addresses (as root a test may bind
127.0.0.x:25; the 127.0.0.3x block is used by no other test: lib/net/mx_resolver's unit test only
resolves 127.0.0.2-7 and binds nothing). Checks: each domain's mail lands on its own receiver
and only there; the lower preference wins; with the first MX down the second takes the mail in
the same attempt (no deferral); a domain without MX gets its A host; ::1 is reached over IPv6.
All of these run in one Suite (one test process, so port 25 is never contended).
"""
import re
import shutil
import socket

from postern_harness import Suite, run_tests, wait_until
from relay_peers import (Dnsmasq, SmtpSink, log_lines, make_message, submit, temp_dir,
                         wait_for_log)

SENDER = "demo@example.test"
ADDRESSES = {"mx1.one": "127.0.0.31", "mx2.one": "127.0.0.32", "mx.two": "127.0.0.33",
             "aonly": "127.0.0.34", "mx.six": "::1"}


def ipv6_loopback_works():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class MxWorld:
    def __init__(self):
        self.dir = temp_dir("relay-mx-")
        self.sinks = {}
        self.dns = None
        self.suite = None
        try:
            self.dns = Dnsmasq(self.dir, mx=[("one.test", "mx1.one.test", 10),
                                             ("one.test", "mx2.one.test", 20),
                                             ("two.test", "mx.two.test", 10),
                                             ("six.test", "mx.six.test", 10)],
                               hosts=[("mx1.one.test", [ADDRESSES["mx1.one"]]),
                                      ("mx2.one.test", [ADDRESSES["mx2.one"]]),
                                      ("mx.two.test", [ADDRESSES["mx.two"]]),
                                      ("aonly.test", [ADDRESSES["aonly"]]),
                                      ("mx.six.test", [ADDRESSES["mx.six"]])])
            for name, address in ADDRESSES.items():
                self.sinks[name] = SmtpSink(self.dir, host=address, port=25, name=f"{name}.test")
            self.suite = Suite(main_cf_extra=f"mynetworks = 127.0.0.0/8\n"
                                             f"smtp_dns_resolver_address = {self.dns.address}\n"
                                             "smtp_connect_timeout = 5s\n")
        except BaseException:
            self.close(True)
            raise

    def counts(self):
        return {name: sink.message_count() for name, sink in self.sinks.items()}

    def send(self, recipient, subject):
        message, marker = make_message(SENDER, [recipient], subject)
        submit(self.suite, SENDER, [recipient], message)
        return marker

    def wait_at(self, name, marker, timeout=30):
        def arrived():
            return any(marker.encode() in body for _, _, body in self.sinks[name].transactions())
        try:
            wait_until(arrived, timeout, 0.05, f"message {marker} at {name}")
        except TimeoutError:
            raise AssertionError(f"message {marker} did not reach {name} ({ADDRESSES[name]}); "
                                 f"counts {self.counts()}\n{self.suite.log()[-5000:]}\n"
                                 f"--- dnsmasq ---\n{self.dns.log()[-2000:]}") from None

    def holders(self, marker):
        return sorted(name for name, sink in self.sinks.items()
                      if any(marker.encode() in body for _, _, body in sink.transactions()))

    def close(self, failed):
        try:
            if self.suite is not None:
                self.suite.__exit__(RuntimeError if failed else None, None, None)
        finally:
            for sink in self.sinks.values():
                sink.stop()
            if self.dns is not None:
                if failed:
                    print(f"--- dnsmasq log ---\n{self.dns.log()[-3000:]}")
                self.dns.stop()
            if not failed:
                shutil.rmtree(self.dir, ignore_errors=True)


def test_direct_mx():
    world = MxWorld()
    failed = True
    try:
        # Preference order: mx1 (10) takes one.test's mail, mx2 (20) gets nothing.
        first = world.send("a@one.test", "to the preferred MX")
        world.wait_at("mx1.one", first)
        # A second domain, its own MX.
        second = world.send("b@two.test", "second domain")
        world.wait_at("mx.two", second)
        # No MX record: the domain's A record is the host (RFC 5321 5.1).
        fallback = world.send("c@aonly.test", "A fallback")
        world.wait_at("aonly", fallback)
        sent = wait_for_log(world.suite, r"to=<c@aonly\.test>.*status=sent")
        assert "127.0.0.34" in sent[0], sent[0]

        # The preferred MX goes down: the next one takes the mail in the same attempt.
        world.sinks["mx1.one"].stop()
        down = world.send("d@one.test", "first MX down")
        world.wait_at("mx2.one", down)
        assert not log_lines(world.suite, r"to=<d@one\.test>.*status=deferred"), \
            "deferred although a second MX was up"
        sent = wait_for_log(world.suite, r"to=<d@one\.test>.*status=sent")
        assert re.search(r"relay=mx2\.one\.test\[127\.0\.0\.32\]:25", sent[0]), sent[0]

        # IPv6: an MX with only an AAAA record, the receiver on [::1]:25.
        if ipv6_loopback_works():
            six = world.send("e@six.test", "over IPv6")
            world.wait_at("mx.six", six)
            sent = wait_for_log(world.suite, r"to=<e@six\.test>.*status=sent")
            assert "::1" in sent[0], sent[0]
        else:
            raise AssertionError("::1 cannot be bound here: the IPv6 part cannot run")

        # A domain that does not exist (NXDOMAIN): bounced at once, not retried for days.
        world.send("f@nowhere.test", "no such domain")
        bounced = wait_for_log(world.suite, r"to=<f@nowhere\.test>.*status=bounced")
        assert "dsn=5.1.2" in bounced[0], bounced[0]
        dsn = world.suite.wait_for_mail(SENDER, 1, timeout=30)
        assert len(dsn) == 1 and b"f@nowhere.test" in open(dsn[0], "rb").read(), dsn

        wait_until(lambda: not world.suite.queue_files(), 20, what="queue to empty")
        for marker, where in ((first, ["mx1.one"]), (second, ["mx.two"]),
                              (fallback, ["aonly"]), (down, ["mx2.one"])):
            assert world.holders(marker) == where, \
                f"{marker} at {world.holders(marker)}, want only {where}"
        assert world.counts() == {"mx1.one": 1, "mx2.one": 1, "mx.two": 1, "aonly": 1,
                                  "mx.six": 1}, world.counts()
        failed = False
    finally:
        world.close(failed)


if __name__ == "__main__":
    run_tests([test_direct_mx])
