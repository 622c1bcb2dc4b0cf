"""Demo tenants and realistic mixed traffic, sent through the real pipeline.

The mix: business mail with documents and links (some of it forwarded), newsletters, spam, phishing
from lookalike domains with credential links, exact-domain spoofs of partners and of the tenant,
malware (the EICAR test file, executables), and display-name spoofs of the tenant's own people.
Deterministic for a given seed so that tests can rely on proportions.

Every sending domain has its DNS in `SENDING_DOMAINS` (demo_dns.py writes the zone): partners and
newsletters publish SPF and sign with DKIM, most with a DMARC policy; attackers' domains publish what
such domains do (nothing, a registrar's parked-domain records, or a fully authenticated throwaway).
Each message leaves from an address its scenario calls for, so SPF, DKIM and DMARC really pass or fail.
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
from pathlib import Path

from ramparts.demo_dns import DemoDns, SendingDomain, address_in
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

INTERNAL_NETWORK = "10.0.0.0/24"
"""The tenants' own relays: internal mail leaves from here (their SPF lists it)."""
ESP = "mailwave-esp.net"
"""The e-mail service provider the newsletters send through (SPF include, its own DKIM signature)."""
FORWARDERS = ("198.51.100.200/29",)
"""A partner-side forwarder and list server: listed in nobody's SPF, keeps messages intact."""
ATTACKER_NETWORKS = ("45.13.22.0/24", "185.220.101.0/24")

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


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


_TENANT_DMARC = {"contoso.com": "reject", "fabrikam.com": "quarantine", "fabrikam.net": "quarantine"}
"""p= of the tenants' own DMARC records; the others are still at p=none (monitoring)."""
_PARTNER_DNS = {
    # domain: (how its SPF ends, its DMARC record, its DKIM selector)
    "adatum.com": ("-all", "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@adatum.com", "s1"),
    "tailspintoys.com": ("~all", "v=DMARC1; p=none; rua=mailto:dmarc@tailspintoys.com", "google"),
    "woodgrovebank.com": ("-all", "v=DMARC1; p=reject; adkim=s; aspf=s; rua=mailto:dmarc@woodgrovebank.com", "wg2024"),
    "litware.com": ("~all", "", "default"),
    "proseware.com": ("~all", "v=DMARC1; p=none", "selector2"),
}
_NEWSLETTER_SIGNERS = {"mail.cloudweekly.io": "cloudweekly.io", "travel-digest.net": "travel-digest.net"}
"""Newsletter domains that sign with their own key (besides the ESP's signature on every message)."""
_ENFORCING_PARTNERS = tuple(
    p for p in PARTNERS if any(f"p={word}" in _PARTNER_DNS[_domain_of(p[1])][1] for word in ("quarantine", "reject"))
)
"""Partners whose DMARC record asks receivers to quarantine or reject what fails: the ones worth spoofing."""


def _sending_domains() -> tuple[SendingDomain, ...]:
    domains: list[SendingDomain] = []
    own = [domain for tenant in DEMO_TENANTS for domain in tenant.domains]
    for index, domain in enumerate(own):
        domains.append(
            SendingDomain(
                domain,
                spf=f"v=spf1 ip4:{INTERNAL_NETWORK} ip4:198.51.100.{16 * index}/28 -all",
                dmarc=f"v=DMARC1; p={_TENANT_DMARC.get(domain, 'none')}; rua=mailto:dmarc@{domain}",
                selector="selector1",
                networks=(INTERNAL_NETWORK,),
            )
        )
    for index, (_, address) in enumerate(PARTNERS):
        domain = _domain_of(address)
        ending, dmarc, selector = _PARTNER_DNS[domain]
        network = f"203.0.113.{32 * index}/27"
        domains.append(SendingDomain(domain, f"v=spf1 ip4:{network} {ending}", dmarc, selector, (network,)))
    esp_network = "192.0.2.0/25"
    domains += [
        SendingDomain(ESP, selector="mw1"),
        SendingDomain(f"spf.{ESP}", spf=f"v=spf1 ip4:{esp_network} -all", networks=(esp_network,)),
        SendingDomain("mail.cloudweekly.io", spf=f"v=spf1 include:spf.{ESP} -all"),
        SendingDomain("cloudweekly.io", dmarc="v=DMARC1; p=none; sp=none", selector="k1"),
        SendingDomain("offers.gadgetdeals.shop", spf=f"v=spf1 include:spf.{ESP} ~all"),
        SendingDomain("travel-digest.net", f"v=spf1 include:spf.{ESP} ~all", "v=DMARC1; p=none", "td1"),
        # spam: a bare "?all", nothing at all (cheap-meds.top), and a throwaway domain with everything in place
        SendingDomain("lucky-prize.biz", spf="v=spf1 ?all"),
        SendingDomain(
            "crypto-gains.xyz", "v=spf1 ip4:100.64.12.0/24 -all", "v=DMARC1; p=none", "x", ("100.64.12.0/24",)
        ),
        SendingDomain("gmail-mail.com", "v=spf1 ip4:185.220.101.0/24 ~all", "", "k1", ("185.220.101.0/24",)),
        SendingDomain("track-parcel-delivery.info", spf="v=spf1 ip4:203.0.113.250 ~all"),
    ]
    for tenant in DEMO_TENANTS:
        stem, _, tld = tenant.domains[0].rpartition(".")
        *_glyphs, doubled, secure, helpdesk = lookalikes(stem, tld)  # glyph swaps publish nothing
        # A freshly registered lookalike still parked: the registrar's "sends no mail" records.
        domains.append(SendingDomain(doubled, spf="v=spf1 -all", dmarc="v=DMARC1; p=reject"))
        for name in (secure, helpdesk):  # set up by the attacker to pass
            domains.append(SendingDomain(name, "v=spf1 ip4:45.13.22.0/24 -all", "", "mail", ("45.13.22.0/24",)))
    return tuple(domains)


SENDING_DOMAINS = _sending_domains()


def demo_dns(seed: int, key_dir: Path | None = None) -> DemoDns:
    """The DNS of the demo's sending domains, with DKIM keys made from `seed` (or read from key_dir)."""
    return DemoDns(SENDING_DOMAINS, seed, key_dir=key_dir)


@dataclass(frozen=True, slots=True)
class _Mail:
    message: EmailMessage
    mail_from: str
    peer: str
    signers: tuple[tuple[str, str], ...] = ()
    """(domain, key_of) per DKIM signature, added in order; key_of "" = the domain's own key, else a forgery."""
    relay: str = ""
    """A forwarder that passed the message on intact: it is the SMTP client, its Received line on top."""


class DemoTraffic:
    def __init__(
        self,
        seed: int = 7,
        *,
        now: dt.datetime | None = None,
        span: dt.timedelta = dt.timedelta(days=7),
        dns: DemoDns | None = None,
    ):
        self.random = random.Random(seed)
        self.now = now or dt.datetime.now(dt.UTC)
        self.span = span
        self.dns = dns or demo_dns(seed)

    def _when(self) -> dt.datetime:
        return self.now - dt.timedelta(seconds=self.random.uniform(0, self.span.total_seconds()))

    def _base(self, sender: tuple[str, str], to: MailboxSpec, subject: str, when: dt.datetime) -> EmailMessage:
        message = EmailMessage()
        message["From"] = f"{sender[0]} <{sender[1]}>" if sender[0] else sender[1]
        message["To"] = f"{to.display_name} <{to.address}>"
        message["Subject"] = subject
        message["Date"] = format_datetime(when)
        message["Message-ID"] = make_msgid(domain=_domain_of(sender[1]))
        return message

    def messages(self, count: int) -> Iterator[tuple[Envelope, bytes, str]]:
        """(envelope, raw message, kind) for `count` messages; kinds in realistic proportions."""
        kinds = (
            ["business"] * 36
            + ["forwarded"] * 4
            + ["newsletter"] * 17
            + ["spam"] * 11
            + ["phish"] * 11
            + ["spoof"] * 5
            + ["impersonation"] * 5
            + ["malware"] * 5
            + ["executable"] * 3
            + ["internal"] * 3
        )
        for _ in range(count):
            kind = self.random.choice(kinds)
            tenant = self.random.choice(DEMO_TENANTS)
            to = self.random.choice(tenant.users)
            when = self._when()
            mail: _Mail = getattr(self, f"_{kind}")(tenant, to, when)
            raw = mail.message.as_bytes()
            for domain, key_of in mail.signers:
                raw = self.dns.sign(raw, domain, key_of=key_of)
            if mail.relay:
                hop = f"from {mail.relay} ([{mail.peer}]) by mx.{_domain_of(to.address)}; {format_datetime(when)}"
                raw = f"Received: {hop}\n".encode() + raw
            envelope = Envelope(
                mail_from=mail.mail_from,
                rcpt_tos=(to.address,),
                received_at=when,
                network_message_id=str(uuid.UUID(int=self.random.getrandbits(128), version=4)),
                peer_ip=mail.peer,
                helo=mail.relay or _domain_of(mail.mail_from),
                source="demo",
            )
            yield envelope, raw, kind

    def _ip(self, prefix: str = "198.51.100") -> str:
        return f"{prefix}.{self.random.randint(2, 250)}"

    def _attacker_ip(self) -> str:
        return address_in(ATTACKER_NETWORKS, self.random)

    def _business(self, tenant: DemoTenant, to: MailboxSpec, when: dt.datetime) -> _Mail:
        partner = self.random.choice(PARTNERS)
        n = self.random.randint(1000, 9999)
        subject = self.random.choice(_BUSINESS_SUBJECTS).format(n=n)
        message = self._base(partner, to, subject, when)
        domain = _domain_of(partner[1])
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
        return _Mail(message, partner[1], self.dns.address_in(domain, self.random), ((domain, ""),))

    def _forwarded(self, tenant: DemoTenant, to: MailboxSpec, when: dt.datetime) -> _Mail:
        """A partner's message passed on intact by a forwarder: SPF (soft)fails, the DKIM signature still holds."""
        mail = self._business(tenant, to, when)
        relay = self.random.choice(("lists.partner-forum.org", "fwd.alumni-mail.net"))
        return _Mail(mail.message, mail.mail_from, address_in(FORWARDERS, self.random), mail.signers, relay)

    def _newsletter(self, tenant: DemoTenant, to: MailboxSpec, when: dt.datetime) -> _Mail:
        sender = self.random.choice(NEWSLETTERS)
        domain = _domain_of(sender[1])
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
        own = _NEWSLETTER_SIGNERS.get(domain)
        signers = ((own, ""), (ESP, "")) if own else ((ESP, ""),)
        peer = self.dns.address_in(f"spf.{ESP}", self.random)
        return _Mail(message, f"bounce-{self.random.randint(1, 9999)}@{domain}", peer, signers)

    def _spam(self, tenant: DemoTenant, to: MailboxSpec, when: dt.datetime) -> _Mail:
        sender = self.random.choice(SPAMMERS)
        domain = _domain_of(sender)
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
        signs = domain in self.dns.domains and bool(self.dns[domain].selector)
        return _Mail(message, sender, self._ip("100.64.12"), ((domain, ""),) if signs else ())

    def _phish(self, tenant: DemoTenant, to: MailboxSpec, when: dt.datetime) -> _Mail:
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
        signs = lookalike in self.dns.domains and bool(self.dns[lookalike].selector)
        return _Mail(message, sender[1], self._ip("45.13.22"), ((lookalike, ""),) if signs else ())

    def _spoof(self, tenant: DemoTenant, to: MailboxSpec, when: dt.datetime) -> _Mail:
        """An exact-domain spoof: DMARC fails, and the domain's policy says what to do with it."""
        flavour = self.random.random()
        if flavour < 0.35:  # the tenant's own executive, sent through the attacker's authenticated throwaway
            boss = next((u for u in tenant.users if u.priority_account), tenant.users[0])
            message = self._base((boss.display_name, boss.address), to, "Quick favour - are you at your desk?", when)
            message.set_content(
                f"{to.display_name.split()[0]}, I need a few gift cards for a client today. "
                "Can you buy them and send me the codes? I will reimburse you. Reply here only.\n"
            )
            mail_from = f"bounce-{self.random.randint(100, 999)}@gmail-mail.com"
            peer = self.dns.address_in("gmail-mail.com", self.random)
            return _Mail(message, mail_from, peer, (("gmail-mail.com", ""),))
        partner = self.random.choice(_ENFORCING_PARTNERS)
        domain = _domain_of(partner[1])
        message = self._base(partner, to, "Updated bank details for your next payment", when)
        message.set_content(
            "Please note that our bank details have changed. Use the new account below for all payments "
            "from today and confirm by replying to this message.\nIBAN: GB33 BUKB 2020 1555 5555 55\n"
        )
        # Unsigned, or signed in the partner's name with a key that is not the partner's.
        signers = ((domain, "gmail-mail.com"),) if flavour > 0.7 else ()
        return _Mail(message, partner[1], self._attacker_ip(), signers)

    def _impersonation(self, tenant: DemoTenant, to: MailboxSpec, when: dt.datetime) -> _Mail:
        boss = next((u for u in tenant.users if u.priority_account), tenant.users[0])
        sender = (boss.display_name, f"{boss.display_name.split()[0].lower()}.ceo.office@gmail-mail.com")
        message = self._base(sender, to, "Urgent wire transfer needed today", when)
        message.set_content(
            f"{to.display_name.split()[0]}, I need you to process an urgent wire transfer to a new supplier "
            "before 3pm. I am in meetings, reply by email only. Keep this confidential.\n"
        )
        peer = self.dns.address_in("gmail-mail.com", self.random)
        return _Mail(message, sender[1], peer, (("gmail-mail.com", ""),))

    def _malware(self, tenant: DemoTenant, to: MailboxSpec, when: dt.datetime) -> _Mail:
        partner = self.random.choice(PARTNERS)
        sender = (partner[0], f"billing@{_domain_of(partner[1]).replace('.com', '-invoices.com')}")
        message = self._base(sender, to, "Overdue invoice - please review attached", when)
        message.set_content("Please review the attached invoice and pay within 3 days.\n")
        if self.random.random() < 0.5:
            message.add_attachment(_eicar(), maintype="application", subtype="octet-stream", filename="invoice.com")
        else:
            message.add_attachment(
                _zip_with("invoice.txt", _eicar()), maintype="application", subtype="zip", filename="invoice.zip"
            )
        return _Mail(message, sender[1], self._ip("91.240.118"))

    def _executable(self, tenant: DemoTenant, to: MailboxSpec, when: dt.datetime) -> _Mail:
        sender = ("Shipping Notice", "notice@track-parcel-delivery.info")
        message = self._base(sender, to, "Your parcel could not be delivered", when)
        message.set_content("Open the attached form to reschedule delivery.\n")
        message.add_attachment(_fake_exe(), maintype="application", subtype="pdf", filename="delivery-form.pdf.exe")
        return _Mail(message, sender[1], self._ip("91.240.118"))

    def _internal(self, tenant: DemoTenant, to: MailboxSpec, when: dt.datetime) -> _Mail:
        colleague = self.random.choice([u for u in tenant.users if u.address != to.address] or list(tenant.users))
        message = self._base((colleague.display_name, colleague.address), to, "Lunch on Thursday?", when)
        message.set_content("Shall we try the new place on Thursday at 12:30?\n")
        return _Mail(message, colleague.address, "10.0.0.25", ((_domain_of(colleague.address), ""),))
