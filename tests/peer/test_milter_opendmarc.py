"""Peer test (issue 12): Debian's OpenDMARC behind port 25 (smtpd_milters),
tests/harness/real_milters.py: loopback is not in IgnoreHosts (by default OpenDMARC ignores
127.0.0.1 and adds nothing), its AuthservID is fixed, and its only DNS server is an address
where nothing answers (a private mount namespace's resolv.conf), so the DMARC and SPF lookups
for example.test fail here: the result is none or temperror. What is tested is the MTA's part:
OpenDMARC's Authentication-Results header (authserv-id, then dmarc=... header.from=example.test)
reaches the delivered message, once, with its value intact, where Postfix puts an INSHEADER
at index 0: above the MTA's own Received:.

The same scenario runs against a real Postfix (reference) and Postern: `postfix`, `postern` or
both (default) on the command line. Skipped (77) when OpenDMARC or Postfix cannot run here.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from milter_mta import (MtaUnderTest, header_names, header_values,  # noqa: E402
                        make_message, run_for_each_mta)
from real_milters import OpenDmarc  # noqa: E402


def start_mta(kind, milters):
    (opendmarc,) = milters
    return MtaUnderTest(kind, smtpd_milters=opendmarc.spec)


def port_25_gets_authentication_results(mta, milters):
    (opendmarc,) = milters
    subject = "opendmarc port 25"
    code, text = mta.send(make_message(subject))
    assert code == 250, (code, text)
    message = mta.wait_for_subject(subject)
    results = [value for value in header_values(message, "Authentication-Results")
               if value.startswith(opendmarc.authserv_id + ";")]
    dmarc = [value for value in results if "dmarc=" in value]
    assert len(dmarc) == 1, header_values(message, "Authentication-Results")
    assert re.search(r"\bdmarc=(none|temperror|fail)\b", dmarc[0]), dmarc
    assert "header.from=example.test" in dmarc[0], dmarc
    # OpenDMARC inserts each result at index 0 (INSHEADER), SPF first, then DMARC: each insert
    # goes on top, so DMARC's ends above SPF's, and (as Postfix places them: its own
    # Received: is not shown to milters) both above the MTA's Received:.
    names = [name.lower() for name in header_names(message)]
    received = names.index("received")
    ours = [i for i, name in enumerate(names) if name == "authentication-results"]
    assert ours and max(ours) < received, names
    order = [v.split(";", 1)[1].split("=", 1)[0].strip() for v in results]
    assert order[:2] == ["dmarc", "spf"] or order == ["dmarc"], results


if __name__ == "__main__":
    run_for_each_mta([OpenDmarc], [port_25_gets_authentication_results], start_mta)
