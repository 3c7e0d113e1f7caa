"""What every change leaves behind: a `case_event` row, and a delivery to each following chat."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.i18n import DEFAULT_LOCALE, Translator, translator
from storage.models import Account, CaseContact, CaseEvent, FourInOneCase


def record_event(
    session: AsyncSession,
    case: FourInOneCase,
    kind: str,
    actor: str,
    now: datetime,
    **fields: str | None,
) -> None:
    session.add(CaseEvent(case_id=case.id, kind=kind, actor=actor, at=now, **fields))


async def family_accounts(session: AsyncSession, case: FourInOneCase) -> list[tuple[Account, bool]]:
    """The chats following the case, each with whether it is the verified family (`trusted`):
    notes and the handover place go to the verified family only."""
    rows = await session.execute(
        select(Account, CaseContact.verified)
        .join(CaseContact, CaseContact.account_id == Account.id)
        .where(CaseContact.case_id == case.id)
        .order_by(Account.id)
    )
    found: dict[int, tuple[Account, bool]] = {}
    for account, verified in rows:
        known = found.get(account.id, (account, False))
        found[account.id] = (account, known[1] or bool(verified))
    return list(found.values())


def reader_translator(account: Account) -> Translator:
    # The same language `delivery.render` will use for the rest of the message.
    return translator(account.locale or DEFAULT_LOCALE)


async def notify_family(
    session: AsyncSession,
    case: FourInOneCase,
    key: str,
    params_for: Callable[[Translator, bool], dict[str, object]],
    dedup: str | None = None,
    plain_key: str | None = None,
) -> int:
    """Record one notification per following chat. Words that depend on the language (document
    names, dates) are put in the reader's language now, as `render` only fills placeholders."""
    sent = 0
    for account, trusted_ in await family_accounts(session, case):
        t = reader_translator(account)
        made = await delivery.enqueue(
            session,
            account,
            key if trusted_ else plain_key or key,
            source=f"case:{case.id}",
            params=params_for(t, trusted_),
            dedup_key=f"{dedup}:a{account.id}" if dedup else None,
        )
        sent += made is not None
    return sent
