"""Graph-compatible `security/collaboration/analyzedEmails`: list, get and remediate, read from the
telemetry tables (EmailEvents and its URL and attachment rows) and confined to the caller's tenant."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlglot import exp
from starlette.concurrency import run_in_threadpool

from ramparts.api.auth import require_any_scope, require_scopes, services_of
from ramparts.api.odata import FilterCompiler, Property
from ramparts.domain.enums import LatestDeliveryAction
from ramparts.errors import Forbidden, InvalidInput, NotFound
from ramparts.identity.scopes import ANALYZED_MESSAGE_READ, ANALYZED_MESSAGE_READ_WRITE
from ramparts.identity.tokens import Principal
from ramparts.services import Services

router = APIRouter(tags=["graph"])
Reader = Annotated[Principal, Depends(require_any_scope(ANALYZED_MESSAGE_READ, ANALYZED_MESSAGE_READ_WRITE))]
Writer = Annotated[Principal, Depends(require_scopes(ANALYZED_MESSAGE_READ_WRITE))]

DIRECTIONS = {"inbound": "Inbound", "outbound": "Outbound", "intraOrg": "Intra-org"}
LOCATIONS = {
    "Inbox/folder": "inbox_folder",
    "Junk folder": "junkFolder",
    "Deleted items": "deletedFolder",
    "Quarantine": "quarantine",
    "On-premises/external": "onprem_external",
    "Failed": "failed",
    "Dropped": "dropped",
}
ACTIONS = {"Delivered": "delivered", "Junked": "deliveredToJunk", "Blocked": "blocked", "Replaced": "replaced"}
LATEST_ACTIONS = {
    **ACTIONS,
    "Moved to inbox": "delivered",
    "Released": "delivered",
    "Moved to junk folder": "deliveredToJunk",
    "Quarantined": "blocked",
}
"""LatestDeliveryAction -> Graph's deliveryAction, whose five values cannot say "moved": a copy moved to
the Junk folder is deliveredToJunk, quarantined is blocked (as quarantined mail is at delivery),
moved or released to the Inbox is delivered. Removals (soft/hard delete, moved to Deleted Items,
Removed) are unknown; latestDelivery.location tells where the copy went."""


def _latest_actions(graph_value: str) -> list[str]:
    if graph_value == "unknown":
        return [a.value for a in LatestDeliveryAction if a.value not in LATEST_ACTIONS]
    return [stored for stored, graph in LATEST_ACTIONS.items() if graph == graph_value]


THREATS = {"Phish": "phish", "Malware": "malware", "Spam": "spam"}


def _enum_in(mapping: Mapping[str, str]) -> Any:
    reverse = {graph: stored for stored, graph in mapping.items()}
    return lambda value: reverse.get(value, value)


PROPERTIES: dict[str, Property] = {
    "id": Property("ReportId"),
    "loggedDateTime": Property("Timestamp"),
    "networkMessageId": Property("NetworkMessageId"),
    "internetMessageId": Property("InternetMessageId"),
    "recipientEmailAddress": Property("RecipientEmailAddress", str.lower),
    "subject": Property("Subject"),
    "returnPath": Property("SenderMailFromAddress"),
    "language": Property("EmailLanguage"),
    "sizeInBytes": Property("EmailSize"),
    "directionality": Property("EmailDirection", lambda v: DIRECTIONS.get(v, v)),
    "policy": Property("EmailActionPolicy"),
    "policyAction": Property("EmailAction"),
    "senderDetail/fromAddress": Property("SenderFromAddress"),
    "senderDetail/mailFromAddress": Property("SenderMailFromAddress"),
    "senderDetail/displayName": Property("SenderDisplayName"),
    "senderDetail/domainName": Property("SenderFromDomain"),
    "senderDetail/mailFromDomainName": Property("SenderMailFromDomain"),
    "senderDetail/ipv4": Property("SenderIPv4"),
    "recipientDetail/domainName": Property("RecipientDomain"),
    "originalDelivery/location": Property("DeliveryLocation", _enum_in(LOCATIONS)),
    "originalDelivery/action": Property("DeliveryAction", _enum_in(ACTIONS)),
    "latestDelivery/location": Property("LatestDeliveryLocation", _enum_in(LOCATIONS)),
    "latestDelivery/action": Property("LatestDeliveryAction", stored_values=_latest_actions),
    "threatTypes": Property("ThreatTypes", _enum_in(THREATS), collection=True),
}
FILTERS = FilterCompiler(PROPERTIES)
MAX_TOP = 1000
DEFAULT_TOP = 100
UNSUPPORTED_OPTIONS = ("$skip", "$orderby", "$search", "$expand")
"""System query options Graph SDKs offer on this collection that ramparts does not implement: refused
(400) rather than ignored, since an ignored $skip or $orderby would answer with the wrong rows."""


def _iso(value: object) -> str | None:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return None


def _json(text: object) -> Any:
    try:
        return json.loads(str(text)) if text else {}
    except ValueError:
        return {}


def _delivery(
    action: object, location: object, threats: object, actions: Mapping[str, str] = ACTIONS
) -> dict[str, Any]:
    return {
        "action": actions.get(str(action), "unknown"),
        "location": LOCATIONS.get(str(location), "unknown"),
        "originalThreats": str(threats or ""),
        "latestThreats": str(threats or ""),
    }


def shape(row: Mapping[str, Any], urls: list[dict[str, Any]], files: list[dict[str, Any]]) -> dict[str, Any]:
    """One EmailEvents row (with its URL and attachment rows) as a microsoft.graph.security.analyzedEmail."""
    methods = _json(row["DetectionMethods"])
    confidence = _json(row["ConfidenceLevel"])
    auth = _json(row["AuthenticationDetails"])
    threat_types = [THREATS[t.strip()] for t in str(row["ThreatTypes"] or "").split(",") if t.strip() in THREATS]
    return {
        "@odata.type": "#microsoft.graph.security.analyzedEmail",
        "id": row["ReportId"],
        "loggedDateTime": _iso(row["Timestamp"]),
        "networkMessageId": row["NetworkMessageId"],
        "internetMessageId": row["InternetMessageId"],
        "senderDetail": {
            "displayName": row["SenderDisplayName"],
            "fromAddress": row["SenderFromAddress"],
            "mailFromAddress": row["SenderMailFromAddress"],
            "mailFromDomainName": row["SenderMailFromDomain"],
            "domainName": row["SenderFromDomain"],
            "ipv4": row["SenderIPv4"],
        },
        "recipientEmailAddress": row["RecipientEmailAddress"],
        "recipientDetail": {
            "domainName": row["RecipientDomain"],
            "ccRecipients": [a.strip() for a in str(row["Cc"] or "").split(",") if a.strip()],
        },
        "distributionList": row["DistributionList"] or "",
        "subject": row["Subject"],
        "returnPath": row["SenderMailFromAddress"],
        "directionality": {v: k for k, v in DIRECTIONS.items()}.get(str(row["EmailDirection"]), "unknown"),
        "originalDelivery": _delivery(row["DeliveryAction"], row["DeliveryLocation"], row["OriginalThreatTypes"]),
        "latestDelivery": _delivery(
            row["LatestDeliveryAction"], row["LatestDeliveryLocation"], row["ThreatTypes"], LATEST_ACTIONS
        ),
        "attachments": [
            {
                "fileName": f["FileName"],
                "fileType": f["FileType"],
                "fileSize": f["FileSize"],
                "fileExtension": str(f["FileName"] or "").rpartition(".")[2] if "." in str(f["FileName"]) else "",
                "sha256": f["SHA256"],
                "malwareFamily": f["ThreatNames"] or "",
                "threatType": "phishing" if f["ThreatTypes"] == "Phish" else (str(f["ThreatTypes"]).lower() or "none"),
            }
            for f in files
        ],
        "urls": [{"url": u["Url"], "threatType": "none", "detectionMethod": ""} for u in urls],
        "language": row["EmailLanguage"] or "",
        "sizeInBytes": row["EmailSize"],
        "alertIds": [],
        "exchangeTransportRules": [],
        "dlpRules": [],
        "overrideSources": [row["OrgLevelPolicy"]] if row["OrgLevelPolicy"] else [],
        "primaryOverrideSource": row["OrgLevelPolicy"] or "None",
        "threatTypes": threat_types or ["none"],
        "detectionMethods": sorted({m for values in methods.values() for m in values}),
        "contexts": [row["Context"]] if row["Context"] else [],
        "authenticationDetails": {
            "senderPolicyFramework": auth.get("SPF", ""),
            "dkim": auth.get("DKIM", ""),
            "dmarc": auth.get("DMARC", ""),
            "compositeAuthentication": auth.get("CompAuth", ""),
        },
        "phishConfidenceLevel": str(confidence.get("Phish", "")),
        "spamConfidenceLevel": str(confidence.get("Spam", "")),
        "bulkComplaintLevel": "" if row["BulkComplaintLevel"] is None else str(row["BulkComplaintLevel"]),
        "emailClusterId": "" if row["EmailClusterId"] is None else str(row["EmailClusterId"]),
        "policy": row["EmailActionPolicy"] or "",
        "policyAction": row["EmailAction"] or "",
        "policyType": "",
        "inboundConnectorFormattedName": row["Connectors"] or "",
        "clientType": "SMTP",
        "forwardingDetail": row["ForwardingInformation"] or "",
        "timelineEvents": [],
        "threatDetectionDetails": [
            {"threats": ", ".join(v), "confidenceLevel": str(confidence.get(k, "")), "priorityAccountProtection": ""}
            for k, v in methods.items()
        ],
    }


def _token(timestamp: dt.datetime, report_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([timestamp.isoformat(), report_id]).encode()).decode()


def _untoken(token: str) -> tuple[str, str]:
    try:
        stamp, report = json.loads(base64.urlsafe_b64decode(token.encode()))
        dt.datetime.fromisoformat(stamp)
        return str(stamp), str(report)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidInput("invalid $skiptoken", field="$skiptoken") from None


def _select(where: exp.Expr) -> exp.Select:
    return exp.select("*").from_(exp.to_table("EmailEvents", quoted=True)).where(where)


def _fetch(services: Services, query: exp.Expr) -> list[dict[str, Any]]:
    names, rows = services.telemetry.query(query.sql(dialect="duckdb"))
    return [dict(zip(names, row, strict=True)) for row in rows]


Children = tuple[dict[str, list[dict[str, Any]]], dict[tuple[str, str], list[dict[str, Any]]]]


def _children(services: Services, rows: list[dict[str, Any]], tenant: str) -> Children:
    nmids = sorted({str(r["NetworkMessageId"]) for r in rows})
    if not nmids:
        return {}, {}
    in_ids = exp.column("NetworkMessageId").isin(*nmids)
    tenant_is = exp.column("TenantId").eq(exp.Literal.string(tenant))
    url_rows = _fetch(
        services, exp.select("*").from_(exp.to_table("EmailUrlInfo", quoted=True)).where(exp.and_(in_ids, tenant_is))
    )
    file_rows = _fetch(
        services,
        exp.select("*").from_(exp.to_table("EmailAttachmentInfo", quoted=True)).where(exp.and_(in_ids, tenant_is)),
    )
    urls: dict[str, list[dict[str, Any]]] = {}
    for u in url_rows:
        urls.setdefault(str(u["NetworkMessageId"]), []).append(u)
    files: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for f in file_rows:
        files.setdefault((str(f["NetworkMessageId"]), str(f["RecipientEmailAddress"])), []).append(f)
    return urls, files


def _tenant_of(caller: Principal) -> str:
    if not caller.tenant_id:
        raise Forbidden("analyzedEmails needs a tenant application's token")
    return caller.tenant_id


def list_emails(
    services: Services,
    tenant: str,
    *,
    filter_text: str | None,
    top: int,
    skiptoken: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    count: bool,
) -> tuple[list[dict[str, Any]], str | None, int | None]:
    conditions: list[exp.Expr] = [exp.column("TenantId").eq(exp.Literal.string(tenant))]
    if filter_text:
        conditions.append(FILTERS.compile(filter_text))
    for bound, op in ((start, exp.GTE), (end, exp.LT)):
        if bound is not None:
            literal = exp.cast(exp.Literal.string(bound.isoformat()), exp.DataType.build("TIMESTAMPTZ"))
            conditions.append(op(this=exp.column("Timestamp"), expression=literal))
    base = exp.and_(*conditions)
    total = None
    if count:
        total = int(
            _fetch(
                services,
                exp.select(exp.Count(this=exp.Star()).as_("n"))
                .from_(exp.to_table("EmailEvents", quoted=True))
                .where(base),
            )[0]["n"]
        )
    page = base
    if skiptoken:
        stamp, report = _untoken(skiptoken)
        ts = exp.cast(exp.Literal.string(stamp), exp.DataType.build("TIMESTAMPTZ"))
        page = exp.and_(
            base,
            exp.or_(
                exp.LT(this=exp.column("Timestamp"), expression=ts),
                exp.and_(
                    exp.column("Timestamp").eq(ts),
                    exp.GT(this=exp.column("ReportId"), expression=exp.Literal.string(report)),
                ),
            ),
        )
    query = (
        _select(page)
        .order_by(exp.Ordered(this=exp.column("Timestamp"), desc=True))
        .order_by("ReportId", append=True)
        .limit(top + 1)
    )
    rows = _fetch(services, query)
    more = len(rows) > top
    rows = rows[:top]
    urls, files = _children(services, rows, tenant)
    shaped = [
        shape(
            r,
            urls.get(str(r["NetworkMessageId"]), []),
            files.get((str(r["NetworkMessageId"]), str(r["RecipientEmailAddress"])), []),
        )
        for r in rows
    ]
    next_token = _token(rows[-1]["Timestamp"], str(rows[-1]["ReportId"])) if more and rows else None
    return shaped, next_token, total


async def list_analyzed_emails(
    request: Request,
    caller: Reader,
    filter_: Annotated[str | None, Query(alias="$filter")] = None,
    top: Annotated[int, Query(alias="$top", ge=1, le=MAX_TOP)] = DEFAULT_TOP,
    skiptoken: Annotated[str | None, Query(alias="$skiptoken")] = None,
    count: Annotated[bool, Query(alias="$count")] = False,
    start_time: Annotated[dt.datetime | None, Query(alias="startTime")] = None,
    end_time: Annotated[dt.datetime | None, Query(alias="endTime")] = None,
) -> dict[str, Any]:
    for option in UNSUPPORTED_OPTIONS:
        if option in request.query_params:
            raise InvalidInput(
                f"{option} is not supported on analyzedEmails; use $filter, $top, $count and @odata.nextLink",
                field=option,
            )
    services = services_of(request)
    tenant = _tenant_of(caller)
    items, next_token, total = await run_in_threadpool(
        list_emails,
        services,
        tenant,
        filter_text=filter_,
        top=top,
        skiptoken=skiptoken,
        start=start_time,
        end=end_time,
        count=count,
    )
    body: dict[str, Any] = {
        "@odata.context": f"{request.base_url}v1.0/$metadata#security/collaboration/analyzedEmails",
        "value": items,
    }
    if total is not None:
        body["@odata.count"] = total
    if next_token:
        params = dict(request.query_params)
        params["$skiptoken"] = next_token
        body["@odata.nextLink"] = str(request.url.replace_query_params(**params))
    return body


async def get_analyzed_email(email_id: str, request: Request, caller: Reader) -> dict[str, Any]:
    services = services_of(request)
    tenant = _tenant_of(caller)
    condition = exp.and_(
        exp.column("TenantId").eq(exp.Literal.string(tenant)), exp.column("ReportId").eq(exp.Literal.string(email_id))
    )

    def load() -> dict[str, Any]:
        rows = _fetch(services, _select(condition))
        if not rows:
            raise NotFound(f"no analyzed email {email_id!r}")
        urls, files = _children(services, rows, tenant)
        row = rows[0]
        return shape(
            row,
            urls.get(str(row["NetworkMessageId"]), []),
            files.get((str(row["NetworkMessageId"]), str(row["RecipientEmailAddress"])), []),
        )

    return {
        "@odata.context": f"{request.base_url}v1.0/$metadata#security/collaboration/analyzedEmails/$entity",
        **await run_in_threadpool(load),
    }


class EmailRef(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    networkMessageId: str = Field(min_length=1, max_length=64)
    recipientEmailAddress: str = Field(min_length=3, max_length=320)


class RemediateBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    displayName: str = Field(default="", max_length=256)
    description: str = Field(default="", max_length=4000)
    severity: str = Field(default="medium", pattern="^(low|medium|high|unknownFutureValue)$")
    action: str = Field(pattern="^(moveToJunk|moveToInbox|hardDelete|softDelete|moveToDeletedItems|moveToQuarantine)$")
    remediateSendersCopy: bool = False
    analyzedEmails: list[EmailRef] = Field(min_length=1, max_length=50_000)


async def remediate(body: RemediateBody, request: Request, caller: Writer) -> Response:
    from ramparts.api.remediation import start_remediation

    services = services_of(request)
    tenant = _tenant_of(caller)
    bulk_id = await run_in_threadpool(
        start_remediation,
        services,
        tenant_id=tenant,
        actor=caller.client_id,
        action=body.action,
        title=body.displayName,
        description=body.description,
        severity=body.severity,
        items=[(ref.networkMessageId, ref.recipientEmailAddress.lower()) for ref in body.analyzedEmails],
    )
    return Response(status_code=202, headers={"Location": f"{request.base_url}api/remediations/{bulk_id}"})


def _register() -> None:
    for prefix in ("/v1.0", "/beta"):
        tag = prefix.strip("/").replace(".", "_")
        base = f"{prefix}/security/collaboration/analyzedEmails"
        router.add_api_route(base, list_analyzed_emails, methods=["GET"], operation_id=f"list_analyzed_emails_{tag}")
        router.add_api_route(
            base + "/{email_id}", get_analyzed_email, methods=["GET"], operation_id=f"get_analyzed_email_{tag}"
        )
        for name in ("remediate", "microsoft.graph.security.remediate"):
            router.add_api_route(
                f"{base}/{name}",
                remediate,
                methods=["POST"],
                status_code=202,
                operation_id=f"remediate_{tag}_{name.rpartition('.')[2]}_{'fq' if '.' in name else 'short'}",
            )


_register()
