"""Peer test: Dovecot imaptest's scripted IMAP tests (../shared/testdata/imaptest-tests/tests,
imaptest main-branch format) run against postern-imapd by our own runner
(tests/harness/imaptest_runner.py). Each script is one subtest.

COVERED scripts exercise what Postern implements (IMAP4rev1 and the extensions it announces);
any failure of one of them fails this test, and so does a covered script skipped because
Postern did not announce a capability it is meant to have. Every other script is run too, for the record, and must be skipped by its capabilities header; docs/imaptest.md lists
them and why. Before the scripts, the runner is shown able to fail: a few scripts with one
expectation made wrong must fail against the same server.

The suite is throwaway: the scripts delete every "imaptest*" folder of demo@example.test and
fill "imaptest" with their messages. With POSTERN_IMAP_REFERENCE=dovecot (tests/harness/
imap_support.py) the same run goes to a throwaway Dovecot instead, to check the test itself.
If the script folder is missing the test FAILS with the reason.
"""
import os
import shutil
import sys
import tempfile

from imap_support import imap_suite, PASSWORD, REFERENCE
import postern_harness
from postern_harness import run_tests
import imaptest_runner
from imaptest_runner import Config, Runner, list_scripts, DEFAULT_TESTS_DIR

TESTS_DIR = os.environ.get("POSTERN_IMAPTEST_DIR") or DEFAULT_TESTS_DIR
USER = "demo@example.test"
TIMEOUT = 10.0   # seconds per wait for the server (imaptest: 30)

# IMAP4rev1 base scripts (no capabilities header) and those for extensions Postern announces.
COVERED = [
    "append", "atoms", "close", "copy", "expunge", "expunge2", "fetch", "fetch-body",
    "fetch-body-message-rfc822", "fetch-body-message-rfc822-mime",
    "fetch-body-message-rfc822-x2", "fetch-body-mime", "fetch-bodystructure",
    "fetch-envelope", "list", "logout", "mutf7", "nil", "pipeline", "pipeline-connections",
    "search-addresses", "search-body", "search-date", "search-flags", "search-header",
    "search-sets", "search-size", "select", "store", "subscribe", "uidvalidity",
    "uidvalidity-rename",
    # extensions
    "esearch",              # ESEARCH
    "esearch-condstore",    # ESEARCH CONDSTORE
    "id",                   # ID
    "listext",              # LIST-EXTENDED
    "move",                 # MOVE
    "uidplus",              # UIDPLUS
    "append-binary", "fetch-binary-mime", "fetch-binary-mime-base64",
    "fetch-binary-mime-qp",  # BINARY
]

# Where Postern differs from Dovecot on purpose, the covered script runs with that expectation
# changed (docs/imaptest.md says why); the rest of the script is run as written. Not applied
# when the run goes to the Dovecot reference.
DEVIATIONS = {
    # A keyword named NIL: Dovecot stores it and answers FLAGS (NIL), which a client's generic
    # parser reads as nothing; Postern refuses it with BAD (issue 10).
    "nil": ("ok store 1 +flags NIL\nok fetch 1 flags\n* 1 fetch (flags (NIL))",
            "bad store 1 +flags NIL\nok fetch 1 flags\n! 1 fetch (flags (NIL))"),
}

# Scripts with one expectation made wrong: the runner must report each as failed.
NEGATIVE = {
    "wrong_exists": ("append", "* 2 exists", "* 3 exists"),
    "wrong_tagged_reply": ("append", "1 no [trycreate]", "1 ok"),
    "missing_flag": ("append", "* 1 fetch (uid $uid1 flags (\\seen \\flagged))",
                     "* 1 fetch (uid $uid1 flags (\\seen))"),
    "banned_reply_present": ("list", "! list () $sep $mailbox${sep}test3${sep}test4\n",
                             "* list () $sep $mailbox${sep}test3${sep}test4\n"),
    "wrong_relative_seq": ("close", "* $3 expunge", "* $4 expunge"),
}


def check_folder():
    if not os.path.isdir(TESTS_DIR):
        postern_harness.skip_test(f"imaptest scripts not found in {TESTS_DIR} "
                                  "(../shared/testdata beside the checkout)")
    names = list_scripts(TESTS_DIR)
    assert len(names) >= 70, f"only {len(names)} scripts in {TESTS_DIR}"
    missing = [n for n in COVERED if n not in names]
    assert not missing, f"covered scripts missing from the folder: {missing}"
    return names


def main():
    names = check_folder()
    results = {}
    with imap_suite() as suite:
        config = Config("127.0.0.1", suite.imaps_port, tls=True, user=USER, password=PASSWORD,
                        timeout=TIMEOUT)
        runner = Runner(config, TESTS_DIR)
        functions = []

        def run_rewritten(script, old, new, label):
            """Runs script with its first `old` replaced by `new`, saved as `label`."""
            folder = tempfile.mkdtemp(prefix="imaptest-rewritten-")
            try:
                with open(os.path.join(TESTS_DIR, script), encoding="latin-1") as f:
                    text = f.read()
                assert old in text, f"{script} no longer contains {old!r}"
                with open(os.path.join(folder, label), "w", encoding="latin-1") as f:
                    f.write(text.replace(old, new, 1))
                # The script's messages: SCRIPT.mbox if it has one, else default.mbox.
                mbox = os.path.join(TESTS_DIR, script + ".mbox")
                if os.path.exists(mbox):
                    shutil.copy(mbox, os.path.join(folder, label + ".mbox"))
                shutil.copy(os.path.join(TESTS_DIR, "default.mbox"), folder)
                return Runner(config, folder).run_one(label)
            finally:
                shutil.rmtree(folder, ignore_errors=True)

        def negative(label, script, old, new):
            def fn():
                result = run_rewritten(script, old, new, label)
                assert result.status == "failed", (
                    f"a wrong expectation was not caught: {result.status} {result.failures}")
            fn.__name__ = "runner_catches_" + label
            return fn

        for label, (script, old, new) in NEGATIVE.items():
            functions.append(negative(label, script, old, new))

        def script_test(name):
            def fn():
                if name in DEVIATIONS and REFERENCE != "dovecot":
                    result = run_rewritten(name, *DEVIATIONS[name], name)
                else:
                    result = runner.run_one(name)
                results[name] = result
                detail = "\n".join(result.failures)
                if name in COVERED:
                    assert result.status == "passed", f"{name}: {result.status}\n{detail}"
                else:
                    # Not claimed: must be skipped by its capabilities header. A pass means
                    # Postern announces the capability: move the script to COVERED.
                    assert result.status in ("skipped", "passed"), \
                        f"{name}: {result.status}\n{detail}"
                    if result.status == "passed":
                        print(f"note: {name} passes; add it to COVERED")
            fn.__name__ = "script_" + name.replace("-", "_")
            return fn

        for name in names:
            functions.append(script_test(name))
        exit_code = 0
        try:
            run_tests(functions)
        except SystemExit as done:   # run_tests exits; the suite is stopped first
            exit_code = done.code
        finally:
            counts = {}
            for r in results.values():
                counts[r.status] = counts.get(r.status, 0) + 1
            server = "Dovecot (reference)" if REFERENCE == "dovecot" else "postern-imapd"
            print(f"imaptest scripts against {server}: " +
                  ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
            for name in names:
                r = results.get(name)
                if r is None:
                    continue
                tag = "covered" if name in COVERED else "not claimed"
                print(f"  {name:34} {r.status:8} {tag}")
    sys.exit(exit_code)


if __name__ == "__main__":
    main()
