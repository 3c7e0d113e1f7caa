"""Audiences checked against the demo roster file itself: everyone, units, roles, not rated this
quarter, not confirmed a guidance topic; and the recipients a release writes."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.cli.demo import DEMO_ROSTER
from bot.services.broadcasting import audiences, broadcasts
from bot.services.broadcasting.audiences import Audience, AudienceError
from storage.models import Account, Agency, Broadcast, Delivery, Employee, GuidanceAck, Rating, Unit
from tests.helpers.delivery_helpers import link_all
from tests.helpers.rating_helpers import open_quarter

ROWS = list(csv.DictReader(DEMO_ROSTER.open(encoding="utf-8")))


async def nips(app, audience: Audience) -> set[str]:
    async with app.sessions() as session:
        agency = await session.scalar(select(Agency))
        ids = await audiences.employee_ids(session, agency, audience, datetime.now(UTC))
        return set(await session.scalars(select(Employee.nip).where(Employee.id.in_(ids))))


async def unit_ids(app, *names: str) -> tuple[int, ...]:
    async with app.sessions() as session:
        return tuple(await session.scalars(select(Unit.id).where(Unit.name.in_(names))))


async def test_everyone_units_and_roles_match_the_roster(demo_app) -> None:
    assert await nips(demo_app, Audience(audiences.EVERYONE)) == {r["nip"] for r in ROWS}
    by_unit = Counter(r["unit"] for r in ROWS)
    two = sorted(by_unit)[:2]
    chosen = await nips(demo_app, Audience(audiences.UNITS, await unit_ids(demo_app, *two)))
    assert chosen == {r["nip"] for r in ROWS if r["unit"] in two}
    assert len(chosen) == by_unit[two[0]] + by_unit[two[1]]
    for role in ("hr", "officer"):
        expected = {r["nip"] for r in ROWS if r["role"] == role}
        assert expected and await nips(demo_app, Audience(audiences.ROLE, role=role)) == expected


async def test_not_rated_leaves_out_whoever_rated_this_quarter(demo_app) -> None:
    everyone = {r["nip"] for r in ROWS}
    assert await nips(demo_app, Audience(audiences.NOT_RATED)) == everyone  # no quarter yet
    period_id = await open_quarter(demo_app)
    rater, ratee = ROWS[3]["nip"], ROWS[1]["nip"]
    async with demo_app.sessions() as session, session.begin():
        ids = dict((await session.execute(select(Employee.nip, Employee.id))).all())
        session.add(
            Rating(
                period_id=period_id,
                rater_id=ids[rater],
                ratee_id=ids[ratee],
                relation="subordinate",
                scores={},
                score=4.0,
            )
        )
    assert await nips(demo_app, Audience(audiences.NOT_RATED)) == everyone - {rater}


async def test_not_acknowledged_uses_the_current_topic_version(demo_app) -> None:
    from bot.services import guidance

    topic, version = next(iter(guidance.library().content().versions().items()))
    done = ROWS[5]["nip"]
    async with demo_app.sessions() as session, session.begin():
        employee = await session.scalar(select(Employee).where(Employee.nip == done))
        old = await session.scalar(select(Employee).where(Employee.nip == ROWS[6]["nip"]))
        session.add(
            GuidanceAck(
                agency_id=employee.agency_id,
                employee_id=employee.id,
                topic=topic,
                version=version,
                channel="telegram",
            )
        )
        session.add(
            GuidanceAck(
                agency_id=old.agency_id,
                employee_id=old.id,
                topic=topic,
                version=version - 1,
                channel="telegram",
            )
        )
    got = await nips(demo_app, Audience(audiences.NOT_ACKED, topic=topic))
    assert got == {r["nip"] for r in ROWS} - {done}  # an old version does not count
    with pytest.raises(AudienceError):
        await nips(demo_app, Audience(audiences.NOT_ACKED, topic="no-such-topic"))


@pytest.mark.parametrize(
    "bad", [{"kind": "all"}, {"kind": "units"}, {"kind": "role", "role": "root"}, {}]
)
def test_malformed_audiences_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(AudienceError):
        Audience.from_json(bad)


async def test_release_writes_one_row_per_reachable_person_once(demo_app) -> None:
    linked = await link_all(demo_app, limit=20)
    async with demo_app.sessions() as session, session.begin():
        # One person with two accounts gets one message, on the account used last.
        first = next(iter(linked))
        session.add(
            Account(
                agency_id=1,
                channel="whatsapp",
                user_ref="wa1",
                chat_ref="wa1",
                employee_id=first,
                last_inbound_at=datetime.now(UTC),
            )
        )
        blocked = await session.scalar(
            select(Account).where(Account.employee_id == list(linked)[1])
        )
        blocked.reachable = False
    async with demo_app.sessions() as session, session.begin():
        agency = await session.scalar(select(Agency))
        size = await audiences.size(
            session, agency, Audience(audiences.EVERYONE), datetime.now(UTC)
        )
        broadcast = await broadcasts.create(
            session, agency, Audience(audiences.EVERYONE), actor="t", text="x"
        )
        count = await broadcasts.release(session, broadcast, datetime.now(UTC))
        again = await broadcasts.release_due(session, datetime.now(UTC))  # already released
    assert size.employees == len(ROWS) and size.reachable == 19
    assert count == 19 and again == []
    async with demo_app.sessions() as session:
        rows = (
            await session.execute(
                select(Account.channel, func.count())
                .join(Delivery, Delivery.account_id == Account.id)
                .group_by(Account.channel)
            )
        ).all()
        stored = await session.get(Broadcast, broadcast.id)
    assert dict(rows) == {"telegram": 18, "whatsapp": 1}
    assert stored is not None and stored.recipients == len(ROWS) and stored.status == "sending"
