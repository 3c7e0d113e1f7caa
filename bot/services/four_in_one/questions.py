"""A family's question to the 4-in-1 desk ("Tanya petugas") and the officer's answer: the
question waits in the desk's queue, every officer of the agency is told, the answer goes back to
the chat that asked, and the exchange stays with the case (`case_question`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.services import audit
from bot.services.four_in_one.escalation import staff_accounts
from bot.services.four_in_one.events import family_accounts, record_event
from storage.db import changed_rows
from storage.models import Account, CaseQuestion, FourInOneCase

QUESTION_LIMIT = 1000  # a question or an answer longer than this is cut
PREVIEW = 120  # characters of the question an officer's notification quotes
ASKERS = {"officer"}  # who is told of a new question: the desk officers


async def ask(
    session: AsyncSession, case: FourInOneCase, account: Account, text: str, now: datetime
) -> CaseQuestion:
    question = CaseQuestion(
        agency_id=case.agency_id,
        case_id=case.id,
        account_id=account.id,
        question=text.strip()[:QUESTION_LIMIT],
        created_at=now,
    )
    session.add(question)
    await session.flush()
    record_event(session, case, "question", f"account:{account.id}", now)
    for officer in await staff_accounts(session, case.agency_id, ASKERS):
        await delivery.enqueue(
            session,
            officer,
            "questions.notify_officer",
            source=f"case:{case.id}",
            params={
                "number": case.id,
                "question_id": question.id,
                "text": question.question[:PREVIEW],
            },
            dedup_key=f"question:{question.id}:a{officer.id}",
        )
    return question


async def open_questions(
    session: AsyncSession, agency_id: int, limit: int = 50
) -> Sequence[CaseQuestion]:
    """Questions still waiting, oldest first."""
    rows = await session.scalars(
        select(CaseQuestion)
        .where(CaseQuestion.agency_id == agency_id, CaseQuestion.answered_at.is_(None))
        .order_by(CaseQuestion.created_at, CaseQuestion.id)
        .limit(limit)
    )
    return rows.all()


async def all_questions(
    session: AsyncSession, agency_id: int, limit: int = 50
) -> Sequence[CaseQuestion]:
    """Every question of the agency, newest first."""
    rows = await session.scalars(
        select(CaseQuestion)
        .where(CaseQuestion.agency_id == agency_id)
        .order_by(CaseQuestion.created_at.desc(), CaseQuestion.id.desc())
        .limit(limit)
    )
    return rows.all()


async def count_open(session: AsyncSession, agency_id: int) -> int:
    found = await session.scalar(
        select(func.count())
        .select_from(CaseQuestion)
        .where(CaseQuestion.agency_id == agency_id, CaseQuestion.answered_at.is_(None))
    )
    return int(found or 0)


async def of_case(session: AsyncSession, case_id: int) -> Sequence[CaseQuestion]:
    rows = await session.scalars(
        select(CaseQuestion).where(CaseQuestion.case_id == case_id).order_by(CaseQuestion.id)
    )
    return rows.all()


async def for_staff(session: AsyncSession, agency_id: int, question_id: int) -> CaseQuestion | None:
    """The question a payload or a command names, only within the officer's own agency."""
    question = await session.get(CaseQuestion, question_id)
    return question if question is not None and question.agency_id == agency_id else None


async def answer(
    session: AsyncSession, question: CaseQuestion, text: str, actor: str, now: datetime
) -> int | None:
    """Answer once: the chat that asked (else every chat following the case) is sent the
    answer; returns how many chats, or None for a question already answered (never twice)."""
    case = await session.get(FourInOneCase, question.case_id)
    if question.answered_at is not None or case is None:
        return None
    # Two officers answering at once: the first write wins, the second is told it was answered.
    written = await session.execute(
        update(CaseQuestion)
        .where(CaseQuestion.id == question.id, CaseQuestion.answered_at.is_(None))
        .values(answer=text.strip()[:QUESTION_LIMIT], answered_by=actor, answered_at=now)
    )
    if changed_rows(written) != 1:
        return None
    await session.refresh(question)
    record_event(session, case, "answer", actor, now)
    audit.record(
        session,
        actor=actor,
        action="case.answer",
        agency_id=question.agency_id,
        target=f"case:{case.id}",
        question=question.id,
    )
    followers = [a for a, _ in await family_accounts(session, case)]
    asker = [a for a in followers if a.id == question.account_id]
    sent = 0
    for account in asker or followers:
        made = await delivery.enqueue(
            session,
            account,
            "questions.answer_for_family",
            source=f"case:{case.id}",
            params={
                "number": case.id,
                "question": question.question[:PREVIEW],
                "answer": question.answer,
            },
            dedup_key=f"answer:{question.id}:a{account.id}",
        )
        sent += made is not None
    return sent
