"""The pieces built apart meet in one process: 4-in-1 warnings go out from the periodic job
runner (as `abdi run` and `abdi worker` run it), and every configured channel gets a sender."""

from __future__ import annotations

from datetime import timedelta

from bot import background, jobs
from bot.services import four_in_one as cases
from bot.services.agencies import ensure_default_agency
from tests.four_in_one_helpers import DECEASED_NIP, OFFICER_PHONE, link
from tests.test_four_in_one_service import DIED, DUE


async def test_the_job_runner_warns_officers_of_a_case_at_risk(chat, demo_app, inbox) -> None:  # type: ignore[no-untyped-def]
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


async def test_each_configured_channel_gets_a_sender(demo_app) -> None:  # type: ignore[no-untyped-def]
    assert background.channel_senders(demo_app) == {}  # no tokens: nothing to send through
    demo_app.settings = demo_app.settings.model_copy(
        update={
            "telegram_bot_token": "123:abc",
            "whatsapp_token": "t",
            "whatsapp_phone_number_id": "1",
            "whatsapp_app_secret": "s",
            "whatsapp_verify_token": "v",
        }
    )
    senders = background.channel_senders(demo_app)
    try:
        assert set(senders) == {"telegram", "whatsapp"}
        assert senders["whatsapp"].limits.per_chat_interval == 6
    finally:
        for sender in senders.values():
            await sender.close()  # type: ignore[attr-defined]
