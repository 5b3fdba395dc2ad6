"""`postern map build|query` (postmap's jobs) against a running suite (postern(8)).

- `map build` of the transport table while the suite runs: the LMDB table master reads is
  rebuilt (read back with mdb_dump, a reader independent of our code) and qmgr uses it at once,
  without a reload: mail for a domain the new table sends to `error:` bounces with its text.
- `map query` by file (texthash:, hash:, lmdb:) and by parameter, on the transport table and a
  smtp_sasl_password_maps table: the value on stdout; a key that is not there: exit 3, nothing
  on stdout. `map query alias_maps root` answers from the suite's aliases(5) file.
- a broken line: `map build` and `map query` say file:line and exit 5, and the built table is
  left as it was; usage errors exit 2; `map build` as nobody exits 6.
"""
import os
import pwd
import smtplib
import subprocess
import tempfile
import uuid

from postern_harness import BIN_DIR, Suite, free_port, run_tests, wait_until

POSTERN = os.path.join(BIN_DIR, "postern")
SECRET = "re_MapQuerySecret77"
SENDER = "demo@example.test"


def cli(suite, *args, user=None):
    command = [POSTERN, "-c", suite.etc, *args]
    if user:
        command = ["setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}",
                   "--clear-groups", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def table_entries(suite, parameter):
    result = subprocess.run(["mdb_dump", "-p", "-s", "entries",
                             os.path.join(suite.data, "maps", parameter)],
                            capture_output=True, text=True, timeout=30, check=True)
    lines = result.stdout.splitlines()
    data = lines[lines.index("HEADER=END") + 1:lines.index("DATA=END")]
    return {data[i][1:]: data[i + 1][1:] for i in range(0, len(data), 2)}


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def map_suite():
    suite = Suite(start=False)
    suite.transport = os.path.join(suite.etc, "transport")
    suite.sasl = os.path.join(suite.etc, "sasl_passwd")
    write(suite.transport, "# nothing yet\n")
    write(suite.sasl, f"[smtp.resend.com]:587  resend:{SECRET}\n")
    suite.write_main_cf(f"mynetworks = 127.0.0.0/8\nrelayhost = [127.0.0.1]:{free_port()}\n"
                        f"transport_maps = texthash:{suite.transport}\n"
                        f"smtp_sasl_password_maps = lmdb:{suite.sasl}\n")
    suite.write_aliases("postmaster: root\nroot: alice, bob@example.test\n")
    suite.start()
    return suite


def send(suite, rcpt, token):
    body = f"From: <{SENDER}>\r\nTo: {rcpt}\r\nSubject: {token}\r\n\r\nbody {token}\r\n"
    with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=30) as client:
        client.ehlo("client.example.test")
        client.sendmail(SENDER, [rcpt], body)


def test_build_then_query_while_running():
    with map_suite() as suite:
        assert table_entries(suite, "transport_maps") == {}
        write(suite.transport, "# routes\nBlocked.Example  error:5.7.1 we do not send there\n"
                               "user@other.example\n  relay:[mx.other.example]:2525\n")
        built = cli(suite, "map", "build", suite.transport)
        assert built.returncode == 0, built
        assert "transport_maps: 2 entries built" in built.stdout, built.stdout
        assert table_entries(suite, "transport_maps") == {
            "blocked.example": "error:5.7.1 we do not send there",
            "user@other.example": "relay:[mx.other.example]:2525"}
        if os.geteuid() == 0:
            folder = os.path.join(suite.data, "maps", "transport_maps", "data.mdb")
            assert os.stat(folder).st_uid == pwd.getpwnam(suite.mail_owner).pw_uid

        # No reload: qmgr reads the rebuilt table at once.
        token = uuid.uuid4().hex
        send(suite, "x@blocked.example", token)

        def bounce():
            for path in suite.messages(SENDER):
                with open(path, "rb") as f:
                    text = f.read().decode(errors="replace")
                if token in text and "we do not send there" in text:
                    return text
            return None
        text = wait_until(bounce, 30, 0.05, "the bounce made from the table's error text")
        assert "Final-Recipient: rfc822; x@blocked.example" in text, text

        for table in (f"texthash:{suite.transport}", f"hash:{suite.transport}",
                      f"lmdb:{suite.transport}", suite.transport, "transport_maps"):
            done = cli(suite, "map", "query", table, "BLOCKED.example")
            assert done.returncode == 0, (table, done)
            assert done.stdout == "error:5.7.1 we do not send there\n", (table, done.stdout)
        done = cli(suite, "map", "query", "transport_maps", "user@other.example")
        assert done.stdout == "relay:[mx.other.example]:2525\n", done
        # An exact key only, as postmap -q: no fallback from the address to its domain.
        missing = cli(suite, "map", "query", "transport_maps", "someone@blocked.example")
        assert missing.returncode == 3 and missing.stdout == "", missing

        for table in (f"hash:{suite.sasl}", "smtp_sasl_password_maps"):
            done = cli(suite, "map", "query", table, "[smtp.resend.com]:587")
            assert done.returncode == 0 and done.stdout == f"resend:{SECRET}\n", (table, done)
        missing = cli(suite, "map", "query", "smtp_sasl_password_maps", "[smtp.other.com]:587")
        assert missing.returncode == 3 and SECRET not in missing.stdout + missing.stderr
        built = cli(suite, "map", "build", f"lmdb:{suite.sasl}")
        assert built.returncode == 0 and SECRET not in built.stdout + built.stderr, built
        assert table_entries(suite, "smtp_sasl_password_maps") == {
            "[smtp.resend.com]:587": f"resend:{SECRET}"}

        root = cli(suite, "map", "query", "alias_maps", "Root")
        assert root.returncode == 0, root
        assert "alice" in root.stdout and "bob@example.test" in root.stdout, root.stdout
        assert cli(suite, "map", "query", "alias_maps", "postmaster").stdout.strip() == "root"
        assert cli(suite, "map", "query", "alias_maps", "nobody-here").returncode == 3
        assert SECRET not in suite.log()


def test_errors_and_exit_statuses():
    with map_suite() as suite:
        write(suite.transport, "a.example relay:[one.example]:25\n")
        assert cli(suite, "map", "build", suite.transport).returncode == 0
        write(suite.transport, "a.example relay:[one.example]:25\n\n  \nno-value-here\n")
        broken = cli(suite, "map", "build", suite.transport)
        assert broken.returncode == 5, broken
        assert f"{suite.transport}:4:" in broken.stderr, broken.stderr
        assert table_entries(suite, "transport_maps") == {"a.example": "relay:[one.example]:25"}
        query = cli(suite, "map", "query", "transport_maps", "a.example")
        assert query.returncode == 5 and f"{suite.transport}:4:" in query.stderr, query
        write(suite.transport, "   continued before any key\n")
        broken = cli(suite, "map", "build", suite.transport)
        assert broken.returncode == 5 and f"{suite.transport}:1:" in broken.stderr, broken

        with tempfile.TemporaryDirectory() as folder:
            loose = os.path.join(folder, "table")
            write(loose, "k1 v1\nk2 v2\n")
            done = cli(suite, "map", "build", loose)
            assert done.returncode == 0 and "nothing was built" in done.stdout, done
            write(loose, "k1 v1\nk2\n")
            done = cli(suite, "map", "build", loose)
            assert done.returncode == 5 and f"{loose}:2:" in done.stderr, done
            assert cli(suite, "map", "build", os.path.join(folder, "absent")).returncode == 1

        for args in (["map"], ["map", "query"], ["map", "query", "transport_maps"],
                     ["map", "query", "mysql:/etc/x.cf", "k"], ["map", "query", "nonsense", "k"],
                     ["map", "frob"], ["map", "build"], ["map", "build", "a", "b"],
                     ["map", "query", "transport_maps", "k", "--json"]):
            done = cli(suite, *args)
            assert done.returncode == 2, (args, done)
        if os.geteuid() == 0:
            write(suite.transport, "a.example relay:[one.example]:25\n")
            denied = cli(suite, "map", "build", suite.transport, user="nobody")
            assert denied.returncode == 6, denied


if __name__ == "__main__":
    run_tests([test_build_then_query_while_running, test_errors_and_exit_statuses])
