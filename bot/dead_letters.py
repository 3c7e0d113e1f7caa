"""Webhook and polling bodies we accepted but could not read, kept with their exact bytes.

A platform that was told "taken" will not send them again, so they are kept for an operator to
read (`abdi whatsapp dead-letters`, `abdi telegram dead-letters`) and, once the code reads them,
to replay. Never raises: a copy that cannot be stored is logged with the body and reported to the
caller, which then leaves the body unacknowledged.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics
from storage.models import WebhookDeadLetter

log = logging.getLogger("abdi.dead_letters")


async def keep(
    sessions: async_sessionmaker[AsyncSession], channel: str, body: bytes, reason: str
) -> bool:
    """Store a body; False when the database could not take it (the caller must not ack it)."""
    # One line at ERROR: an operator should look; the reason says what, without a traceback.
    log.error("unreadable %s body kept for inspection: %s", channel, reason[:200])
    try:
        async with sessions() as session, session.begin():
            session.add(
                WebhookDeadLetter(
                    channel=channel,
                    reason=reason[:200],
                    # For reading: NUL, which PostgreSQL text cannot hold, shown as U+FFFD too.
                    body=body.decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
                    raw=body,
                )
            )
    except Exception as exc:
        log.error("dead letter not stored (%s); body follows: %r", type(exc).__name__, body[:4096])
        return False
    metrics.update(channel, metrics.UpdateOutcome.KEPT)
    return True
