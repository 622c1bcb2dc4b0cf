"""Demo traffic through the real pipeline, with the demo's zone: authentication and verdicts by scenario."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from rich.progress import Progress

from ramparts.config import load_settings
from ramparts.demo import SENDING_DOMAINS, DemoTraffic, lookalikes
from ramparts.detection.builtin.engine import BuiltinEngine
from ramparts.detection.dns import ZoneResolver
from ramparts.mailflow.ingest import DEMO_ZONE, ensure_demo_tenants, install_demo_dns, run_demo
from ramparts.mailflow.runner import run_offline
from ramparts.services import open_services

NOW = dt.datetime(2026, 5, 20, 12, 0, tzinfo=dt.UTC)
Row = tuple[dict[str, str], str, str]
"""(AuthenticationDetails, ThreatTypes, DeliveryLocation) of one message."""


@pytest.fixture(scope="module")
def by_kind(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Row]]:
    settings = load_settings(tmp_path_factory.mktemp("demo") / "data")
    ensure_demo_tenants(settings)
    settings, dns = install_demo_dns(settings, 7)
    traffic = list(DemoTraffic(7, now=NOW, dns=dns).messages(400))
    kinds = {envelope.network_message_id: kind for envelope, _, kind in traffic}
    services = open_services(settings)
    try:
        run_offline(services, [(envelope, raw) for envelope, raw, _ in traffic])
        _, rows = services.telemetry.query(
            "SELECT NetworkMessageId, AuthenticationDetails, ThreatTypes, DeliveryLocation, SenderFromDomain"
            ' FROM "EmailEvents"'
        )
    finally:
        services.close()
    found: dict[str, list[Row]] = defaultdict(list)
    for message_id, auth, threats, location, domain in rows:
        row = (json.loads(auth), threats or "", location)
        found[kinds[message_id]].append(row)
        if kinds[message_id] == "spoof":
            found[f"spoof of {domain}"].append(row)
    return found


def results(rows: list[Row], check: str) -> Counter[str]:
    return Counter(auth[check] for auth, _, _ in rows)


def test_no_message_meets_a_dns_error(by_kind: dict[str, list[Row]]) -> None:
    words = Counter(value for rows in by_kind.values() for auth, _, _ in rows for value in auth.values())
    assert words["temperror"] == 0
    assert words["permerror"] == 0
    assert words["pass"] > words["fail"] > 0
    assert {"softfail", "neutral", "bestguesspass", "none"} <= set(words)


def test_partners_pass_spf_dkim_and_dmarc_and_are_delivered(by_kind: dict[str, list[Row]]) -> None:
    business = by_kind["business"]
    assert results(business, "SPF") == {"pass": len(business)}
    assert results(business, "DKIM") == {"pass": len(business)}
    assert set(results(business, "DMARC")) == {"pass", "bestguesspass"}  # litware.com publishes no DMARC
    assert results(business, "CompAuth") == {"pass": len(business)}
    assert all(threats == "" and location == "Inbox/folder" for _, threats, location in business)
    internal = by_kind["internal"]
    assert all(auth["DMARC"] == "pass" and threats == "" for auth, threats, _ in internal)


def test_forwarded_mail_fails_spf_but_keeps_its_dkim_signature(by_kind: dict[str, list[Row]]) -> None:
    forwarded = by_kind["forwarded"]
    assert forwarded
    assert set(results(forwarded, "SPF")) <= {"softfail", "fail"}
    assert results(forwarded, "SPF")["softfail"] > 0
    assert results(forwarded, "DKIM") == {"pass": len(forwarded)}
    assert results(forwarded, "CompAuth") == {"pass": len(forwarded)}
    assert all(threats == "" for _, threats, _ in forwarded)


def test_newsletters_pass_through_their_esp(by_kind: dict[str, list[Row]]) -> None:
    newsletters = by_kind["newsletter"]
    assert results(newsletters, "SPF") == {"pass": len(newsletters)}
    assert results(newsletters, "DKIM") == {"pass": len(newsletters)}
    assert set(results(newsletters, "DMARC")) == {"pass", "bestguesspass"}


def test_spoofs_fail_dmarc_and_are_caught(by_kind: dict[str, list[Row]]) -> None:
    spoofs = by_kind["spoof"]
    assert spoofs
    assert results(spoofs, "DMARC") == {"fail": len(spoofs)}
    assert results(spoofs, "CompAuth") == {"fail": len(spoofs)}
    # unsigned, signed by the attacker's own domain, or a forged signature in the partner's name
    assert set(results(spoofs, "DKIM")) == {"none", "pass", "fail"}
    assert results(spoofs, "SPF")["pass"] > 0  # envelope of the attacker's domain: SPF passes, unaligned
    assert all("Phish" in threats for _, threats, _ in spoofs)
    # Standard honours the spoofed domain's DMARC policy (p=quarantine: quarantined, p=reject: not delivered);
    # a domain still at p=none gets the spoof action, the Junk folder
    policies = {
        "contoso.com": "reject",
        "woodgrovebank.com": "reject",
        "adatum.com": "quarantine",
        "fabrikam.com": "quarantine",
        "northwindtraders.com": "none",
    }
    outcome = {"reject": "Dropped", "quarantine": "Quarantine", "none": "Junk folder"}
    seen = {kind.removeprefix("spoof of "): rows for kind, rows in by_kind.items() if kind.startswith("spoof of ")}
    assert set(seen) <= set(policies)
    assert {policies[domain] for domain in seen} == set(outcome)
    for domain, rows in seen.items():
        assert {location for _, _, location in rows} == {outcome[policies[domain]]}, domain


def test_lookalike_phish_is_caught_whatever_its_authentication(by_kind: dict[str, list[Row]]) -> None:
    phish = by_kind["phish"]
    # parked lookalikes fail, glyph swaps publish nothing, the attacker's -secure domains pass
    assert set(results(phish, "CompAuth")) == {"fail", "none", "pass"}
    assert all("Phish" in threats for _, threats, _ in phish)
    assert all("Phish" in threats for _, threats, _ in by_kind["impersonation"])
    assert all("Malware" in threats for _, threats, _ in by_kind["malware"] + by_kind["executable"])


def test_every_lookalike_that_publishes_records_is_in_the_zone() -> None:
    names = {domain.name for domain in SENDING_DOMAINS}
    glyphs, doubled = lookalikes("contoso", "com")[:-3], lookalikes("contoso", "com")[-3]
    assert doubled in names
    assert not names & set(glyphs)
    assert len(names) == len(SENDING_DOMAINS)


def test_run_demo_points_the_data_dir_at_its_zone(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "ramparts.toml").write_text('hostname = "mx.demo.test"\n')
    settings = load_settings(tmp_path / "data")
    with Progress(disable=True) as progress:
        summary = run_demo(settings, 30, seed=7, progress=progress)
        assert summary.messages == 30
        run_demo(load_settings(tmp_path / "data"), 5, seed=7, progress=progress)
    config = (tmp_path / "data" / "ramparts.toml").read_text()
    assert config.count("dns_zone_file") == 1
    reloaded = load_settings(tmp_path / "data")
    assert reloaded.dns_zone_file == DEMO_ZONE
    assert reloaded.hostname == "mx.demo.test"
    engine = BuiltinEngine.from_settings(reloaded)  # what `ramparts serve` on this data dir builds
    assert isinstance(engine.resolver, ZoneResolver)
    assert engine.resolver.txt("_dmarc.woodgrovebank.com")[0].startswith("v=DMARC1; p=reject")
    assert engine.resolver.txt("example.com") == []
