"""sendmail(1)'s promises as a caller sees them: exit 0 only once the message is on disk, and
sysexits codes otherwise. Mail submitted while the daemons are stopped waits in maildrop/ and
is delivered when they start; a queue that was never created (the suite not started yet) is
EX_TEMPFAIL, never 0; usage errors are 64, bad addresses 65. Runs as any user (root in CI;
sendmail as the caller, postdrop unprivileged from the build tree); the recipients are virtual
users of the suite ($myorigin = example.test), so no system user or /var/mail is involved."""
import os
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from postern_harness import BIN_DIR, Suite, run_tests  # noqa: E402

SENDMAIL = os.path.join(BIN_DIR, "sendmail")
EX_USAGE, EX_DATAERR, EX_TEMPFAIL = 64, 65, 75
ORIGIN = "myorigin = example.test\n"


def sendmail(suite, args, text):
    return subprocess.run([SENDMAIL, "-C", suite.etc] + args, input=text.encode(),
                          capture_output=True, timeout=60)


def maildrop_files(suite):
    path = os.path.join(suite.spool, "maildrop")
    return [n for n in os.listdir(path) if not n.startswith(".")]


def test_mail_submitted_while_stopped_is_delivered_at_start():
    with Suite(main_cf_extra=ORIGIN) as suite:
        suite.stop()
        tokens = [uuid.uuid4().hex for _ in range(3)]
        for token in tokens:
            result = sendmail(suite, ["-oi", "alice"], f"Subject: {token}\n\noffline {token}\n")
            assert result.returncode == 0, result
        # On disk, complete, and nobody has taken them yet.
        assert len(maildrop_files(suite)) == 3, maildrop_files(suite)
        suite.start()
        suite.wait_for_mail("alice@example.test", 3)
        texts = [open(path, "rb").read().decode() for path in suite.messages("alice@example.test")]
        for token in tokens:
            assert sum(f"offline {token}" in text for text in texts) == 1, (token, texts)
        assert maildrop_files(suite) == []


def test_no_queue_yet_is_a_temporary_failure():
    with Suite(main_cf_extra=ORIGIN, start=False) as suite:  # master never created maildrop/
        result = sendmail(suite, ["alice"], "Subject: nowhere\n\nbody\n")
        assert result.returncode == EX_TEMPFAIL, result
        assert b"not queued" in result.stderr, result.stderr


def test_usage_and_address_errors():
    with Suite(main_cf_extra=ORIGIN) as suite:
        for args, code in [(["-x", "alice"], EX_USAGE), (["-bz"], EX_USAGE), ([], EX_USAGE),
                           (["-N", "sometimes", "alice"], EX_USAGE), (["-f"], EX_USAGE),
                           (["-t"], EX_USAGE), (["a@@b"], EX_DATAERR),
                           (["-f", "bad address@@x", "alice"], EX_DATAERR)]:
            result = sendmail(suite, args, "Subject: x\n\nbody\n")
            assert result.returncode == code, (args, result)
            assert result.stderr.startswith(b"sendmail: "), (args, result.stderr)
        assert maildrop_files(suite) == []
        assert not suite.queue_files()


def test_message_over_the_size_limit_is_refused():
    with Suite(main_cf_extra=ORIGIN + "message_size_limit = 10000\n") as suite:
        result = sendmail(suite, ["-i", "alice"], "Subject: big\n\n" + "x" * 20000 + "\n")
        assert result.returncode == EX_DATAERR, result
        assert maildrop_files(suite) == []


if __name__ == "__main__":
    run_tests([
        test_mail_submitted_while_stopped_is_delivered_at_start,
        test_no_queue_yet_is_a_temporary_failure,
        test_usage_and_address_errors,
        test_message_over_the_size_limit_is_refused,
    ])
