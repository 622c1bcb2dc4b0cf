from __future__ import annotations

from ramparts.detection.builtin.bulk import check_bulk_and_spam
from ramparts.domain.enums import EmailActionPolicy
from ramparts.domain.verdicts import Verdict
from tests.detection.builtin.support import mail, parse

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*" + "GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def newsletter() -> bytes:
    return mail(
        "Cloud Weekly <news@mail.cloudweekly.io>",
        "Cloud Weekly: this week's top picks",
        "Top stories this week. Read more at https://cloudweekly.io/issues/212\n"
        "Limited time offer: save 30% today at https://cloudweekly.io/deals\n"
        "Unsubscribe: https://cloudweekly.io/unsubscribe\n",
        headers={
            "List-Unsubscribe": "<https://cloudweekly.io/unsubscribe?u=abc123>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": "Cloud Weekly <list.cloudweekly.io>",
            "Precedence": "bulk",
            "Feedback-ID": "campaign12:cloudweekly.io",
        },
    ).as_bytes()


def test_newsletter_has_a_high_bcl_but_no_spam_verdict() -> None:
    report = check_bulk_and_spam(parse(newsletter()))
    assert report.bcl == 9
    assert report.bcl_reasons[:5] == (
        "List-Unsubscribe header",
        "List-Id header",
        "Precedence: bulk",
        "bulk-mail provider header Feedback-ID",
        "unsubscribe link in the body",
    )
    assert report.findings == ()


def test_lightly_marked_list_mail_lands_in_the_middle() -> None:
    message = mail(
        "dev@lists.example.org",
        "Re: [dev] release plan",
        "Sounds good.\n",
        headers={"List-Id": "<dev.lists.example.org>", "List-Unsubscribe": "<mailto:leave@example.org>"},
    )
    assert check_bulk_and_spam(parse(message.as_bytes())).bcl == 3


def test_plain_business_mail_has_bcl_zero_and_no_spam() -> None:
    report = check_bulk_and_spam(parse(mail("Jordan Lee <jordan@adatum.com>").as_bytes()))
    assert (report.bcl, report.spam_score, report.findings) == (0, 0, ())


def test_many_recipients_count_towards_bcl() -> None:
    to = ", ".join(f"user{i}@contoso.com" for i in range(12))
    report = check_bulk_and_spam(parse(mail("promo@shop.example", to=to).as_bytes()))
    assert (report.bcl, report.bcl_reasons) == (1, ("12 visible recipients",))


def test_classic_spam_is_high_confidence_spam() -> None:
    message = mail(
        "winner@lucky-prize.biz",
        "CONGRATULATIONS!!! YOU HAVE WON $1,000,000",
        "Dear friend,\n\nAct now! This is a limited time offer, 100% free, risk free, no credit check. "
        "Click here to claim your prize: http://lucky-prize.biz/claim?id=77\n",
    )
    report = check_bulk_and_spam(parse(message.as_bytes()))
    [finding] = report.findings
    assert report.spam_score >= 8
    assert (finding.verdict, finding.scl, finding.policy_family) == (
        Verdict.HIGH_CONFIDENCE_SPAM,
        9,
        EmailActionPolicy.ANTISPAM_HIGH_CONFIDENCE,
    )
    assert "a subject in capitals" in finding.reason


def test_moderate_spam_is_spam_with_scl_5() -> None:
    message = mail(
        "deals@cheap-meds.top", "Cheap meds, no prescription needed", "Lowest price guaranteed. Order now.\n"
    )
    [finding] = check_bulk_and_spam(parse(message.as_bytes())).findings
    assert (finding.verdict, finding.scl) == (Verdict.SPAM, 5)
    assert finding.reason.startswith("Spam content score 5: spam phrases (cheap meds, guaranteed, lowest price, ")


def test_gtube_is_high_confidence_spam_scl_9() -> None:
    report = check_bulk_and_spam(parse(mail("tester@example.net", "test", f"Test message\n{GTUBE}\n").as_bytes()))
    [finding] = report.findings
    assert (finding.verdict, finding.threat_name, finding.scl, finding.confidence) == (
        Verdict.HIGH_CONFIDENCE_SPAM,
        "GTUBE",
        9,
        1.0,
    )
