"""IMAP backend: unread-spam ZAPs per second with pooled connections, beside one login per operation.

    .venv/bin/python bench/imap.py [--messages 300] [--users 4] [--runs 3] [--no-write]

Against a real Dovecot (the tests' helper, tests/delivery/dovecot_server.py: master login, Maildir,
loopback), the same work is timed twice in the same run:

1. baseline: ``ImapBackend(pool_size=0)``, the behaviour before connection reuse: every operation
   connects, logs in as ``user*master``, works, logs out;
2. pooled: ``ImapBackend()`` (default pool of 16 users), connections kept logged in between operations.

One ZAP is what an unread-spam verdict costs the mailbox: locate the copy (SELECT, UID SEARCH HEADER,
UID FETCH FLAGS), then move it (CREATE, SELECT, UID MOVE, SELECT, UID SEARCH) to Junk; the next run moves
each copy back to the Inbox. The messages are spread round-robin over the users, as a vendor batch's
verdicts are. Each variant runs --runs times (alternating), and the fastest run counts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.delivery.dovecot_server import MASTER, MASTER_PASSWORD, Dovecot, start_dovecot

from bench.common import write_result
from ramparts.delivery.imap import ImapBackend, ImapSettings
from ramparts.delivery.mailbox import Folder

RAW = (
    b"From: promo@bulk.example\r\nTo: user@contoso.example\r\nSubject: Cheap watches\r\n"
    b"Message-ID: <bench@bulk.example>\r\n\r\n" + b"Buy now. " * 200 + b"\r\n"
)


def _backend(server: Dovecot, pool_size: int) -> ImapBackend:
    settings = ImapSettings("127.0.0.1", server.port, tls="none", master_user=MASTER, master_password=MASTER_PASSWORD)
    return ImapBackend(settings, pool_size=pool_size)


def _zap_all(box: ImapBackend, copies: list[tuple[str, str]], refs: dict[str, str], target: Folder) -> None:
    for recipient, nmid in copies:
        located = box.locate(recipient, nmid, ref=refs[nmid])
        if located is None or located.read:
            raise RuntimeError(f"{nmid} of {recipient} is not an unread copy")
        moved = box.move(recipient, nmid, target, ref=located.ref)
        if moved is None or moved.folder is not target:
            raise RuntimeError(f"{nmid} of {recipient} was not moved to {target}")
        refs[nmid] = moved.ref


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; do not write bench/results/imap.json")
    args = parser.parse_args()

    users = [f"user{i}@contoso.example" for i in range(args.users)]
    copies = [(users[i % len(users)], f"bench-{i}") for i in range(args.messages)]
    server = start_dovecot(users)
    try:
        setup = _backend(server, 16)
        refs = {nmid: setup.deliver(user, nmid, RAW, Folder.INBOX) for user, nmid in copies}
        setup.close()
        variants = {"baseline": 0, "pooled": 16}
        timings: dict[str, list[float]] = {name: [] for name in variants}
        logins: dict[str, int] = {}
        target = Folder.JUNK
        for _ in range(args.runs):
            for name, pool_size in variants.items():
                box = _backend(server, pool_size)
                started = time.perf_counter()
                _zap_all(box, copies, refs, target)
                timings[name].append(time.perf_counter() - started)
                logins[name] = box.logins
                box.close()
                target = Folder.INBOX if target is Folder.JUNK else Folder.JUNK
    finally:
        server.stop()

    results: dict[str, Any] = {}
    for name in variants:
        best = min(timings[name])
        results[name] = {
            "zaps_per_s": args.messages / best,
            "ms_per_zap": best * 1000 / args.messages,
            "logins_per_run": logins[name],
            "seconds": timings[name],
        }
    ratio = results["pooled"]["zaps_per_s"] / results["baseline"]["zaps_per_s"]
    print(f"{args.messages} unread-spam ZAPs (locate + move) over {args.users} users, Dovecot on loopback")
    for name, label in (("baseline", "one login per operation"), ("pooled", "pooled connections     ")):
        r = results[name]
        print(
            f"{label}: {r['zaps_per_s']:7.0f} ZAP/s, {r['ms_per_zap']:.2f} ms/ZAP, {r['logins_per_run']} logins per run"
        )
    print(f"ratio vs baseline      : {ratio:7.2f} x")
    if not args.no_write:
        path = write_result(
            "imap",
            {
                "messages": args.messages,
                "users": args.users,
                "runs": args.runs,
                **results,
                "ratio_vs_baseline": ratio,
            },
        )
        print(f"written: {path}")


if __name__ == "__main__":
    main()
