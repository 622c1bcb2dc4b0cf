from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from ramparts.mailflow import spool as spool_module
from ramparts.mailflow.message import Envelope
from ramparts.mailflow.spool import Spool, SpoolCorrupt, SpoolEntry, decode_entry, encode_entry
from ramparts.server import SpoolWorker

WHEN = dt.datetime(2024, 5, 1, 9, 30, 12, 345678, tzinfo=dt.UTC)


def envelope(*rcpts: str, nmid: str | None = None) -> Envelope:
    return Envelope(
        mail_from="bounce@partner.example",
        rcpt_tos=rcpts or ("megan@contoso.com",),
        received_at=WHEN,
        network_message_id=nmid or str(uuid.uuid4()),
        peer_ip="203.0.113.9",
        helo="mx.partner.example",
        source="smtp",
    )


RAW = b"From: a@partner.example\r\nSubject: hi\r\n\r\nbody \xe9\r\n"


def test_put_then_load_gives_back_the_envelope_and_the_bytes(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    sent = envelope("megan@contoso.com", "Lidia@Contoso.com")
    entry = spool.put(sent, RAW)
    assert entry.path.parent == tmp_path / "incoming"
    assert entry.attempts == 0
    assert sent.network_message_id in entry.key
    got, raw = spool.load(entry)
    assert got == sent
    assert raw == RAW
    assert list(spool.pending()) == [entry]
    assert list((tmp_path / "tmp").iterdir()) == []


def test_pending_lists_entries_in_arrival_order_and_done_forgets_them(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    entries = [spool.put(envelope(), RAW + str(i).encode()) for i in range(5)]
    entries += spool.put_many([(envelope(), RAW + b"x"), (envelope(), RAW + b"y")])
    assert [e.key for e in spool.pending()] == [e.key for e in entries]
    assert spool.count() == 7
    spool.done(entries[1])
    spool.done(entries[1])  # idempotent
    spool.done(entries[4], sync=False)
    spool.sync()
    assert [e.key for e in spool.pending()] == [entries[i].key for i in (0, 2, 3, 5, 6)]
    # a second Spool on the same directory (another process, or the next start) sees the same queue
    assert [spool.load(e)[1] for e in Spool(tmp_path).pending()][:2] == [RAW + b"0", RAW + b"2"]


def test_put_fsyncs_the_file_before_the_rename_and_the_directory_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = Spool(tmp_path)
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        target = os.readlink(f"/proc/self/fd/{fd}")
        calls.append(f"fsync {Path(target).name}/" if Path(target).is_dir() else "fsync file")
        if calls[-1] == "fsync file":
            # the bytes are complete when fsync is called
            assert decode_entry(Path(target).read_bytes())[1] == RAW
        real_fsync(fd)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(f"rename to {Path(dst).parent.name}/")
        real_replace(src, dst)

    monkeypatch.setattr(spool_module.os, "fsync", fsync)
    monkeypatch.setattr(spool_module.os, "replace", replace)
    spool.put(envelope(), RAW)
    assert calls == ["fsync file", "rename to incoming/", "fsync incoming/"]


def test_a_failed_write_leaves_nothing_in_incoming(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = Spool(tmp_path)

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spool_module.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        spool.put_many([(envelope(), RAW), (envelope(), RAW)])
    assert list(spool.pending()) == []
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[: len(data) - 3], "truncated"),
        (lambda data: data[:-1] + b"X", "checksum"),
        (lambda data: b"garbage without a header", "header"),
        (lambda data: b"RSPOOL1 x y z\n", "bad header"),
        (lambda data: b"", "no header"),
        (lambda data: data.replace(b'"received_at":"2024', b'"received_at":"XXXX', 1), "bad envelope"),
    ],
)
def test_damaged_files_raise_spool_corrupt(tmp_path: Path, damage: object, message: str) -> None:
    spool = Spool(tmp_path)
    entry = spool.put(envelope(), RAW)
    assert callable(damage)
    entry.path.write_bytes(damage(entry.path.read_bytes()))
    with pytest.raises(SpoolCorrupt, match=message):
        spool.load(entry)


def test_fail_moves_the_entry_to_failed_with_its_reason(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    keep = spool.put(envelope(), RAW)
    bad = spool.put(envelope(), RAW)
    moved = spool.fail(bad, "unreadable spool file: checksum mismatch")
    assert moved.parent == tmp_path / "failed"
    assert [e.key for e in spool.pending()] == [keep.key]
    [(entry, reason)] = list(spool.failed())
    assert entry.key == bad.key
    assert "checksum mismatch" in reason
    assert "attempts=0" in reason


def test_begin_counts_attempts_in_the_file_name_until_exhausted(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_attempts=3)
    entry = spool.put(envelope(), RAW)
    for expected in (1, 2, 3):
        assert not spool.exhausted(entry)
        entry = spool.begin(entry)
        assert entry.attempts == expected
        # the count survives a restart: a new Spool reads it from the file name
        [seen] = list(Spool(tmp_path, max_attempts=3).pending())
        assert seen == entry
    assert spool.exhausted(entry)
    assert spool.load(entry)[1] == RAW
    with pytest.raises(FileNotFoundError):
        spool.begin(SpoolEntry(tmp_path / "incoming" / "gone.0.msg", "gone", 0))


def test_leftover_tmp_files_of_dead_writers_are_removed(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    dead = tmp_path / "tmp" / "0000000000000000001-x.0.msg.999999999.1"
    dead.write_bytes(b"RSPOOL1 10 10 0\n{")
    mine = tmp_path / "tmp" / f"0000000000000000002-y.0.msg.{os.getpid()}.1"
    mine.write_bytes(b"being written")
    assert spool.remove_stale_tmp() == 1
    assert not dead.exists()
    assert mine.exists()


def test_encoding_round_trips_naive_and_unicode_envelopes() -> None:
    naive = Envelope("", ("josé@exämple.com",), dt.datetime(2024, 1, 1, 12), "id", source="ingest")
    got, raw = decode_entry(encode_entry(naive, b""))
    assert got.rcpt_tos == ("josé@exämple.com",)
    assert got.mail_from == ""
    assert raw == b""
    assert got.received_at == dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC)


# -- the spool worker (ramparts.server.SpoolWorker) ---------------------------------------------------


class FakePipeline:
    """Records what it is given; on_durable callbacks are kept until `commit()`, like the telemetry writer."""

    def __init__(self, poison: bytes = b"") -> None:
        self.poison = poison
        self.seen: list[bytes] = []
        self.batches: list[int] = []
        self.pending: list[Callable[[], None]] = []

    async def process_batch(self, items: list[tuple[Envelope, bytes, Callable[[], None]]]) -> object:
        if any(self.poison and self.poison in raw for _, raw, _ in items):
            raise RuntimeError("pipeline crashed on this message")
        self.batches.append(len(items))
        for _, raw, on_durable in items:
            self.seen.append(raw)
            self.pending.append(on_durable)
        return None

    def commit(self) -> None:
        callbacks, self.pending = self.pending, []
        for callback in callbacks:
            callback()


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def test_worker_recovers_pending_entries_in_order_and_releases_them_only_when_durable(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for i in range(5):
        spool.put(envelope(), b"message %d" % i)
    pipeline = FakePipeline()

    async def scenario() -> None:
        worker = SpoolWorker(spool, pipeline.process_batch, concurrency=1)
        assert await worker.start() == 5
        await until(lambda: len(pipeline.seen) == 5)
        assert pipeline.seen == [b"message %d" % i for i in range(5)]
        assert pipeline.batches == [5]
        assert spool.count() == 5  # nothing is released before its telemetry is durable
        assert worker.backlog == 5
        await asyncio.sleep(0.05)
        assert len(pipeline.seen) == 5  # the scanner does not hand out entries in process again
        pipeline.commit()
        assert spool.count() == 0
        assert worker.backlog == 0
        await worker.stop()

    asyncio.run(scenario())


def test_worker_takes_entries_from_notify_and_from_other_processes(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    pipeline = FakePipeline()

    async def scenario() -> None:
        worker = SpoolWorker(spool, pipeline.process_batch, scan_interval=0.01)
        await worker.start()
        worker.notify(spool.put(envelope(), b"over smtp"))
        Spool(tmp_path).put(envelope(), b"from ramparts ingest")
        await until(lambda: len(pipeline.seen) == 2)
        pipeline.commit()
        await worker.stop()

    asyncio.run(scenario())
    assert sorted(pipeline.seen) == [b"from ramparts ingest", b"over smtp"]
    assert spool.count() == 0


def test_worker_moves_a_message_that_always_fails_to_failed_and_goes_on(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_attempts=3)
    for raw in (b"fine 1", b"POISON", b"fine 2"):
        spool.put(envelope(), raw)
    pipeline = FakePipeline(poison=b"POISON")

    async def scenario() -> None:
        worker = SpoolWorker(spool, pipeline.process_batch, retry_delay=0.001)
        await worker.start()
        await until(lambda: worker.failed == 1)
        pipeline.commit()
        await worker.stop()

    asyncio.run(scenario())
    assert sorted(pipeline.seen) == [b"fine 1", b"fine 2"]
    assert spool.count() == 0
    [(entry, reason)] = list(spool.failed())
    assert entry.attempts == 3
    assert "pipeline crashed on this message" in reason


def test_worker_gives_up_on_corrupt_files_and_on_entries_that_crashed_the_server_too_often(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_attempts=3)
    corrupt = spool.put(envelope(), b"corrupt")
    corrupt.path.write_bytes(corrupt.path.read_bytes()[:-2])
    crashed = spool.put(envelope(), b"crashed the server three times")
    for _ in range(3):
        crashed = spool.begin(crashed)
    spool.put(envelope(), b"fine")
    pipeline = FakePipeline()

    async def scenario() -> None:
        worker = SpoolWorker(spool, pipeline.process_batch)
        await worker.start()
        await until(lambda: worker.failed == 2 and len(pipeline.seen) == 1)
        pipeline.commit()
        await worker.stop()

    asyncio.run(scenario())
    assert pipeline.seen == [b"fine"]
    reasons = {entry.key: reason for entry, reason in spool.failed()}
    assert "truncated" in reasons[corrupt.key]
    assert "gave up after 3 attempts" in reasons[crashed.key]
    assert spool.count() == 0


def test_entries_retried_after_a_crash_are_processed_alone(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for i in range(4):
        entry = spool.put(envelope(), b"m%d" % i)
        if i % 2:
            spool.begin(entry)  # was in process when the server died
    pipeline = FakePipeline()

    async def scenario() -> None:
        worker = SpoolWorker(spool, pipeline.process_batch, concurrency=1)
        await worker.start()
        await until(lambda: len(pipeline.seen) == 4)
        pipeline.commit()
        await worker.stop()

    asyncio.run(scenario())
    assert pipeline.batches == [2, 1, 1]
    assert spool.count() == 0
