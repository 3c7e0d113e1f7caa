"""Chat accounts that stand for people who used Abdi before: they have seen the privacy notice.

A first contact gets the notice as its own reply before the answer; tests about something else
(de-duplication, linking, message counts) start from users Abdi already knows, made here."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app import App
from bot.services.agencies import ensure_default_agency
from storage.models import Account


async def known_users(app: App, *user_refs: str | int, channel: str = "telegram") -> None:
    async with app.sessions() as session, session.begin():
        agency = await ensure_default_agency(session, app.settings)
        for ref in map(str, user_refs):
            whatsapp = channel == "whatsapp"  # a user id ("ID.123") or a number, as 0010 reads them
            session.add(
                Account(
                    agency_id=agency.id,
                    channel=channel,
                    user_ref=ref,
                    chat_ref=ref,
                    bsuid=ref if whatsapp and "." in ref else None,
                    wa_id=ref if whatsapp and ref.isdigit() else None,
                    notice_version=app.dispatcher.notices.version,
                    notice_seen_at=datetime.now(UTC),
                )
            )
