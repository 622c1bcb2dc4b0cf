"""One typed settings object, read once at start from RAMPARTS_* variables and an optional TOML file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAMPARTS_", extra="forbid")

    data_dir: Path = Path("./ramparts-data")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    http_host: str = "127.0.0.1"
    http_port: int = 8025
    hostname: str = "ramparts.local"
    max_message_bytes: int = Field(default=50 * 1024 * 1024, description="SMTP SIZE limit; larger gets 552")
    max_recipients: int = 500
    max_connections_per_client: int = 20
    max_messages_per_minute_per_client: int = 6000
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    smtp_require_starttls: bool = Field(default=False, description="refuse MAIL before STARTTLS (needs tls_cert_file)")
    relay_host: str = Field(default="", description="host:port of a downstream SMTP/LMTP server; empty = Maildir")
    relay_protocol: str = "smtp"
    mailbox_backend: str = Field(
        default="", description="maildir, relay or imap; empty = relay when relay_host is set, else maildir"
    )
    imap_host: str = ""
    imap_port: int = 143
    imap_tls: str = Field(default="starttls", description="none, starttls or tls")
    imap_master_user: str = Field(default="", description="logs in as recipient + imap_master_separator + this")
    imap_master_password: str = ""
    imap_master_separator: str = "*"
    imap_junk_folder: str = "Junk"
    imap_deleted_folder: str = "Trash"
    imap_timeout: float = 30.0
    rspamd_url: str = Field(default="", description="e.g. http://127.0.0.1:11333; empty = rspamd engine off")
    rspamd_timeout: float = 10.0
    rspamd_password: str = ""
    rspamd_mapping_file: Path | None = Field(default=None, description="TOML/JSON symbol and action mapping")
    dns_nameserver: str = Field(default="", description="host:port of the resolver for SPF/DKIM/DMARC; empty = system")
    dns_timeout: float = 2.0
    dns_zone_file: Path | None = Field(
        default=None, description="answer SPF/DKIM/DMARC lookups from this zone file only (relative = in data_dir)"
    )
    trusted_authserv_ids: tuple[str, ...] = Field(
        default=(), description="Authentication-Results from these authserv-ids are believed instead of checking again"
    )
    telemetry_backend: str = "duckdb"
    telemetry_memory_limit: str = Field(
        default="256MB",
        description="DuckDB buffer memory of the server (larger queries spill to disk); empty = DuckDB's default",
    )
    clickhouse_url: str = ""
    database_url: str = Field(default="", description="SQLAlchemy URL; empty = SQLite in the data dir")
    token_lifetime_seconds: int = 3600
    hunting_rate_per_minute: int = 45
    hunting_row_cap: int = 100_000
    hunting_time_budget_seconds: float = 30.0
    safe_links_url: str = Field(
        default="",
        description="base URL users' mail clients reach ramparts' HTTP API at, e.g. https://mx.example.com;"
        " set = links in delivered mail are checked when clicked; empty = links left as they are",
    )

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mailboxes"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "messages"

    @property
    def telemetry_path(self) -> Path:
        return self.data_dir / "telemetry.duckdb"

    @property
    def control_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'control.sqlite3').resolve()}"


def load_settings(data_dir: Path | None = None, config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment, then the TOML file (data_dir/ramparts.toml if present), then overrides."""
    values: dict[str, Any] = {}
    candidate = config_file or (data_dir / "ramparts.toml" if data_dir else None)
    if candidate and candidate.exists():
        with candidate.open("rb") as handle:
            values.update(tomllib.load(handle))
    if data_dir is not None:
        values["data_dir"] = data_dir
    values.update({key: value for key, value in overrides.items() if value is not None})
    return Settings(**values)
