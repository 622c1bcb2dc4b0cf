"""Microsoft's own Graph SDK (msgraph-sdk) against a real ramparts server for analyzedEmails: list with
$filter/$top and @odata.nextLink paging, get by id, remediate (202 + Location) and scope errors, through
the SDK's fluent API with nothing but a different base URL. The mail is delivered by the real pipeline
into real Maildir mailboxes, so remediate moves an actual file."""

from __future__ import annotations

import datetime as dt
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx
import pytest
from azure.core.credentials import AccessToken
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from kiota_http.middleware.options import HeadersInspectionHandlerOption
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph_core import GraphClientFactory

from ramparts.api.app import create_app
from ramparts.delivery.mailbox import Folder
from ramparts.domain.verdicts import Verdict
from ramparts.identity.scopes import ANALYZED_MESSAGE_READ, ANALYZED_MESSAGE_READ_WRITE, THREAT_HUNTING_READ
from ramparts.services import Services
from ramparts.store.models import MessageCopy
from tests.api.test_msgraph_sdk import RampartsCredential
from tests.conftest import free_port
from tests.identity.support import FakeClock, add_app, serve_in_thread
from tests.vendors.support import World, make_world

with warnings.catch_warnings():  # the generated request builders warn about themselves at import
    warnings.simplefilter("ignore", DeprecationWarning)
    from kiota_abstractions.default_query_parameters import QueryParameters
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.models.security.analyzed_email import AnalyzedEmail
    from msgraph.generated.models.security.antispam_directionality import AntispamDirectionality
    from msgraph.generated.models.security.delivery_location import DeliveryLocation as GraphLocation
    from msgraph.generated.models.security.remediation_action import RemediationAction
    from msgraph.generated.models.security.remediation_severity import RemediationSeverity
    from msgraph.generated.models.security.threat_type import ThreatType
    from msgraph.generated.security.collaboration.analyzed_emails.analyzed_emails_request_builder import (
        AnalyzedEmailsRequestBuilder,
    )
    from msgraph.generated.security.collaboration.analyzed_emails.microsoft_graph_security_remediate.remediate_post_request_body import (  # noqa: E501
        RemediatePostRequestBody,
    )

# kiota and msgraph warn about their own deprecated classes while the SDK imports them
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota_abstractions.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph.*"),
]

T = TypeVar("T")
Query = AnalyzedEmailsRequestBuilder.AnalyzedEmailsRequestBuilderGetQueryParameters
ALICE, BOB, CAROL = "alice@contoso.example", "bob@contoso.example", "carol@contoso.example"


@dataclass
class Mail:
    """The vendor tests' world (two tenants, real pipeline and Maildir), remembering every copy sent."""

    world: World
    sent: list[tuple[str, str, str]] = field(default_factory=list)
    """(network message id, recipient, subject) of every copy delivered, oldest first."""

    @property
    def services(self) -> Services:
        return self.world.services

    @property
    def tenants(self) -> dict[str, str]:
        return self.world.tenants

    def deliver(self, subject: str, *recipients: str, verdict: Verdict = Verdict.CLEAN, sender: str = "") -> str:
        nmid = self.world.deliver(subject, *recipients, verdict=verdict, sender=sender or "adele@partner.example")
        self.sent.extend((nmid, r, subject) for r in recipients)
        self.world.clock.advance(minutes=1)  # distinct timestamps: newest first is a strict order
        return nmid

    def files(self, recipient: str, folder: Folder) -> list[Path]:
        base = self.world.mailbox.folder_path(recipient, folder)
        return [p for sub in ("new", "cur") if (base / sub).is_dir() for p in (base / sub).iterdir()]


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[Mail]:
    clock = FakeClock(dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1))
    world = make_world(tmp_path, clock)
    yield Mail(world)
    world.services.close()


@dataclass
class Seen:
    """Every HTTP exchange the SDK made, as the wire saw it."""

    exchanges: list[tuple[str, httpx.URL, int, httpx.Headers]] = field(default_factory=list)


class RecordingTransport(httpx.AsyncHTTPTransport):
    def __init__(self, seen: Seen) -> None:
        super().__init__()
        self.seen = seen

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        self.seen.exchanges.append((request.method, request.url, response.status_code, response.headers))
        return response


class FixedToken:
    """A credential that hands the SDK whatever token the test chose."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> FixedToken:
        return self

    async def __aexit__(self, *args: object) -> None:
        return None


class Graph:
    """A GraphServiceClient pointed at a running ramparts by its base URL alone."""

    def __init__(self, mail: Mail, base: str) -> None:
        self.mail = mail
        self.base = base

    def run(
        self, scopes: list[str], call: Callable[[GraphServiceClient], Awaitable[T]], tenant: str = "contoso"
    ) -> tuple[T, Seen]:
        """Register an app of `tenant` with `scopes`, then make `call` with a client signed in as it."""
        client_id, secret = add_app(self.mail.services, scopes=scopes, tenant_id=self.mail.tenants[tenant])
        return self.run_as(client_id, secret, call, tenant=tenant)

    def run_as(
        self,
        client_id: str,
        secret: str,
        call: Callable[[GraphServiceClient], Awaitable[T]],
        tenant: str = "contoso",
        token: str = "",
    ) -> tuple[T, Seen]:
        credential: RampartsCredential | FixedToken = (
            FixedToken(token) if token else RampartsCredential(self.base, tenant, client_id, secret)
        )
        seen = Seen()

        async def go() -> T:
            auth = AzureIdentityAuthenticationProvider(
                credential, scopes=["https://graph.microsoft.com/.default"], allowed_hosts=["127.0.0.1"]
            )
            sockets = RecordingTransport(seen)
            http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(transport=sockets))
            adapter = GraphRequestAdapter(auth, client=http)
            adapter.base_url = f"{self.base}/v1.0"
            try:
                return await call(GraphServiceClient(request_adapter=adapter))
            finally:
                await http.aclose()
                await sockets.aclose()

        return anyio.run(go), seen


@pytest.fixture
def graph(mail: Mail) -> Iterator[Graph]:
    port = free_port()
    with serve_in_thread(create_app(mail.services), port):
        yield Graph(mail, f"http://127.0.0.1:{port}")


def _query(**params: Any) -> RequestConfiguration[Query]:
    return RequestConfiguration(query_parameters=Query(**params))


async def _all_pages(client: GraphServiceClient, **params: Any) -> list[list[AnalyzedEmail]]:
    builder = client.security.collaboration.analyzed_emails
    page = await builder.get(request_configuration=_query(**params))
    pages: list[list[AnalyzedEmail]] = []
    while page is not None:
        pages.append(list(page.value or []))
        if not page.odata_next_link:
            break
        page = await builder.with_url(page.odata_next_link).get()
    return pages


def seed(mail: Mail) -> dict[str, str]:
    """Nine contoso copies over five messages (and one fabrikam copy); returns subject -> network message id."""
    return {
        "numbers": mail.deliver("Quarterly numbers", ALICE, BOB),
        "phish": mail.deliver(
            "Verify your password", ALICE, CAROL, verdict=Verdict.PHISH, sender="it-desk@c0ntoso.example"
        ),
        "lunch": mail.deliver("Lunch?", BOB, sender="carol@contoso.example"),
        "spam": mail.deliver("Cheap watches", CAROL, verdict=Verdict.SPAM, sender="deals@spam.example"),
        "board": mail.deliver("Board minutes", ALICE, BOB, CAROL),
        "fabrikam": mail.deliver("Fabrikam only", "alice@fabrikam.example"),
    }


def _key(email: AnalyzedEmail) -> tuple[str, str]:
    return str(email.network_message_id), str(email.recipient_email_address)


def test_sdk_pages_through_every_copy_exactly_once(mail: Mail, graph: Graph) -> None:
    sent = seed(mail)
    pages, seen = graph.run([ANALYZED_MESSAGE_READ], lambda c: _all_pages(c, top=4, count=True))
    assert [len(p) for p in pages] == [4, 4, 1]
    emails = [e for page in pages for e in page]
    contoso = [(n, r) for n, r, _ in reversed(mail.sent) if not r.endswith("@fabrikam.example")]
    assert len(contoso) == 9
    assert sorted(_key(e) for e in emails) == sorted(contoso)  # every copy, none twice, no other tenant's
    assert len({e.id for e in emails}) == 9 and all(e.id for e in emails)
    assert sent["fabrikam"] not in {e.network_message_id for e in emails}
    stamps = [e.logged_date_time for e in emails if e.logged_date_time is not None]
    assert len(stamps) == 9 and stamps == sorted(stamps, reverse=True)  # newest first
    assert {e.subject for e in pages[0][:3]} == {"Board minutes"}
    assert all(e.odata_type == "#microsoft.graph.security.analyzedEmail" for e in emails)
    # the SDK asked for the first page itself, then followed @odata.nextLink verbatim
    assert [(method, status) for method, _, status, _ in seen.exchanges] == [("GET", 200)] * 3
    first, *rest = [url for _, url, _, _ in seen.exchanges]
    assert first.params["$top"] == "4" and first.params["$count"] == "true" and "$skiptoken" not in first.params
    assert all(url.params["$top"] == "4" and url.params["$skiptoken"] for url in rest)

    async def first_count(client: GraphServiceClient) -> int | None:
        page = await client.security.collaboration.analyzed_emails.get(request_configuration=_query(count=True, top=2))
        assert page is not None and page.value is not None and len(page.value) == 2
        return page.odata_count

    assert graph.run([ANALYZED_MESSAGE_READ], first_count)[0] == 9


def test_sdk_filters_on_documented_properties(mail: Mail, graph: Graph) -> None:
    sent = seed(mail)

    async def run(client: GraphServiceClient) -> dict[str, list[AnalyzedEmail]]:
        filters = {
            "one copy": f"networkMessageId eq '{sent['phish']}' and recipientEmailAddress eq '{CAROL}'",
            "phish": "threatTypes/any(t: t eq 'phish')",
            "intraOrg": "directionality eq 'intraOrg'",
            "junk": "latestDelivery/location eq 'junkFolder'",
            "sender": "senderDetail/domainName eq 'c0ntoso.example' or contains(subject, 'numbers')",
            "nothing": f"networkMessageId eq '{sent['fabrikam']}'",
        }
        found: dict[str, list[AnalyzedEmail]] = {}
        for name, odata in filters.items():
            pages = await _all_pages(client, filter=odata, top=2)
            found[name] = [e for page in pages for e in page]
        return found

    found, _ = graph.run([ANALYZED_MESSAGE_READ], run)
    assert [_key(e) for e in found["one copy"]] == [(sent["phish"], CAROL)]
    phish = found["phish"]
    assert sorted(_key(e) for e in phish) == [(sent["phish"], ALICE), (sent["phish"], CAROL)]
    assert all(e.threat_types == [ThreatType.Phish] for e in phish)
    assert all(e.latest_delivery is not None and e.latest_delivery.location == GraphLocation.Quarantine for e in phish)
    assert all(e.sender_detail is not None and e.sender_detail.from_address == "it-desk@c0ntoso.example" for e in phish)
    assert [(_key(e), e.directionality) for e in found["intraOrg"]] == [
        ((sent["lunch"], BOB), AntispamDirectionality.IntraOrg)
    ]
    assert [(_key(e), e.subject) for e in found["junk"]] == [((sent["spam"], CAROL), "Cheap watches")]
    assert found["junk"][0].threat_types == [ThreatType.Spam]
    assert sorted(_key(e) for e in found["sender"]) == sorted(
        [(sent["phish"], ALICE), (sent["phish"], CAROL), (sent["numbers"], ALICE), (sent["numbers"], BOB)]
    )
    assert found["nothing"] == []


def test_sdk_gets_one_email_by_id_and_not_another_tenants(mail: Mail, graph: Graph) -> None:
    sent = seed(mail)

    async def listed(client: GraphServiceClient) -> list[AnalyzedEmail]:
        return [e for page in await _all_pages(client) for e in page]

    everything, _ = graph.run([ANALYZED_MESSAGE_READ], listed)
    spam = next(e for e in everything if e.network_message_id == sent["spam"])
    assert spam.id

    async def by_id(client: GraphServiceClient) -> AnalyzedEmail | None:
        return await client.security.collaboration.analyzed_emails.by_analyzed_email_id(str(spam.id)).get()

    one, seen = graph.run([ANALYZED_MESSAGE_READ], by_id)
    assert one is not None
    assert (one.id, one.network_message_id, one.recipient_email_address) == (spam.id, sent["spam"], CAROL)
    assert one.subject == "Cheap watches" and one.directionality == AntispamDirectionality.Inbound
    assert one.sender_detail is not None and one.sender_detail.domain_name == "spam.example"
    assert one.logged_date_time == spam.logged_date_time
    assert seen.exchanges[0][1].path == f"/v1.0/security/collaboration/analyzedEmails/{spam.id}"

    with pytest.raises(APIError) as missing:  # contoso's copy, asked for by fabrikam's app
        graph.run([ANALYZED_MESSAGE_READ], by_id, tenant="fabrikam")
    assert missing.value.response_status_code == 404


def _remediation(*copies: tuple[str, str], action: RemediationAction) -> RemediatePostRequestBody:
    return RemediatePostRequestBody(
        display_name="move the spam",
        description="through the Graph SDK",
        severity=RemediationSeverity.High,
        action=action,
        remediate_senders_copy=False,
        analyzed_emails=[AnalyzedEmail(network_message_id=n, recipient_email_address=r) for n, r in copies],
    )


def _status(graph: Graph, location: str, client_id: str, secret: str, tenant: str = "contoso") -> dict[str, Any]:
    """Poll the Location the 202 gave until the remediation finished."""
    credential = RampartsCredential(graph.base, tenant, client_id, secret)
    token = anyio.run(credential.get_token, "https://graph.microsoft.com/.default").token
    deadline = time.monotonic() + 15
    while True:
        body: dict[str, Any] = httpx.get(location, headers={"Authorization": f"Bearer {token}"}).json()
        if body.get("status") in ("completed", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_sdk_remediate_moves_the_copy_and_answers_202_with_location(mail: Mail, graph: Graph) -> None:
    sent = seed(mail)
    assert len(mail.files(ALICE, Folder.INBOX)) == 2 and mail.files(ALICE, Folder.JUNK) == []
    body = _remediation((sent["numbers"], ALICE), action=RemediationAction.MoveToJunk)

    inspect = HeadersInspectionHandlerOption(inspect_request_headers=False, inspect_response_headers=True)

    async def remediate(client: GraphServiceClient) -> None:
        # how an SDK user reads the tracking Location of the 202: kiota's headers-inspection option
        config: RequestConfiguration[QueryParameters] = RequestConfiguration(options=[inspect])
        await client.security.collaboration.analyzed_emails.microsoft_graph_security_remediate.post(body, config)

    client_id, secret = add_app(mail.services, scopes=[ANALYZED_MESSAGE_READ_WRITE], tenant_id=mail.tenants["contoso"])
    answered, seen = graph.run_as(client_id, secret, remediate)
    assert answered is None  # no content: the SDK took the 202 as success
    [(method, url, status, headers)] = seen.exchanges
    assert (method, url.path, status) == (
        "POST",
        "/v1.0/security/collaboration/analyzedEmails/microsoft.graph.security.remediate",
        202,
    )
    location = headers["location"]
    assert location.startswith(f"{graph.base}/api/remediations/")
    assert inspect.response_headers.get("location") == {location}

    result = _status(graph, location, client_id, secret)
    assert result["status"] == "completed", result
    assert result["action"] == "moveToJunk" and result["displayName"] == "move the spam"
    assert result["items"] == [
        {"networkMessageId": sent["numbers"], "recipientEmailAddress": ALICE, "result": "Success"}
    ]
    # the file moved in alice's Maildir; bob's copy of the same message stayed where it was
    assert len(mail.files(ALICE, Folder.INBOX)) == 1 and len(mail.files(ALICE, Folder.JUNK)) == 1
    assert len(mail.files(BOB, Folder.INBOX)) == 3
    with mail.services.sessions() as session:
        copy = session.get(MessageCopy, (sent["numbers"], ALICE))
        untouched = session.get(MessageCopy, (sent["numbers"], BOB))
    assert copy is not None and copy.latest_location == "Junk folder"
    assert untouched is not None and untouched.latest_location == "Inbox/folder"

    # and the SDK sees it: the copy's latestDelivery is now the junk folder, its originalDelivery the inbox
    async def junked(client: GraphServiceClient) -> list[AnalyzedEmail]:
        query = f"networkMessageId eq '{sent['numbers']}' and latestDelivery/location eq 'junkFolder'"
        deadline = time.monotonic() + 10
        while True:
            page = await client.security.collaboration.analyzed_emails.get(request_configuration=_query(filter=query))
            if (page is not None and page.value) or time.monotonic() > deadline:
                return list(page.value or []) if page else []
            await anyio.sleep(0.1)

    [moved], _ = graph.run([ANALYZED_MESSAGE_READ], junked)
    assert _key(moved) == (sent["numbers"], ALICE)
    assert moved.latest_delivery is not None and moved.latest_delivery.location == GraphLocation.JunkFolder
    assert moved.original_delivery is not None and moved.original_delivery.location == GraphLocation.Inbox_folder


def test_sdk_remediate_on_the_short_path_moves_back_to_the_inbox(mail: Mail, graph: Graph) -> None:
    sent = seed(mail)
    assert len(mail.files(CAROL, Folder.JUNK)) == 1
    body = _remediation((sent["spam"], CAROL), action=RemediationAction.MoveToInbox)
    short = f"{graph.base}/v1.0/security/collaboration/analyzedEmails/remediate"

    async def remediate(client: GraphServiceClient) -> None:
        builder = client.security.collaboration.analyzed_emails.microsoft_graph_security_remediate
        await builder.with_url(short).post(body)

    client_id, secret = add_app(mail.services, scopes=[ANALYZED_MESSAGE_READ_WRITE], tenant_id=mail.tenants["contoso"])
    _, seen = graph.run_as(client_id, secret, remediate)
    [(_, url, status, headers)] = seen.exchanges
    assert (str(url), status) == (short, 202)
    result = _status(graph, headers["location"], client_id, secret)
    assert result["status"] == "completed" and result["items"][0]["result"] == "Success", result
    assert mail.files(CAROL, Folder.JUNK) == [] and len(mail.files(CAROL, Folder.INBOX)) == 2


def test_sdk_raises_api_errors_with_the_status(mail: Mail, graph: Graph) -> None:
    sent = seed(mail)

    async def listed(client: GraphServiceClient) -> object:
        return await client.security.collaboration.analyzed_emails.get(request_configuration=_query(top=1))

    async def remediate(client: GraphServiceClient) -> None:
        builder = client.security.collaboration.analyzed_emails.microsoft_graph_security_remediate
        await builder.post(_remediation((sent["numbers"], ALICE), action=RemediationAction.SoftDelete))

    async def bad_filter(client: GraphServiceClient) -> object:
        return await client.security.collaboration.analyzed_emails.get(
            request_configuration=_query(filter="colour eq 'blue'")
        )

    with pytest.raises(ODataError) as wrong_scope:
        graph.run([THREAT_HUNTING_READ], listed)
    assert wrong_scope.value.response_status_code == 403
    assert wrong_scope.value.error is not None and "SecurityAnalyzedMessage" in str(wrong_scope.value.error.message)

    with pytest.raises(ODataError) as read_only:
        graph.run([ANALYZED_MESSAGE_READ], remediate)
    assert read_only.value.response_status_code == 403
    assert len(mail.files(ALICE, Folder.INBOX)) == 2  # nothing moved

    with pytest.raises(ODataError) as unauthenticated:
        graph.run_as("", "", listed, token="not-a-token")
    assert unauthenticated.value.response_status_code == 401

    with pytest.raises(ODataError) as invalid:
        graph.run([ANALYZED_MESSAGE_READ], bad_filter)
    assert invalid.value.response_status_code == 400
    assert invalid.value.error is not None and "cannot filter on 'colour'" in str(invalid.value.error.message)

    async def skipped(client: GraphServiceClient) -> object:  # the SDK offers $skip; ramparts pages by nextLink
        return await client.security.collaboration.analyzed_emails.get(request_configuration=_query(top=2, skip=2))

    with pytest.raises(ODataError) as unsupported:
        graph.run([ANALYZED_MESSAGE_READ], skipped)
    assert unsupported.value.response_status_code == 400
    assert unsupported.value.error is not None and "$skip is not supported" in str(unsupported.value.error.message)
