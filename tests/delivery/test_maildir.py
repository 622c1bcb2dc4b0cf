from __future__ import annotations

import os
from pathlib import Path

from ramparts.delivery.mailbox import Folder
from ramparts.delivery.maildir import MaildirBackend

RAW = b"From: a@example.com\r\nTo: b@contoso.com\r\nSubject: hi\r\n\r\nbody\r\n"


def test_deliver_is_idempotent_per_copy(tmp_path: Path) -> None:
    box = MaildirBackend(tmp_path)
    first = box.deliver("Bob@Contoso.com", "nmid-1", RAW, Folder.INBOX)
    again = box.deliver("bob@contoso.com", "nmid-1", RAW, Folder.INBOX)
    assert first == again
    files = list((tmp_path / "bob@contoso.com" / "new").iterdir())
    assert len(files) == 1
    assert files[0].read_bytes() == RAW
    other = box.deliver("bob@contoso.com", "nmid-2", RAW, Folder.JUNK)
    assert other.startswith("bob@contoso.com/.Junk/new/")


def test_deliver_after_user_read_the_copy_does_not_duplicate(tmp_path: Path) -> None:
    box = MaildirBackend(tmp_path)
    ref = box.deliver("bob@contoso.com", "nmid-1", RAW, Folder.INBOX)
    path = tmp_path / ref
    read = path.parent.parent / "cur" / (path.name + ":2,S")
    os.replace(path, read)
    box.deliver("bob@contoso.com", "nmid-1", RAW, Folder.INBOX)
    assert not list((tmp_path / "bob@contoso.com" / "new").iterdir())
    located = box.locate("bob@contoso.com", "nmid-1")
    assert located is not None and located.read and located.folder is Folder.INBOX


def test_move_remove_and_locate(tmp_path: Path) -> None:
    box = MaildirBackend(tmp_path)
    box.deliver("bob@contoso.com", "nmid-1", RAW, Folder.INBOX)
    moved = box.move("bob@contoso.com", "nmid-1", Folder.JUNK)
    assert moved is not None and moved.folder is Folder.JUNK and not moved.read
    assert (tmp_path / moved.ref).read_bytes() == RAW
    assert box.remove("bob@contoso.com", "nmid-1") is True
    assert box.locate("bob@contoso.com", "nmid-1") is None
    assert box.move("bob@contoso.com", "nmid-1", Folder.INBOX) is None
    assert box.empty_trash() == 1
    assert box.remove("bob@contoso.com", "nmid-1") is False


def test_hostile_recipient_names_stay_inside_the_root(tmp_path: Path) -> None:
    box = MaildirBackend(tmp_path)
    ref = box.deliver("../../etc/passwd@x.com", "n", RAW, Folder.INBOX)
    assert (tmp_path / ref).resolve().is_relative_to(tmp_path.resolve())


def test_locate_goes_to_the_stored_ref_first_whatever_flags_renamed_it(tmp_path: Path) -> None:
    box = MaildirBackend(tmp_path)
    box.deliver("bob@contoso.com", "nmid-1", RAW, Folder.INBOX)
    moved = box.move("bob@contoso.com", "nmid-1", Folder.JUNK)
    assert moved is not None
    junk = tmp_path / moved.ref
    flagged = junk.parent.parent / "cur" / (junk.name + ":2,FS")  # a client read and flagged it
    os.replace(junk, flagged)
    # a stray file with the same key in the Inbox: a scan (Inbox first) would find it, the ref does not
    stray = tmp_path / "bob@contoso.com" / "new" / junk.name.replace(".", "_", 1)
    stray.write_bytes(RAW)
    located = box.locate("bob@contoso.com", "nmid-1", ref=moved.ref)
    assert located is not None and located.folder is Folder.JUNK and located.read
    assert located.ref == str(flagged.relative_to(tmp_path))
    assert box.locate("bob@contoso.com", "nmid-1").folder is Folder.INBOX  # type: ignore[union-attr]


def test_a_copy_the_user_moved_elsewhere_is_found_by_scanning(tmp_path: Path) -> None:
    box = MaildirBackend(tmp_path)
    ref = box.deliver("bob@contoso.com", "nmid-1", RAW, Folder.INBOX)
    path = tmp_path / ref
    deleted = tmp_path / "bob@contoso.com" / ".Deleted Items" / "cur"
    deleted.mkdir(parents=True)
    os.replace(path, deleted / (path.name + ":2,S"))
    located = box.locate("bob@contoso.com", "nmid-1", ref=ref)
    assert located is not None and located.folder is Folder.DELETED and located.read
    assert box.remove("bob@contoso.com", "nmid-1", ref=ref) is True
    assert box.locate("bob@contoso.com", "nmid-1", ref=ref) is None


def test_a_ref_that_is_not_this_recipients_file_falls_back_to_the_scan(tmp_path: Path) -> None:
    box = MaildirBackend(tmp_path)
    ref = box.deliver("bob@contoso.com", "nmid-1", RAW, Folder.JUNK)
    other = box.deliver("eve@contoso.com", "nmid-1", RAW, Folder.INBOX)
    name = os.path.basename(ref)
    for wrong in (
        name,  # no directories
        f"bob@contoso.com/.Unknown/new/{name}",  # no such folder
        f"bob@contoso.com/.Junk/tmp/{name}",  # not a delivered file
        other,  # another mailbox's file (its key differs: the recipient digest)
        f"eve@contoso.com/.Junk/new/{name}",  # the right name under another mailbox
    ):
        located = box.locate("bob@contoso.com", "nmid-1", ref=wrong)
        assert located is not None and located.folder is Folder.JUNK and located.ref == ref, wrong


def test_removing_again_after_an_uncommitted_removal_finds_the_copy_in_the_trash(tmp_path: Path) -> None:
    """A crash between the rename into the trash and the commit: the batch is applied again."""
    box = MaildirBackend(tmp_path)
    ref = box.deliver("bob@contoso.com", "nmid-1", RAW, Folder.INBOX)
    assert box.remove("bob@contoso.com", "nmid-1", ref=ref) is True
    assert box.remove("bob@contoso.com", "nmid-1", ref=ref) is True
    assert box.remove("bob@contoso.com", "nmid-1") is True  # without the ref: found by its key
    assert box.remove("bob@contoso.com", "nmid-2", ref=ref.replace("nmid-1", "nmid-2")) is False
    assert box.empty_trash() == 1
    assert box.remove("bob@contoso.com", "nmid-1", ref=ref) is False
