"""The pieces built apart meet in one process: 4-in-1 warnings go out from the periodic job
runner (as `abdi run` and `abdi worker` run it), and every configured channel gets a sender."""

from __future__ import annotations

from datetime import timedelta

from pydantic import SecretStr

from bot import background, jobs
from bot.services import four_in_one as cases
from bot.services.agencies import ensure_default_agency
from tests.flows.test_four_in_one_service import DIED, DUE
from tests.helpers.four_in_one_helpers import DECEASED_NIP, OFFICER_PHONE, link


async def test_the_job_runner_warns_officers_of_a_case_at_risk(chat, demo_app, inbox) -> None:
    await link(chat("8101"), OFFICER_PHONE)
    async with demo_app.sessions() as session, session.begin():
        agency = await ensure_default_agency(session, demo_app.settings)
        report = cases.Report(DIED, nip=DECEASED_NIP)
        await cases.open_case(
            session, agency, report, actor="test", via="officer", settings=demo_app.settings,
            now=DIED + timedelta(hours=1),
        )  # fmt: skip
    assert await jobs.run_due(demo_app, DUE - timedelta(days=2), names=["case.escalate"])
    assert await inbox("8101") == []  # two days out: nothing to warn about yet
    assert await jobs.run_due(demo_app, DUE - timedelta(hours=20), names=["case.escalate"])
    assert not await jobs.run_due(demo_app, DUE - timedelta(hours=20), names=["case.escalate"])
    warned = await inbox("8101")
    assert len(warned) == 1 and "kurang dari 24 jam" in warned[0]


async def test_each_configured_channel_gets_a_sender(demo_app) -> None:
    assert background.channel_senders(demo_app) == {}  # no tokens: nothing to send through
    demo_app.settings = demo_app.settings.model_copy(
        update={
            "telegram_bot_token": SecretStr("123:abc"),
            "whatsapp_token": SecretStr("t"),
            "whatsapp_phone_number_id": "1",
            "whatsapp_app_secret": SecretStr("s"),
            "whatsapp_verify_token": SecretStr("v"),
        }
    )
    senders = background.channel_senders(demo_app)
    try:
        assert set(senders) == {"telegram", "whatsapp"}
        assert senders["whatsapp"].limits.per_chat_interval == 6
    finally:
        for sender in senders.values():
            await sender.close()


async def test_a_broadcast_goes_out_on_each_recipients_channel(demo_app, bot_api) -> None:
    """Telegram users get text; WhatsApp users get text inside 24 h and the template outside."""
    from datetime import UTC, datetime

    from sqlalchemy import select, update

    from bot.channels.whatsapp import WhatsAppAdapter
    from bot.channels.whatsapp_sender import WhatsAppSender
    from bot.services.broadcasting.audiences import EVERYONE, Audience
    from storage.models import Account
    from tests.fakes.chat import WhatsAppHarness
    from tests.helpers.delivery_helpers import (
        drain_all,
        link_all,
        send_now,
        statuses,
        telegram_sender,
    )

    harness = await WhatsAppHarness(demo_app).start()
    try:
        on_whatsapp = await link_all(demo_app, channel="whatsapp", limit=4)
        on_telegram = await link_all(demo_app, channel="telegram")  # everyone, some on both
        now = datetime.now(UTC)
        recent, old = sorted(on_whatsapp)[:2], sorted(on_whatsapp)[2:]
        async with demo_app.sessions() as session, session.begin():
            for employee_id, hours in [*((e, 2) for e in recent), *((e, 30) for e in old)]:
                await session.execute(
                    update(Account)
                    .where(Account.employee_id == employee_id, Account.channel == "whatsapp")
                    .values(last_inbound_at=now - timedelta(hours=hours))
                )
                harness.fake.user_wrote(str(on_whatsapp[employee_id]), ago=hours * 3600)
            # A person on both channels is reached on the one they used last: WhatsApp here.
            await session.execute(
                update(Account)
                .where(Account.channel == "telegram", Account.employee_id.in_(on_whatsapp))
                .values(last_inbound_at=now - timedelta(days=3))
            )
        broadcast_id = await send_now(demo_app, Audience(EVERYONE))
        fast = demo_app.settings.model_copy(
            update={"whatsapp_per_second": 1000.0, "whatsapp_per_chat_interval": 0.0}
        )
        senders = {
            "telegram": telegram_sender(demo_app, bot_api),
            "whatsapp": WhatsAppSender(WhatsAppAdapter(demo_app, harness.wa), fast),
        }
        await drain_all(demo_app, senders)
        await senders["telegram"].close()
        assert set((await statuses(demo_app, broadcast_id)).values()) == {"sent"}
        kinds = {c.to: c.params["type"] for c in harness.fake.sent()}
        assert {kinds[str(on_whatsapp[e])] for e in recent} == {"text"}
        assert {kinds[str(on_whatsapp[e])] for e in old} == {"template"}
        telegram_chats = {int(c.params["chat_id"]) for c in bot_api.sent()}
        assert telegram_chats == {chat for e, chat in on_telegram.items() if e not in on_whatsapp}
        async with demo_app.sessions() as session:
            employees = set(await session.scalars(select(Account.employee_id)))
        assert len(telegram_chats) + len(on_whatsapp) == len(employees - {None})  # each once
    finally:
        await harness.stop()
