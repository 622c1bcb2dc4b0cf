from __future__ import annotations

import mailbox
from pathlib import Path

import pytest

from ramparts.errors import InvalidInput
from ramparts.mailflow.sources import count_messages, iter_sources

RAW = (
    b"Return-Path: <bounce@partner.example>\r\nFrom: a@partner.example\r\nTo: Megan <megan@contoso.com>\r\n"
    b"Cc: alex@contoso.com\r\nSubject: s\r\n\r\nbody\r\n"
)


def test_eml_file_gives_an_envelope_from_headers(tmp_path: Path) -> None:
    (tmp_path / "one.eml").write_bytes(RAW)
    [message] = list(iter_sources([tmp_path / "one.eml"]))
    assert message.mail_from == "bounce@partner.example"
    assert message.rcpt_tos == ("megan@contoso.com", "alex@contoso.com")
    assert message.raw == RAW
    delivered = b"Delivered-To: finance@contoso.com\r\n" + RAW
    (tmp_path / "two.eml").write_bytes(delivered)
    [second] = list(iter_sources([tmp_path / "two.eml"]))
    assert second.rcpt_tos == ("finance@contoso.com",)


def test_mbox_maildir_and_directories(tmp_path: Path) -> None:
    box = mailbox.mbox(tmp_path / "archive.mbox")
    for i in range(3):
        box.add(RAW.replace(b"Subject: s", f"Subject: m{i}\r\nX-Original-To: user{i}@contoso.com".encode()))
    box.close()
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add(RAW)
    maildir.add_folder("Junk").add(RAW)
    maildir.close()
    (tmp_path / "dir" / "sub").mkdir(parents=True)
    (tmp_path / "dir" / "sub" / "x.eml").write_bytes(RAW)
    (tmp_path / "dir" / "README.txt").write_bytes(b"not mail")
    (tmp_path / "dir" / "sub" / "more.mbox").write_bytes((tmp_path / "archive.mbox").read_bytes())
    paths = [tmp_path / "archive.mbox", tmp_path / "Maildir", tmp_path / "dir"]
    messages = list(iter_sources(paths))
    origins = [m.origin for m in messages]
    assert origins[:3] == [f"{tmp_path / 'archive.mbox'}#{i}" for i in (1, 2, 3)]
    assert [m.rcpt_tos for m in messages[:3]] == [(f"user{i}@contoso.com",) for i in range(3)]
    assert b"Subject: m1" in messages[1].raw and not messages[1].raw.startswith(b"From ")
    assert sum("Maildir" in o for o in origins) == 2
    assert origins[-4:] == [f"{tmp_path / 'dir' / 'sub' / 'more.mbox'}#{i}" for i in (1, 2, 3)] + [
        str(tmp_path / "dir" / "sub" / "x.eml")
    ]
    assert len(messages) == 9
    assert count_messages(paths) == 9
    assert count_messages([tmp_path / "archive.mbox"]) == 3


def test_mbox_without_suffix_is_recognised_by_its_first_line(tmp_path: Path) -> None:
    (tmp_path / "saved").write_bytes(b"From bounce@partner.example Tue May 14 09:30:00 2024\n" + RAW)
    [message] = iter_sources([tmp_path / "saved"])
    assert message.origin.endswith("saved#1")
    assert message.raw.startswith(b"Return-Path:")
    assert message.mail_from == "bounce@partner.example"


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such file"):
        list(iter_sources([tmp_path / "nope.eml"]))


def test_unreadable_file_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "box").mkdir()
    (tmp_path / "box" / "good.eml").write_bytes(RAW)
    (tmp_path / "box" / "gone.eml").symlink_to(tmp_path / "nowhere")
    messages = {Path(m.origin).name: m for m in iter_sources([tmp_path / "box"])}
    assert messages["good.eml"].raw == RAW
    assert messages["gone.eml"].error.startswith("cannot read")
    assert messages["gone.eml"].raw == b""
