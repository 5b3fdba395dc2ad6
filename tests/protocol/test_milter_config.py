"""The milter lists as an admin writes them (issue 12): submission's milters given the Postfix
way, `-o smtpd_milters=...` on the submission services in master.cf, while port 25 keeps its
own (here none); and a milter list with a mistake stops the daemon with a line that names it,
instead of running unfiltered.
"""
import os
import smtplib
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from postern_harness import Suite, free_port, run_tests, skip_test, wait_until  # noqa: E402
from submission_support import starttls_client, submission_suite, wait_for_subject  # noqa: E402
from test_milter import TestMilter, test_milter_unavailable_reason  # noqa: E402
from test_log_pflogsumm import PFLOGSUMM, grand_totals  # noqa: E402

DEMO = "demo@example.test"


def message(subject):
    return (f"From: <{DEMO}>\r\nTo: <{DEMO}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@example.test>\r\n\r\nbody\r\n")


def test_submission_milters_from_master_cf_override():
    with TestMilter("add-header:X-Milter-Seen:yes") as milter:
        suite = submission_suite(start=False)
        with suite:
            services = suite.default_services()
            services = [line + f" -o smtpd_milters={milter.spec}" if " submission" in line
                        else line for line in services]
            suite.write_master_cf(services)
            suite.start()
            suite.wait_for_port(suite.submission_port)
            with starttls_client(suite, login=DEMO) as client:
                client.sendmail(DEMO, [DEMO], message("submitted"))
            submitted = wait_for_subject(suite, DEMO, "submitted")
            assert submitted.get_all("X-Milter-Seen") == ["yes"], submitted.as_string()[:2000]
            with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=20) as client:
                client.sendmail("someone@client.example", [DEMO], message("port25"))
            inbound = wait_for_subject(suite, DEMO, "port25")
            assert inbound.get_all("X-Milter-Seen") is None, "port 25 has no milters here"
            # The milter saw the login ({auth_type}, {auth_authen}) with MAIL FROM.
            envfrom = [e for e in milter.events("envfrom")]
            assert any(e["macros"].get("{auth_authen}") == DEMO and
                       e["macros"].get("{auth_type}") in ("PLAIN", "LOGIN") for e in envfrom), \
                envfrom


def test_pflogsumm_counts_milter_outcomes():
    """A rejected, a discarded and a held message, each by its own milter on its own smtpd
    line, counted by pflogsumm as Postfix's (the end-of-message lines carry cleanup's tag)."""
    reject, discard, hold = (TestMilter("reject-eom"), TestMilter("discard-eom"),
                             TestMilter("quarantine:pflogsumm"))
    with reject, discard, hold:
        suite = Suite(start=False)
        with suite:
            ports = [suite.smtp_port, free_port(), free_port()]
            services = suite.default_services()
            services[0:1] = [f"127.0.0.1:{port} inet n - n - - smtpd -o smtpd_milters={m.spec}"
                             for port, m in zip(ports, (reject, discard, hold))]
            suite.write_master_cf(services)
            suite.start()
            for port in ports:
                suite.wait_for_port(port)
                with smtplib.SMTP("127.0.0.1", port, timeout=20) as client:
                    client.ehlo("client.example")
                    client.mail("someone@client.example")
                    client.rcpt(DEMO)
                    client.data(message(f"via-{port}"))
            wait_until(lambda: "milter-hold: END-OF-MESSAGE" in suite.log(), 20,
                       what="the milter-hold line")
            report = subprocess.run([PFLOGSUMM, "--syslog-name=postern", suite.log_path],
                                    capture_output=True, text=True, timeout=60).stdout
            totals, section = grand_totals(report)
            assert (totals["rejected"], totals["discarded"], totals["held"]) == (1, 1, 1), section


def test_unknown_command_reaches_the_milter():
    """SMFIC_UNKNOWN: a command smtpd does not know is shown to the milter, then answered 500."""
    with TestMilter() as milter, Suite(main_cf_extra=f"smtpd_milters = {milter.spec}\n") as suite:
        with smtplib.SMTP("127.0.0.1", suite.smtp_port, timeout=20) as client:
            client.ehlo("client.example")
            code, _ = client.docmd("XFROBNICATE now")
            assert code == 500, code
        seen = milter.wait_for_event("unknown")
        assert seen[0].get("command", "").startswith("XFROBNICATE"), seen


def test_a_bad_milter_list_stops_smtpd_with_its_reason():
    with Suite(main_cf_extra="smtpd_milters = { inet:127.0.0.1:11332, bogus_setting=1 }\n",
               start=False) as suite:
        suite.start(wait=False)
        wait_until(lambda: "unknown milter setting bogus_setting" in suite.log(), 20,
                   what="smtpd's fatal line naming the setting")


if __name__ == "__main__":
    reason = test_milter_unavailable_reason()
    if reason:
        skip_test(reason)
    run_tests([test_submission_milters_from_master_cf_override,
               test_pflogsumm_counts_milter_outcomes,
               test_unknown_command_reaches_the_milter,
               test_a_bad_milter_list_stops_smtpd_with_its_reason])
