"""Turns every error into a JSON body in Microsoft Graph's error shape; never a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ramparts.errors import AuthError, KqlError, RampartsError, RateLimited

log = logging.getLogger(__name__)


def error_body(code: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": {"code": code, "message": message, **extra}}


async def _ramparts_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RampartsError)
    headers: dict[str, str] = {}
    extra: dict[str, object] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, AuthError):
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    if isinstance(exc, KqlError):
        extra = {"line": exc.line, "column": exc.column}
    field = getattr(exc, "field", "")
    if field:
        extra["target"] = field
    return JSONResponse(error_body(exc.code, str(exc), **extra), status_code=exc.http_status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"target": ".".join(str(p) for p in err.get("loc", ()) if p != "body"), "message": err.get("msg", "")}
        for err in exc.errors()
    ]
    first = details[0] if details else {"target": "", "message": "invalid request"}
    return JSONResponse(
        error_body("badRequest", f"{first['target']}: {first['message']}", details=details), status_code=400
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {401: "unauthorized", 403: "forbidden", 404: "notFound", 405: "methodNotAllowed", 413: "requestTooLarge"}
    return JSONResponse(
        error_body(codes.get(exc.status_code, "error"), str(exc.detail)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(error_body("internalError", "internal error; see the server log"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RampartsError, _ramparts_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
