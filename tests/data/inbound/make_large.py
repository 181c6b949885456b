#!/usr/bin/env python3
"""Regenerate the large/pathological inbound test messages (34-37).

Deterministic: running it again produces byte-identical files.
Usage:  python tests/data/inbound/make_large.py
Only the outputs are meant to be committed (each is well under 1 MB).
All names, addresses and domains are fictional (example.org/.net/.com).
"""

import random
from pathlib import Path

HERE = Path(__file__).resolve().parent


def huge_subject() -> bytes:
    # 34: a ~200 KB Subject header, folded into 76-column continuation lines
    words = ("Re: Appeal: end the blockade of the Lachin corridor " * 4000)[:200_000]
    folded, line = [], "Subject:"
    for w in words.split(" "):
        if len(line) + 1 + len(w) > 76:
            folded.append(line)
            line = " " + w
        else:
            line += " " + w
    folded.append(line)
    head = [
        "Return-Path: <noreply@bulk.example.com>",
        "Received: from bulk.example.com (bulk.example.com [198.51.100.222])",
        "\tby mail.outreach.example.org (Postfix) with ESMTP id 4PfL0n2Z1xz1ySM",
        "\tfor <appeal@outreach.example.org>; Wed, 22 Mar 2023 03:14:15 +0100 (CET)",
        "From: noreply@bulk.example.com",
        "To: appeal@outreach.example.org",
        "Date: Wed, 22 Mar 2023 02:14:15 +0000",
        "Message-ID: <huge-subject-0001@bulk.example.com>",
        *folded,
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
    ]
    return ("\r\n".join(head) + "\r\n\r\nHello.\r\n").encode()


def many_received() -> bytes:
    # 35: a mail loop between two relays, 5,000 Received headers
    lines = []
    for i in range(5000, 0, -1):
        a, b = (
            ("relay-a.example.net", "relay-b.example.net")
            if i % 2
            else ("relay-b.example.net", "relay-a.example.net")
        )
        lines.append(
            f"Received: from {a} ([198.51.100.{i % 250 + 1}]) by {b} with ESMTP id LOOP{i:05d};\n\tThu, 23 Mar 2023 04:{i % 60:02d}:{(i * 7) % 60:02d} +0100"
        )
    head = [
        *lines,
        "From: Relay Loop <nobody@relay-a.example.net>",
        "To: appeal@outreach.example.org",
        "Subject: Re: Appeal: end the blockade of the Lachin corridor",
        "Date: Thu, 23 Mar 2023 03:00:00 +0000",
        "Message-ID: <loop-0001@relay-a.example.net>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
    ]
    return ("\n".join(head) + "\n\nThis message looped between two relays.\n").encode()


def garbage() -> bytes:
    # 36: no header block at all, just binary noise (with NULs and stray CR/LF)
    rnd = random.Random(20230307)
    return bytes(rnd.randrange(256) for _ in range(4096))


def nested(depth: int = 50) -> bytes:
    # 37: 50 levels of nested multipart/mixed, innermost text/plain
    out = [
        "Return-Path: <sender@example.com>",
        "From: Nested Sender <sender@example.com>",
        "To: appeal@outreach.example.org",
        "Subject: nested",
        "Date: Fri, 24 Mar 2023 10:00:00 +0000",
        "Message-ID: <nested-0050@example.com>",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b00"',
        "",
    ]
    for lvl in range(1, depth):
        out += [f"--b{lvl - 1:02d}", f'Content-Type: multipart/mixed; boundary="b{lvl:02d}"', ""]
    out += [
        f"--b{depth - 1:02d}",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "Innermost part at depth 50.",
        "",
    ]
    for lvl in range(depth - 1, -1, -1):
        out += [f"--b{lvl:02d}--", ""]
    return "\r\n".join(out).encode()


FILES = {
    "34-huge-subject-header.eml": huge_subject,
    "35-5000-received-headers-loop.eml": many_received,
    "36-no-headers-binary-garbage.eml": garbage,
    "37-deeply-nested-multipart-50.eml": nested,
}

if __name__ == "__main__":
    for name, fn in FILES.items():
        data = fn()
        assert len(data) < 1_000_000, (name, len(data))
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")
