from __future__ import annotations

import dataclasses

from ramparts.detection.builtin.auth import AuthOutcome
from ramparts.detection.builtin.findings import Finding, Technology
from ramparts.detection.builtin.phishing import check_phishing, score_links
from ramparts.domain.enums import AuthResult, EmailActionPolicy
from ramparts.domain.verdicts import Verdict
from tests.detection.builtin.support import CONTOSO, envelope, mail, parse

INTERNAL = ("10.0.0.0/8",)


def findings(
    sender: str, *, auth: AuthOutcome | None = None, peer: str = "203.0.113.5", **kwargs: object
) -> list[Finding]:
    message = parse(mail(sender, **kwargs).as_bytes())  # type: ignore[arg-type]
    address = message.from_.address if message.from_ else ""
    return check_phishing(message, envelope(address, peer), CONTOSO, auth, INTERNAL)


def auth(spf: str, dkim: str, dmarc: str, comp: str, domain: str, policy: str = "") -> AuthOutcome:
    return AuthOutcome(AuthResult(spf), AuthResult(dkim), AuthResult(dmarc), AuthResult(comp), domain, policy)


def test_display_name_of_a_tenant_user_from_outside_is_user_impersonation() -> None:
    [finding] = findings("Nestor Wilke <nestor.ceo.office@gmail-mail.com>", subject="Urgent wire transfer")
    assert (finding.verdict, finding.technology, finding.policy_family) == (
        Verdict.PHISH,
        "Impersonation user",
        EmailActionPolicy.ANTIPHISH_USER_IMPERSONATION,
    )
    assert "imitates the tenant user Nestor Wilke <nestor.wilke@contoso.com>" in finding.reason
    assert [f.technology for f in findings('"Wilke, Nestor" <nw@example.net>')] == ["Impersonation user"]
    assert [f.technology for f in findings("Nestor Wi1ke <nw@example.net>")] == ["Impersonation user"]
    assert findings("Nestor Wilke <nestor.wilke@contoso.com>") == []  # the user himself
    assert findings("Nestor Smith <nestor@example.net>") == []


def test_lookalike_sender_domains_are_domain_impersonation() -> None:
    for sender in (
        "it@contos0.com",
        "it@c0ntoso.com",
        "it@contoso-secure.com",
        "it@contosso.com",
        "it@xn--cntoso-wqf.com",
    ):
        [finding] = findings(f"IT Service Desk <{sender}>")
        assert (finding.verdict, finding.technology, finding.threat_name) == (
            Verdict.PHISH,
            "Impersonation domain",
            "Ramparts.DomainImpersonation",
        ), sender
    assert findings("IT Service Desk <it@adatum.com>") == []
    [named] = findings("contoso.com IT <helpdesk@mailer.example>")
    assert "names the protected domain contoso.com" in named.reason


def test_spoof_of_own_domain_from_outside_is_intra_org_spoof() -> None:
    failing = auth("fail", "none", "fail", "fail", "contoso.com", "quarantine")
    technologies = [f.technology for f in findings("Megan Bowen <megan.bowen@contoso.com>", auth=failing)]
    assert technologies == [Technology.SPOOF_INTRA_ORG, Technology.SPOOF_DMARC]
    assert findings("Megan Bowen <megan.bowen@contoso.com>", auth=failing, peer="10.0.0.25")[0].technology == (
        Technology.SPOOF_DMARC
    )
    no_dmarc = auth("none", "none", "none", "none", "contoso.com")
    assert findings("Megan Bowen <megan.bowen@contoso.com>", auth=no_dmarc) == []


def test_dmarc_fail_counts_only_with_quarantine_or_reject() -> None:
    assert [
        f.technology
        for f in findings("a@adatum.com", auth=auth("fail", "fail", "fail", "fail", "adatum.com", "reject"))
    ] == ["Spoof DMARC"]
    assert findings("a@adatum.com", auth=auth("fail", "fail", "fail", "fail", "adatum.com", "none")) == []


PHISH_HTML = (
    "<html><body><p>Your password expires in 2 hours.</p>"
    '<p><a href="http://login.contos0.com/owa/verify-account?user=megan">https://outlook.office.com/verify</a></p>'
    '<form action="http://collect.badhost.example/post.php" method="post">'
    '<input name="password" type="password"></form></body></html>'
)


def test_credential_links_score_each_signal_once() -> None:
    message = parse(
        mail(
            "IT <it@helpdesk-mail.example>",
            html=PHISH_HTML,
            body="Verify at http://192.0.2.80/login and https://bit.ly/3xyz\n",
        ).as_bytes()
    )
    report = score_links(message, CONTOSO)
    assert report.signals == (
        "sign-in wording in a link (login)",
        "a link host that imitates the tenant (login.contos0.com uses look-alike characters for contoso.com)",
        "link text showing outlook.office.com while the link goes to login.contos0.com",
        "a link to the IP address 192.0.2.80",
        "a shortened link (bit.ly)",
        "a form that posts to collect.badhost.example",
        "a form asking for a password",
    )
    assert report.score == 1 + 1 + 1 + 2 + 2 + 2 + 2


def test_credential_links_alone_are_phishing_and_with_impersonation_high_confidence() -> None:
    [links] = findings("IT <it@helpdesk-mail.example>", html=PHISH_HTML)
    assert (links.verdict, links.technology, links.policy_family) == (
        Verdict.PHISH,
        "Advanced filter",
        EmailActionPolicy.ANTISPAM_PHISH,
    )
    combined = findings(
        "IT Service Desk <it-support@contos0.com>",
        html=PHISH_HTML,
        auth=auth("none", "none", "none", "none", "contos0.com"),
    )
    assert [(f.verdict, f.technology) for f in combined] == [
        (Verdict.PHISH, "Impersonation domain"),
        (Verdict.HIGH_CONFIDENCE_PHISH, "Mixed analysis detection"),
        (Verdict.PHISH, "Advanced filter"),
    ]


def test_ordinary_links_do_not_score_and_allowed_urls_are_skipped() -> None:
    html = '<p>See the <a href="https://portal.adatum.com/projects/12/tracker">project tracker</a>.</p>'
    assert findings("Jordan <jordan@adatum.com>", html=html) == []
    message = parse(mail("IT <it@helpdesk-mail.example>", html=PHISH_HTML).as_bytes())
    allowed = dataclasses.replace(CONTOSO, allowed_urls=("login.contos0.com",))
    # the link text https://outlook.office.com/verify is itself a URL the parser reports
    assert score_links(message, allowed).signals == (
        "sign-in wording in a link (verify)",
        "a form that posts to collect.badhost.example",
        "a form asking for a password",
    )


def test_within_one_edit_agrees_with_edit_distance() -> None:
    from ramparts.detection.builtin.lookalike import edit_distance, within_one_edit

    words = [
        "nestor wilke",
        "nestor wi1ke",
        "nestro wilke",
        "nestor wilk",
        "nestor wilkes",
        "nestr wilke",
        "megan bowen",
        "nestor  wilke",
        "",
        "a",
        "ab",
        "ba",
        "abc",
    ]
    for a in words:
        for b in words:
            assert within_one_edit(a, b) == (edit_distance(a, b, 1) <= 1), (a, b)
