"""The one error root of ramparts.

RampartsError
 +-- ConfigError            settings that cannot work (bad path, bad listen address)
 +-- SpoolCorrupt           a spool file that cannot be read back (mailflow.spool; moved to failed/)
 +-- DnsTempError           a DNS timeout or SERVFAIL (detection.dns); checks record temperror
 +-- CacheMiss              a cache-only DNS view had no answer (detection.dns); the check reruns off-loop
 +-- MessageRejected        a message refused with an SMTP reply code (size, unknown domain)
 +-- NotFound               a tenant, user, message or app that does not exist (HTTP 404)
 +-- InvalidInput           a request or argument that names a field and a reason (HTTP 400/422)
 +-- AuthError              every token and credential failure looks alike to the caller (HTTP 401)
 +-- Forbidden              authenticated but not allowed: scope, tenant, suspended app (HTTP 403)
 +-- RateLimited            over a tenant's rate (HTTP 429 with Retry-After)
 +-- KqlError               a KQL query that cannot be compiled or run; carries line and column
"""

from __future__ import annotations


class RampartsError(Exception):
    """Base of every error ramparts raises on purpose."""

    http_status = 500
    code = "internalError"


class ConfigError(RampartsError):
    code = "configError"


class MessageRejected(RampartsError):
    def __init__(self, smtp_reply: str) -> None:
        super().__init__(smtp_reply)
        self.smtp_reply = smtp_reply


class NotFound(RampartsError):
    http_status = 404
    code = "notFound"


class InvalidInput(RampartsError):
    http_status = 400
    code = "badRequest"

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class AuthError(RampartsError):
    http_status = 401
    code = "unauthorized"

    def __init__(self, message: str = "invalid or expired credentials") -> None:
        super().__init__(message)


class Forbidden(RampartsError):
    http_status = 403
    code = "forbidden"


class RateLimited(RampartsError):
    http_status = 429
    code = "tooManyRequests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class KqlError(RampartsError):
    http_status = 400
    code = "BadRequest"

    def __init__(self, message: str, line: int = 0, column: int = 0, snippet: str = "") -> None:
        where = f" (line {line}, column {column})" if line else ""
        super().__init__(f"{message}{where}")
        self.reason = message
        self.line = line
        self.column = column
        self.snippet = snippet
