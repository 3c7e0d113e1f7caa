"""A case's questions and answers as officers and families read them (no platform, no database)."""

from __future__ import annotations

from collections.abc import Sequence

from bot import dates
from bot.i18n import Translator
from storage.models import CaseQuestion


def exchange(t: Translator, rows: Sequence[CaseQuestion], zone: str) -> str:
    """The case's questions, each with its answer or "waiting": shown on the officer's card."""
    lines = [t("questions.history_head")]
    for q in rows:
        lines.append(
            t("questions.history_question", id=q.id, when=dates.moment(q.created_at, zone, t),
              text=q.question)
        )  # fmt: skip
        if q.answered_at is not None:
            lines.append(t("questions.history_answer", text=q.answer or ""))
        else:
            lines.append(t("questions.history_waiting"))
    return "\n".join(lines)


def line(t: Translator, q: CaseQuestion, zone: str) -> str:
    """One question in the desk's list or the CLI."""
    key = "questions.line_answered" if q.answered_at is not None else "questions.line_open"
    return t(
        key,
        id=q.id,
        number=q.case_id,
        when=dates.moment(q.created_at, zone, t),
        text=q.question,
    )
