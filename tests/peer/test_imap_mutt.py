"""mutt (GnuTLS build, Debian) reads mail from postern-imapd in batch mode: headless on a
pseudo-terminal, driven by pushed keys, it opens imaps://.../INBOX (and imap:// with STARTTLS
required), shows the newest message in its pager, pipes it to a file and quits (keys typed on the
terminal when mutt shows the screen or the prompt they answer); the file holds the message's
subject and body, and the message is \\Seen in the Maildir afterwards (mutt's sync at quit).
The suite's certificate is trusted through certificate_file. Each run is bounded in time and
killed by its PID if it hangs. Whole suite on loopback."""
import os
import pty
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import postern_harness  # noqa: E402
from imap_support import (PASSWORD, deliver, fill_maildir, find_in_maildir,  # noqa: E402
                          imap_suite, maildir_flags, which)
from postern_harness import wait_until  # noqa: E402

kMuttSeconds = 60


def run_mutt(suite, url, out_path, starttls, shown_line):
    """mutt on a pty: opens url, shows the current message (the newest, sorted by date
    reversed: first in the index) until shown_line appears, pipes it to out_path, quits.
    Returns the terminal output."""
    rc = os.path.join(suite.root, "muttrc")
    home = os.path.join(suite.root, "mutt-home")
    os.makedirs(home, exist_ok=True)
    with open(rc, "w") as f:
        f.write(f"""set imap_user = "demo@example.test"
set imap_pass = "{PASSWORD}"
set certificate_file = "{suite.cert}"
set ssl_verify_host = no
set ssl_force_tls = yes
set ssl_starttls = {"yes" if starttls else "no"}
set imap_passive = no
set header_cache = ""
set message_cachedir = ""
set sort = reverse-date
set wait_key = no
set pipe_decode = no
set confirmappend = no
set quit = yes
set move = no
set mark_old = no
set timeout = 5
set mail_check = 1
set pager_stop = yes
set markers = no
set imap_keepalive = 30
set record = ""
set mbox_type = Maildir
set folder = "{suite.root}/mutt-home"
set spoolfile = "{url}"
""")
    env = dict(os.environ, HOME=home, TERM="vt100", LANG="C.UTF-8", MAIL="", MAILDIR="")
    master, slave = pty.openpty()
    command = [which("mutt"), "-n", "-F", rc, "-f", url]
    # Keys typed when mutt shows what they answer (keys pushed with -e are answered by the
    # prompts while the IMAP folder opens): Enter shows the first message in the pager, 'q'
    # back to the index, '|' pipe-message and its command, 'q' quits (and syncs flags).
    script = [(b"-Mutt: ", b"\r"), (shown_line.encode(), b"q"), (b"-Mutt: ", b"|"),
              (b"Pipe to command:", f"cat > {out_path}\r".encode()), (b"-Mutt: ", b"q")]
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env,
                               start_new_session=True)
    os.close(slave)
    output = b""
    mark = 0
    deadline = time.monotonic() + kMuttSeconds
    try:
        while process.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                output += chunk
                if script and script[0][0] in output[mark:]:
                    os.write(master, script.pop(0)[1])
                    mark = len(output)
                # A certificate prompt would mean the trust setup failed: refuse, fail below.
                if b"(r)eject" in output[-2000:]:
                    os.write(master, b"r")
        try:  # the terminal closes (EIO) just before mutt exits
            process.wait(max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
            raise AssertionError(f"mutt did not finish in {kMuttSeconds}s:\n"
                                 + output[-1500:].decode(errors="replace"))
        process.wait(10)
    finally:
        os.close(master)
    assert process.returncode == 0, (process.returncode, output[-3000:])
    return output


def check_read(suite, starttls):
    fill_maildir(suite, "demo", 3)
    subject = f"for mutt starttls={starttls}"
    body = f"Mutt should show this line ({starttls}).\nAnd this one.\n"
    deliver(suite, "demo", subject, body)
    if starttls:
        url = f"imap://127.0.0.1:{suite.imap_port}/INBOX"
    else:
        url = f"imaps://127.0.0.1:{suite.imaps_port}/INBOX"
    out_path = os.path.join(suite.root, f"mutt-{starttls}.eml")
    output = run_mutt(suite, url, out_path, starttls, body.splitlines()[0])
    assert os.path.exists(out_path), output[-3000:].decode(errors="replace")
    with open(out_path, "rb") as f:
        piped = f.read()
    assert f"Subject: {subject}".encode() in piped, piped[:500]
    for line in body.splitlines():
        assert line.encode() in piped, (line, piped)
    # Read in mutt: \Seen in the Maildir file name.
    wait_until(lambda: "S" in maildir_flags(find_in_maildir(suite, "demo", subject) or ""),
               10, what="the \\Seen flag in the Maildir")
    # The others were not touched.
    for i in range(3):
        assert "S" not in maildir_flags(find_in_maildir(suite, "demo", f"filled message {i}"))


def test_mutt_imaps():
    with imap_suite() as suite:
        check_read(suite, starttls=False)


def test_mutt_starttls():
    with imap_suite() as suite:
        check_read(suite, starttls=True)


if __name__ == "__main__":
    postern_harness.run_tests([test_mutt_imaps, test_mutt_starttls])
