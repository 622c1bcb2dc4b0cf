"""Running messages through the pipeline in this process (ingest and demo when no server runs)."""

from __future__ import annotations

import asyncio
import functools
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ramparts.mailflow.message import Envelope
from ramparts.mailflow.pipeline import MessageOutcome, Pipeline, Skipped
from ramparts.services import Services

BATCH = 64


@dataclass
class RunSummary:
    messages: int = 0
    skipped: int = 0
    copies: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    locations: Counter[str] = field(default_factory=Counter)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def count(self, result: list[MessageOutcome] | Skipped) -> None:
        if isinstance(result, Skipped):
            self.skipped += 1
            self.skip_reasons[result.reason] += 1
            return
        self.messages += 1
        for outcome in result:
            for copy in outcome.copies:
                self.copies += 1
                self.verdicts[copy.decision.verdict.value] += 1
                self.locations[copy.decision.delivery_location.value] += 1


def run_offline(
    services: Services,
    items: Iterable[tuple[Envelope, bytes]],
    *,
    tenant: str | None = None,
    progress: Callable[[int], None] | None = None,
    pipeline: Pipeline | None = None,
) -> RunSummary:
    """Spool each batch durably, process it, commit its telemetry, then release it from the spool."""
    from ramparts.mailflow.spool import Spool

    pipeline = pipeline or Pipeline(services)
    spool = Spool(services.settings.spool_dir, fsync=False)
    summary = RunSummary()

    async def drive() -> None:
        batch: list[tuple[Envelope, bytes]] = []

        async def run(batch: list[tuple[Envelope, bytes]]) -> None:
            entries = spool.put_many(batch)
            os.sync()  # one barrier for the batch instead of an fsync per spool file
            results = await pipeline.process_batch(
                [
                    (env, raw, functools.partial(spool.done, entry, sync=False))
                    for (env, raw), entry in zip(batch, entries, strict=True)
                ],
                tenant=tenant,
            )
            services.writer.flush()
            spool.sync()
            for result in results:
                summary.count(result)
            if progress:
                progress(len(batch))

        for envelope, raw in items:
            batch.append((envelope, raw))
            if len(batch) >= BATCH:
                await run(batch)
                batch = []
        if batch:
            await run(batch)

    asyncio.run(drive())
    spool.empty_trash()
    return summary
