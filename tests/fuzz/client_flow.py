#!/usr/bin/env python3
"""Runs examples/client.py's whole flow against the worker under `wrangler dev`, mailed links included.

    client_flow.py BASE_URL     (run by tests/fuzz/run.sh; LOCAL_WORKER_LOG names wrangler dev's log)

The mails are read the way a developer reads them under `make dev`: the `send_email` binding's local
simulation logs "send_email binding called with MessageBuilder:" followed by From/To/Subject lines
and "Text: <path>" / "HTML: <path>" lines naming the files it wrote; the plain text is read from
the Text file. The client itself knows nothing of this: it gets `read_mail(to, subject)`.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

import client  # noqa: E402  (examples/client.py)

MARKER = "send_email binding called with MessageBuilder:"
FIELD = re.compile(r"^(From|To|Subject|Text|HTML): (.*)$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def logged_mails(log_text: str) -> list[dict[str, str]]:
    """Every mail the log describes so far, oldest first, as its fields (To, Subject, Text: a path…).
    A description still being written (no Text line yet) ends the list: it is read on a later look."""
    lines = ANSI.sub("", log_text).splitlines()
    mails = []
    for i, line in enumerate(lines):
        if MARKER not in line:
            continue
        fields: dict[str, str] = {}
        for following in lines[i + 1 :]:
            found = FIELD.match(following.strip())
            if found:
                fields.setdefault(found[1], found[2].strip())
            elif following.strip():
                break
        if "Text" not in fields:
            break
        mails.append(fields)
    return mails


class WranglerDevMailbox:
    """`read_mail(to, subject)` over wrangler dev's log: each mail is handed out once, oldest first."""

    def __init__(self, log_path: str, timeout: float = 10.0):
        self.log_path = Path(log_path)
        self.timeout = timeout
        self.taken: set[int] = set()

    def __call__(self, to: str, subject: str) -> str:
        deadline = time.monotonic() + self.timeout  # mails go out after the response: wait for them
        while True:
            mails = logged_mails(self.log_path.read_text(encoding="utf-8", errors="replace"))
            for index, mail in enumerate(mails):
                if index not in self.taken and mail.get("To") == to and subject in mail.get("Subject", ""):
                    self.taken.add(index)
                    return Path(mail["Text"]).read_text(encoding="utf-8")
            if time.monotonic() > deadline:
                seen = [(m.get("To"), m.get("Subject")) for m in mails]
                raise AssertionError(f"no mail to {to} about {subject!r} within {self.timeout} s; logged: {seen}")
            time.sleep(0.1)


def main() -> int:
    base_url = sys.argv[1]
    return client.report_flow(base_url, read_mail=WranglerDevMailbox(os.environ["LOCAL_WORKER_LOG"]))


if __name__ == "__main__":
    sys.exit(main())
