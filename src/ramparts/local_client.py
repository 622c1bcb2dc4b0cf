"""Talking to the running server of a data directory as its local administrator.

DuckDB allows one process, so while `ramparts serve` runs, command-line tools that need the telemetry
store ask the server over HTTP. They authenticate with the built-in admin app whose credentials the
server leaves in data_dir/admin-credentials.json (mode 0600) at each start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from ramparts.errors import (
    AuthError,
    ConfigError,
    Forbidden,
    InvalidInput,
    KqlError,
    NotFound,
    RampartsError,
    RateLimited,
)
from ramparts.identity.local_admin import credentials_path, read_local_admin


def _base_url(http: str) -> str:
    return http.rstrip("/") if "://" in http else f"http://{http.rstrip('/')}"


def _error(response: httpx.Response) -> RampartsError:
    try:
        error = response.json().get("error", {})
        message = str(error.get("message") or error.get("error_description") or response.text)
    except ValueError:
        error, message = {}, response.text or response.reason_phrase
    status = response.status_code
    if status == 400 and error.get("code") == "BadRequest" and "line" in error:
        return KqlError(str(message).rsplit(" (line ", 1)[0], int(error["line"]), int(error.get("column", 0)))
    if status == 401:
        return AuthError(message)
    if status == 403:
        return Forbidden(message)
    if status == 404:
        return NotFound(message)
    if status == 429:
        return RateLimited(message, int(response.headers.get("retry-after", "60")))
    if 400 <= status < 500:
        return InvalidInput(message)
    return RampartsError(f"server error {status}: {message}")


class LocalClient:
    """A JSON client for the local server, holding a token of the local admin app."""

    def __init__(
        self, data_dir: Path, http: str, *, transport: httpx.BaseTransport | None = None, timeout: float = 300.0
    ) -> None:
        self.data_dir = data_dir
        self.client = httpx.Client(base_url=_base_url(http), transport=transport, timeout=timeout)
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            admin = read_local_admin(self.data_dir)
            if admin is None:
                raise ConfigError(
                    f"the server is running but {credentials_path(self.data_dir)} is missing or unreadable; "
                    "restart the server to write it again"
                )
            response = self.client.post(
                "/oauth2/token",
                data={"grant_type": "client_credentials", "scope": "api://ramparts/.default"},
                auth=(admin.client_id, admin.client_secret),
            )
            if response.status_code != 200:
                raise _error(response)
            self._token = str(response.json()["access_token"])
        return self._token

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, path, headers={"Authorization": f"Bearer {self.token()}"}, **kwargs)
        if response.status_code >= 400:
            raise _error(response)
        return response.json() if response.content else None

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("POST", path, json=body)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def close(self) -> None:
        self.client.close()
