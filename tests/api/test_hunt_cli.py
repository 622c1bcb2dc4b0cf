"""`ramparts hunt` with no server running: the DuckDB file is opened read-only by the command."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from ramparts.cli import app as cli
from ramparts.services import utc_clock
from tests.identity.support import add_tenants, make_services


def _seed(data_dir: Path) -> dict[str, str]:
    services = make_services(data_dir, utc_clock)  # type: ignore[arg-type]
    ids = add_tenants(services, "contoso", "fabrikam")
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "Timestamp": now - dt.timedelta(minutes=i),
            "NetworkMessageId": f"m{i}",
            "Subject": f's{i}, quoted "x"',
            "EmailSize": i,
            "TenantId": ids[tenant],
        }
        for i, tenant in enumerate(["contoso", "fabrikam", "fabrikam"])
    ]
    services.writer.add({"EmailEvents": rows})
    services.close()
    return ids


def test_hunt_reads_the_store_directly(tmp_path: Path) -> None:
    ids = _seed(tmp_path)
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path)]
    as_json = runner.invoke(
        cli,
        [
            "hunt",
            *data,
            "--tenant",
            "fabrikam",
            "--json",
            "EmailEvents | project EmailSize, TenantId | order by EmailSize asc",
        ],
        catch_exceptions=False,
    )
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == [
        {"EmailSize": 1, "TenantId": ids["fabrikam"]},
        {"EmailSize": 2, "TenantId": ids["fabrikam"]},
    ]
    as_csv = runner.invoke(
        cli, ["hunt", *data, "--csv", "EmailEvents | project Subject | order by Subject asc | take 1"]
    )
    assert as_csv.stdout.splitlines() == ["Subject", '"s0, quoted ""x"""']
    table = runner.invoke(cli, ["hunt", *data, "EmailEvents | summarize n = count()"])
    assert table.exit_code == 0
    assert "3" in table.stdout
    assert "1 row(s)" in table.stdout


def test_hunt_reports_kql_errors(tmp_path: Path) -> None:
    _seed(tmp_path)
    result = CliRunner().invoke(cli, ["hunt", "--data-dir", str(tmp_path), "EmailEvents | whre x"])
    assert result.exit_code != 0
    assert "line 1" in str(result.exception)
