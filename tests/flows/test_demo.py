"""The demo office has something to try (issue point 8): a published quarter with a standing for
the guest once linked, a quarter in progress, two 4-in-1 cases at different stages and a
finished broadcast, all dated from today; publishing tells each ranked ASN."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.services import demo, periods
from bot.services.agencies import ensure_default_agency
from bot.services.four_in_one import RELATIONS
from bot.services.periods import QuarterRef
from bot.services.rating_scheme import scheme_from
from storage.models import (
    Broadcast,
    CaseContact,
    Delivery,
    Employee,
    FourInOneCase,
    RatingPeriod,
    Standing,
)
from tests.flows.test_standings import T0, _rate
from tests.helpers.four_in_one_helpers import OFFICER_PHONE, staff_opens
from tests.helpers.rating_helpers import MEGA, employee_ids, linked, open_quarter


async def test_demo_story_is_current_and_loads_once(chat, demo_app) -> None:
    now = datetime.now(UTC)
    async with demo_app.sessions() as session, session.begin():
        agency = await ensure_default_agency(session, demo_app.settings)
        story = await demo.load(session, agency, demo_app.settings)
    assert story.made and story.cases == 2 and story.broadcasts == 1 and story.ratings > 100
    this = periods.quarter_of(now, periods.ZoneInfo("Asia/Jakarta"))
    assert story.open == this.label and story.published == demo.previous(this).label
    async with demo_app.sessions() as session:
        states = {periods.label(p): p.state for p in await session.scalars(select(RatingPeriod))}
        assert states == {story.published: periods.PUBLISHED, story.open: periods.OPEN}
        mega = await session.scalar(select(Employee).where(Employee.nip == "199803132020012001"))
        assert mega is not None
        standing = await session.scalar(
            select(Standing).where(Standing.employee_id == mega.id, Standing.eligible)
        )
        assert standing is not None  # the guest who links as Mega has a standing to see
        found = list(await session.scalars(select(FourInOneCase).order_by(FourInOneCase.id)))
        # Two stages: a fresh report, and a confirmed death with documents under way.
        assert [c.match_confirmed_at is not None for c in found] == [False, True]
        [broadcast] = list(await session.scalars(select(Broadcast)))
        assert broadcast.status == "done"
    async with demo_app.sessions() as session, session.begin():
        agency = await ensure_default_agency(session, demo_app.settings)
        again = await demo.load(session, agency, demo_app.settings)
    assert not again.made

    guest = await linked(chat, MEGA)
    await guest.send("/posisi")
    assert f"Posisi Anda triwulan {story.published}" in guest.text
    await guest.send("/nilai")
    assert story.open in guest.text and "Rina Harahap" in " ".join(guest.labels)


async def test_publishing_tells_each_ranked_asn(chat, demo_app) -> None:
    mega = await linked(chat, MEGA)
    del mega
    ids = await employee_ids(demo_app)
    period_id = await open_quarter(demo_app, QuarterRef(2025, 1))
    async with demo_app.sessions() as session, session.begin():
        for i, rater in enumerate((2, 3, 4)):
            await _rate(session, period_id, ids[rater], ids[MEGA], 4, T0, rel="subordinate")
            await _rate(session, period_id, ids[rater], ids[10], 4, T0)  # not linked: no message
            del i
        period = await session.get(RatingPeriod, period_id)
        assert period is not None
        await periods.close_period(session, period, scheme_from(), "test")
        await periods.publish_period(session, period, scheme_from(), "test")
    async with demo_app.sessions() as session:
        told = list(
            await session.scalars(select(Delivery).where(Delivery.message_key == "standing.ready"))
        )
    assert len(told) == 1 and told[0].params == {"period": "2025-Q1"}


def test_demo_cases_name_relations_the_catalogs_know() -> None:
    specs = demo.scenario()["cases"]
    assert specs and all(s.get("relation") in RELATIONS for s in specs), specs


async def test_demo_case_card_shows_the_relation_in_words(chat, demo_app) -> None:
    async with demo_app.sessions() as session, session.begin():
        agency = await ensure_default_agency(session, demo_app.settings)
        await demo.load(session, agency, demo_app.settings)
    async with demo_app.sessions() as session:
        relations = set(await session.scalars(select(CaseContact.relation)))
    assert relations - {None} and relations - {None} <= set(RELATIONS)
    officer = await staff_opens(chat, "7301", OFFICER_PHONE, 1)
    assert "Siti Aminah" in officer.text and "four_in_one.relation" not in officer.text
