"""Demo tenants and realistic mixed traffic, sent through the real pipeline.

The mix: business mail with documents and links, newsletters, spam, phishing from lookalike domains
with credential links, malware (the EICAR test file, executables), and display-name spoofs of the
tenant's own people. Deterministic for a given seed so that tests can rely on proportions.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from ramparts.mailflow.message import Envelope
from ramparts.tenants import MailboxSpec


@dataclass(frozen=True, slots=True)
class DemoTenant:
    name: str
    display_name: str
    domains: tuple[str, ...]
    policy: str
    users: tuple[MailboxSpec, ...]


DEMO_TENANTS = (
    DemoTenant(
        "contoso",
        "Contoso Ltd",
        ("contoso.com",),
        "Standard",
        (
            MailboxSpec("megan.bowen@contoso.com", "Megan Bowen"),
            MailboxSpec("alex.wilber@contoso.com", "Alex Wilber"),
            MailboxSpec("nestor.wilke@contoso.com", "Nestor Wilke", priority_account=True),
            MailboxSpec("lidia.holloway@contoso.com", "Lidia Holloway", "Strict"),
            MailboxSpec("finance@contoso.com", "Contoso Finance"),
        ),
    ),
    DemoTenant(
        "fabrikam",
        "Fabrikam Inc",
        ("fabrikam.com", "fabrikam.net"),
        "Strict",
        (
            MailboxSpec("dana.birkby@fabrikam.com", "Dana Birkby"),
            MailboxSpec("sam.reyes@fabrikam.com", "Sam Reyes", priority_account=True),
            MailboxSpec("ap@fabrikam.net", "Fabrikam Accounts Payable"),
        ),
    ),
    DemoTenant(
        "northwind",
        "Northwind Traders",
        ("northwindtraders.com",),
        "Standard",
        (
            MailboxSpec("anne.dodsworth@northwindtraders.com", "Anne Dodsworth"),
            MailboxSpec("robert.king@northwindtraders.com", "Robert King"),
        ),
    ),
)

PARTNERS = (
    ("Adatum Logistics", "orders@adatum.com"),
    ("Tailspin Toys", "jordan@tailspintoys.com"),
    ("Woodgrove Bank", "statements@woodgrovebank.com"),
    ("Litware Support", "support@litware.com"),
    ("Proseware HR", "hr@proseware.com"),
)
NEWSLETTERS = (
    ("Cloud Weekly", "news@mail.cloudweekly.io"),
    ("Gadget Deals", "deals@offers.gadgetdeals.shop"),
    ("Travel Digest", "digest@travel-digest.net"),
)
SPAMMERS = ("winner@lucky-prize.biz", "pharmacy@cheap-meds.top", "invest@crypto-gains.xyz")

_BUSINESS_SUBJECTS = (
    "Q3 forecast review",
    "Updated purchase order {n}",
    "Meeting notes: supplier onboarding",
    "Invoice {n} for October",
    "Re: shipping schedule for next week",
    "Contract draft v{n}",
)


def _eicar() -> bytes:
    return ("X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*").encode()


def _fake_pdf(seed: int) -> bytes:
    return b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n" + f"% demo document {seed}\n".encode() * 40 + b"%%EOF\n"


def _fake_exe() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + b"\x00" * 200


def _zip_with(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def lookalikes(stem: str, tld: str) -> list[str]:
    """Domains an attacker registers to look like stem.tld: swapped glyphs, a doubled letter, added words."""
    swaps = [(a, b) for a, b in (("o", "0"), ("i", "1"), ("l", "1"), ("m", "rn"), ("e", "3")) if a in stem]
    found = [f"{stem.replace(a, b, 1)}.{tld}" for a, b in swaps[:2]]
    doubled = stem[:2] + stem[1] + stem[2:]
    return [*found, f"{doubled}.{tld}", f"{stem}-secure.{tld}", f"{stem}-helpdesk.{tld}"]


class DemoTraffic:
    def __init__(self, seed: int = 7, *, now: dt.datetime | None = None, span: dt.timedelta = dt.timedelta(days=7)):
        self.random = random.Random(seed)
        self.now = now or dt.datetime.now(dt.UTC)
        self.span = span

    def _when(self) -> dt.datetime:
        return self.now - dt.timedelta(seconds=self.random.uniform(0, self.span.total_seconds()))

    def _base(self, sender: tuple[str, str], to: MailboxSpec, subject: str, when: dt.datetime) -> EmailMessage:
        message = EmailMessage()
        message["From"] = f"{sender[0]} <{sender[1]}>" if sender[0] else sender[1]
        message["To"] = f"{to.display_name} <{to.address}>"
        message["Subject"] = subject
        message["Date"] = format_datetime(when)
        message["Message-ID"] = make_msgid(domain=sender[1].rpartition("@")[2])
        return message

    def messages(self, count: int) -> Iterator[tuple[Envelope, bytes, str]]:
        """(envelope, raw message, kind) for `count` messages; kinds in realistic proportions."""
        kinds = (
            ["business"] * 40
            + ["newsletter"] * 18
            + ["spam"] * 12
            + ["phish"] * 12
            + ["impersonation"] * 6
            + ["malware"] * 6
            + ["executable"] * 3
            + ["internal"] * 3
        )
        for _ in range(count):
            kind = self.random.choice(kinds)
            tenant = self.random.choice(DEMO_TENANTS)
            to = self.random.choice(tenant.users)
            when = self._when()
            message, mail_from, peer = getattr(self, f"_{kind}")(tenant, to, when)
            envelope = Envelope(
                mail_from=mail_from,
                rcpt_tos=(to.address,),
                received_at=when,
                network_message_id=str(uuid.UUID(int=self.random.getrandbits(128), version=4)),
                peer_ip=peer,
                helo=mail_from.rpartition("@")[2],
                source="demo",
            )
            yield envelope, message.as_bytes(), kind

    def _ip(self, prefix: str = "198.51.100") -> str:
        return f"{prefix}.{self.random.randint(2, 250)}"

    def _business(self, tenant: DemoTenant, to: MailboxSpec, when: dt.datetime) -> tuple[EmailMessage, str, str]:
        partner = self.random.choice(PARTNERS)
        n = self.random.randint(1000, 9999)
        subject = self.random.choice(_BUSINESS_SUBJECTS).format(n=n)
        message = self._base(partner, to, subject, when)
        domain = partner[1].rpartition("@")[2]
        message.set_content(
            f"Hi {to.display_name.split()[0]},\n\nPlease find the latest figures attached. The shared tracker is at "
            f"https://portal.{domain}/projects/{n}/tracker and the terms at https://www.{domain}/terms.\n\n"
            f"Best regards,\n{partner[0]}\n"
        )
        message.add_alternative(
            f"<html><body><p>Hi {to.display_name.split()[0]},</p><p>Please find the latest figures attached. "
            f'See the <a href="https://portal.{domain}/projects/{n}/tracker">project tracker</a>.</p>'
            f"<p>Best regards,<br>{partner[0]}</p></body></html>",
            subtype="html",
        )
        if self.random.random() < 0.6:
            message.add_attachment(_fake_pdf(n), maintype="application", subtype="pdf", filename=f"report-{n}.pdf")
        return message, partner[1], self._ip("203.0.113")

    def _newsletter(self, tenant: DemoTenant, to: MailboxSpec, when: dt.datetime) -> tuple[EmailMessage, str, str]:
        sender = self.random.choice(NEWSLETTERS)
        domain = sender[1].rpartition("@")[2]
        message = self._base(sender, to, f"{sender[0]}: this week's top picks", when)
        message["List-Unsubscribe"] = f"<https://{domain}/unsubscribe?u={self.random.getrandbits(48):012x}>"
        if self.random.random() < 0.6:
            message["List-Id"] = f"{sender[0]} <list.{domain}>"
            message["Precedence"] = "bulk"
            message["Feedback-ID"] = f"campaign{self.random.randint(1, 99)}:{domain}"
        message.set_content(
            f"Top stories this week. Read more at https://{domain}/issues/{self.random.randint(100, 400)}\n"
            f"Limited time offer: save 30% today at https://{domain}/deals\nUnsubscribe: https://{domain}/unsubscribe\n"
        )
        return message, f"bounce-{self.random.randint(1, 9999)}@{domain}", self._ip("192.0.2")

    def _spam(self, tenant: DemoTenant, to: MailboxSpec, when: dt.datetime) -> tuple[EmailMessage, str, str]:
        sender = self.random.choice(SPAMMERS)
        domain = sender.rpartition("@")[2]
        subject = self.random.choice(
            (
                "CONGRATULATIONS!!! YOU HAVE WON $1,000,000",
                "Cheap meds, no prescription needed",
                "Double your bitcoin in 24 hours guaranteed",
            )
        )
        message = self._base(("", sender), to, subject, when)
        message.set_content(
            "Dear friend,\n\nAct now! This is a limited time offer, 100% free, risk free, no credit check. "
            f"Click here to claim your prize: http://{domain}/claim?id={self.random.randint(1, 10**6)}\n"
            "Winner winner! Earn extra cash from home. Unsubscribe never.\n"
        )
        return message, sender, self._ip("100.64.12")

    def _phish(self, tenant: DemoTenant, to: MailboxSpec, when: dt.datetime) -> tuple[EmailMessage, str, str]:
        own = tenant.domains[0]
        stem, _, tld = own.rpartition(".")
        lookalike = self.random.choice(lookalikes(stem, tld))
        sender = ("IT Service Desk", f"it-support@{lookalike}")
        message = self._base(sender, to, "Action required: your mailbox password expires today", when)
        link = f"http://login.{lookalike}/owa/verify-account?user={to.address}"
        message.set_content(
            f"Your password for {to.address} expires in 2 hours. Verify your account to keep access: {link}\n"
        )
        message.add_alternative(
            "<html><body><p>Your password expires in 2 hours.</p>"
            f'<p><a href="{link}">https://outlook.office.com/verify</a></p>'
            f'<form action="http://collect.{lookalike}/post.php" method="post">'
            '<input name="password" type="password"></form></body></html>',
            subtype="html",
        )
        return message, sender[1], self._ip("45.13.22")

    def _impersonation(self, tenant: DemoTenant, to: MailboxSpec, when: dt.datetime) -> tuple[EmailMessage, str, str]:
        boss = next((u for u in tenant.users if u.priority_account), tenant.users[0])
        sender = (boss.display_name, f"{boss.display_name.split()[0].lower()}.ceo.office@gmail-mail.com")
        message = self._base(sender, to, "Urgent wire transfer needed today", when)
        message.set_content(
            f"{to.display_name.split()[0]}, I need you to process an urgent wire transfer to a new supplier "
            "before 3pm. I am in meetings, reply by email only. Keep this confidential.\n"
        )
        return message, sender[1], self._ip("185.220.101")

    def _malware(self, tenant: DemoTenant, to: MailboxSpec, when: dt.datetime) -> tuple[EmailMessage, str, str]:
        partner = self.random.choice(PARTNERS)
        sender = (partner[0], f"billing@{partner[1].rpartition('@')[2].replace('.com', '-invoices.com')}")
        message = self._base(sender, to, "Overdue invoice - please review attached", when)
        message.set_content("Please review the attached invoice and pay within 3 days.\n")
        if self.random.random() < 0.5:
            message.add_attachment(_eicar(), maintype="application", subtype="octet-stream", filename="invoice.com")
        else:
            message.add_attachment(
                _zip_with("invoice.txt", _eicar()), maintype="application", subtype="zip", filename="invoice.zip"
            )
        return message, sender[1], self._ip("91.240.118")

    def _executable(self, tenant: DemoTenant, to: MailboxSpec, when: dt.datetime) -> tuple[EmailMessage, str, str]:
        sender = ("Shipping Notice", "notice@track-parcel-delivery.info")
        message = self._base(sender, to, "Your parcel could not be delivered", when)
        message.set_content("Open the attached form to reschedule delivery.\n")
        message.add_attachment(_fake_exe(), maintype="application", subtype="pdf", filename="delivery-form.pdf.exe")
        return message, sender[1], self._ip("91.240.118")

    def _internal(self, tenant: DemoTenant, to: MailboxSpec, when: dt.datetime) -> tuple[EmailMessage, str, str]:
        colleague = self.random.choice([u for u in tenant.users if u.address != to.address] or list(tenant.users))
        message = self._base((colleague.display_name, colleague.address), to, "Lunch on Thursday?", when)
        message.set_content("Shall we try the new place on Thursday at 12:30?\n")
        return message, colleague.address, "10.0.0.25"
