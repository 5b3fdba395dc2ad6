"""Lookup tables (transport_maps, smtp_sasl_password_maps, smtpd_sender_login_maps) compiled by
postern-master into LMDB under $data_directory/maps/: built at start (an empty table for an empty
parameter), rebuilt on SIGHUP, a broken table refuses the start with file:line and keeps the old
table at reload, and a password never reaches the log. The LMDB contents are read with mdb_dump
(lmdb-utils), a reader independent of our code. Runs the real suite on loopback."""
import os
import pwd
import shutil
import subprocess

from postern_harness import Suite, run_tests, wait_until

SECRET = "re_TopSecretApiKey42"


def table_entries(suite, parameter):
    """{key: value} of the compiled table, read with mdb_dump -p (printable)."""
    result = subprocess.run(["mdb_dump", "-p", "-s", "entries",
                             os.path.join(suite.data, "maps", parameter)],
                            capture_output=True, text=True, timeout=30, check=True)
    lines = result.stdout.splitlines()
    data = lines[lines.index("HEADER=END") + 1:lines.index("DATA=END")]
    assert len(data) % 2 == 0, data
    return {data[i][1:]: data[i + 1][1:] for i in range(0, len(data), 2)}


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def tables_suite(transport_text, start=True):
    suite = Suite(start=False)
    write(os.path.join(suite.etc, "transport"), transport_text)
    write(os.path.join(suite.etc, "sasl_passwd"), f"[smtp.resend.com]:587 resend:{SECRET}\n")
    suite.write_main_cf(f"transport_maps = hash:{suite.etc}/transport\n"
                        f"smtp_sasl_password_maps = lmdb:{suite.etc}/sasl_passwd\n")
    if start:
        suite.start()
    return suite


def test_tables_built_at_start_and_rebuilt_on_sighup():
    with tables_suite("# routes\nA.Example relay:[one.example]:25\n") as suite:
        assert table_entries(suite, "transport_maps") == {"a.example": "relay:[one.example]:25"}
        assert table_entries(suite, "smtp_sasl_password_maps") == {
            "[smtp.resend.com]:587": f"resend:{SECRET}"}
        assert table_entries(suite, "smtpd_sender_login_maps") == {}
        if os.geteuid() == 0:
            owner = pwd.getpwnam(suite.mail_owner).pw_uid
            folder = os.path.join(suite.data, "maps", "transport_maps")
            for path in (folder, os.path.join(folder, "data.mdb")):
                assert os.stat(path).st_uid == owner, path

        write(os.path.join(suite.etc, "transport"),
              "a.example relay:[one.example]:25\nb.example\n  relay:[two.example]:2525\n")
        suite.reload()
        wait_until(lambda: "b.example" in table_entries(suite, "transport_maps"), 20,
                   what="transport_maps rebuilt after SIGHUP")
        assert table_entries(suite, "transport_maps")["b.example"] == "relay:[two.example]:2525"
        assert SECRET not in suite.log()


def test_broken_table_at_sighup_keeps_the_old_one():
    with tables_suite("a.example relay:[one.example]:25\n") as suite:
        path = os.path.join(suite.etc, "transport")
        write(path, "c.example relay:[three.example]\nno-value-here\n")
        failures = suite.log().count("reload failed")
        suite.reload()
        wait_until(lambda: suite.log().count("reload failed") > failures, 20,
                   what="reload failure for the broken table")
        last = [line for line in suite.log().splitlines() if "reload failed" in line][-1]
        assert f"{path}:2:" in last, last
        assert table_entries(suite, "transport_maps") == {"a.example": "relay:[one.example]:25"}
        assert suite.process.poll() is None

        # An unsupported type is refused the same way.
        suite.write_main_cf("transport_maps = mysql:/etc/postern/mysql-transport.cf\n")
        failures = suite.log().count("reload failed")
        suite.reload()
        wait_until(lambda: suite.log().count("reload failed") > failures, 20,
                   what="reload failure for mysql:")
        assert "mysql" in [line for line in suite.log().splitlines()
                           if "reload failed" in line][-1]
        assert table_entries(suite, "transport_maps") == {"a.example": "relay:[one.example]:25"}
        assert suite.process.poll() is None
        assert SECRET not in suite.log()


def test_broken_table_at_start_names_file_and_line():
    with tables_suite("a.example relay:[one.example]:25\n\n  \n# c\nbroken\n",
                      start=False) as suite:
        result = subprocess.run(suite.master_command(), capture_output=True, text=True,
                                timeout=30)
        assert result.returncode != 0, result
        assert os.path.join(suite.etc, "transport") + ":5:" in result.stderr, result.stderr
        assert not os.path.exists(os.path.join(suite.data, "maps", "transport_maps"))


def test_readable_password_table_is_warned_about_without_the_secret():
    with tables_suite("a.example relay:[one.example]:25\n", start=False) as suite:
        os.chmod(os.path.join(suite.etc, "sasl_passwd"), 0o644)
        suite.start()
        wait_until(lambda: "readable by group or others" in suite.log(), 20,
                   what="the permission warning")
        assert SECRET not in suite.log()


if __name__ == "__main__":
    if shutil.which("mdb_dump") is None:
        raise SystemExit("mdb_dump (lmdb-utils) is needed to read the compiled tables")
    run_tests([test_tables_built_at_start_and_rebuilt_on_sighup,
               test_broken_table_at_sighup_keeps_the_old_one,
               test_broken_table_at_start_names_file_and_line,
               test_readable_password_table_is_warned_about_without_the_secret])
