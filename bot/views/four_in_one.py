"""The 4-in-1 case in words, for the chat and the terminal alike: what the family sees, the
staff card, the HR report's lines. Text only: no channel, no database."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import Translator
from bot.services.four_in_one.deadline import moment_words, when_text
from bot.services.four_in_one.rules import BY_OFFICER, DUPLICATE, REJECTED, UNKNOWN_TIME
from bot.services.four_in_one.sla_report import MonthFigures
from storage.models import CaseContact, FourInOneCase
from storage.statuses import CaseStatus


def display_phone(phone: str) -> str:
    """6281299991234 as people read it: 0812-9999-1234."""
    local = "0" + phone[2:] if phone.startswith("62") else phone
    return "-".join(local[i : i + 4] for i in range(0, len(local), 4))


def died_text(t: Translator, moment: datetime, zone: str) -> str:
    """When the death happened; a time nobody knew is said so, never made up."""
    if moment.astimezone(ZoneInfo(zone)).time() != UNKNOWN_TIME:
        return when_text(t, moment, zone)
    words = moment_words(moment, zone, t.locale)
    return t("four_in_one.when_no_time", weekday=words.weekday, day=words.day)


def status_lines(t: Translator, case: FourInOneCase, notes: bool = True) -> str:
    lines = []
    for doc in case.documents:
        line = t(
            "four_in_one.doc_line",
            doc=t(f"four_in_one.doc.{doc.kind}"),
            status=t(f"four_in_one.status.{doc.status}"),
        )
        lines.append(line + (f"\n   📝 {doc.note}" if notes and doc.note else ""))
    return "\n".join(lines)


def family_view(t: Translator, case: FourInOneCase, zone: str, trusted: bool = False) -> str:
    """What the family sees: statuses and dates, no personal data. Officers' notes, the handover
    place and the receipt button are only for the trusted family (see `trusted`): a code can be
    passed on, and whoever holds it learns statuses and dates only."""
    parts = [t("four_in_one.view.head", number=case.id), status_lines(t, case, notes=trusted)]
    if case.status == CaseStatus.CLOSED:
        parts.append(t("four_in_one.view.closed"))
    elif case.status in (CaseStatus.CANCELLED, REJECTED):
        parts.append(t("four_in_one.view.cancelled"))
    elif case.status == CaseStatus.READY and case.handover_at is not None and trusted:
        parts.append(
            t(
                "four_in_one.view.handover",
                when=when_text(t, case.handover_at, zone),
                place=case.handover_place or "-",
            )
        )
    elif case.status == CaseStatus.READY and case.handover_at is not None:
        parts.append(t("four_in_one.view.handover_date", when=when_text(t, case.handover_at, zone)))
    else:
        parts.append(t("four_in_one.target", when=when_text(t, case.deadline_at, zone)))
    return "\n\n".join(parts)


def contact_mark(t: Translator, contact: CaseContact) -> str:
    """Where a contact's details came from, and whether its chat is the verified family."""
    if contact.verified:
        return t("four_in_one.contact.verified")
    if contact.source == BY_OFFICER:
        return t("four_in_one.contact.by_officer")
    return t("four_in_one.contact.by_reporter")


def staff_view(t: Translator, case: FourInOneCase, zone: str) -> str:
    """The full case for staff (personal data: callers audit-log the read)."""
    contacts = "\n".join(
        t(
            "four_in_one.contact_line",
            name=c.name or "-",
            relation=t(f"four_in_one.relation.{c.relation}") if c.relation else "-",
            phone=display_phone(c.phone) if c.phone else "-",
            mark=contact_mark(t, c),
        )
        for c in case.contacts
        if c.name or c.phone
    )
    chats = {c.account_id for c in case.contacts if c.account_id is not None}
    verified = {c.account_id for c in case.contacts if c.account_id is not None and c.verified}
    followers = t("four_in_one.card_followers", chats=len(chats), verified=len(verified))
    match_key = "four_in_one.match.none"
    if case.employee_id is not None:
        confirmed = case.match_confirmed_at is not None
        match_key = "four_in_one.match.confirmed" if confirmed else "four_in_one.match.candidate"
    return t(
        "four_in_one.card",
        number=case.id,
        name=case.deceased_name,
        nip=case.deceased_nip or "-",
        unit=case.deceased_unit or case.pensioner_number or "-",
        died=died_text(t, case.died_at, zone),
        target=when_text(t, case.deadline_at, zone),
        handover=_handover_line(t, case, zone),
        match=t(match_key),
        contacts=contacts or "-",
        docs=status_lines(t, case),
        stage=t(f"four_in_one.stage.{case.status}"),
        followers=followers,
    ) + (
        "\n\n" + t("four_in_one.card_duplicate", survivor=case.duplicate_of_id)
        if case.status == DUPLICATE and case.duplicate_of_id is not None
        else ""
    )


def _handover_line(t: Translator, case: FourInOneCase, zone: str) -> str:
    """The handover the desk set, under the target: empty until one is set."""
    if case.handover_at is None:
        return ""
    when = when_text(t, case.handover_at, zone)
    return "\n" + t("four_in_one.card_handover", when=when, place=case.handover_place or "-")


def late_handover(t: Translator, case: FourInOneCase, zone: str) -> str | None:
    """A warning when the planned handover falls after the third-night target (allowed)."""
    if case.handover_at is None or case.handover_at <= case.deadline_at:
        return None
    return t("four_in_one.after_target", target=when_text(t, case.deadline_at, zone))


def report_text(t: Translator, m: MonthFigures) -> str:
    """One month of the HR report, for the chat and the terminal alike."""
    line = t(
        "four_in_one.report.line",
        month=m.month,
        cases=m.cases,
        on_time=m.on_time,
        share=t.decimal(100 * m.on_time_share, 0),
        overdue=m.overdue,
    )
    medians = ", ".join(
        f"{t(f'four_in_one.doc_short.{k}')} {t.decimal(v, 1) if v is not None else '-'}"
        for k, v in m.median_hours.items()
    )
    return f"{line}\n{t('four_in_one.report.median', medians=medians)}"
