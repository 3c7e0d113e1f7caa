"""The console's audit log: the agency's rows newest first, readable, filtered by actor, action,
target and local days, paged by id; the CSV export with the same filters, itself logged."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.app import App
from bot.services import audit
from storage.models import Agency, AuditLog, Employee
from tests.helpers.rating_helpers import FAJAR_HR, RINA, employee_ids, linked
from tests.helpers.web_helpers import HR_NIP, console_client, sign_in
from tests.web.test_periods import main_of

# 23.30 WIB on 6 Dec and 00.30 WIB on 7 Dec: the same UTC day, two local days.
LATE = datetime(2026, 12, 6, 16, 30, tzinfo=UTC)
EARLY = datetime(2026, 12, 6, 17, 30, tzinfo=UTC)


async def _agency_id(app: App) -> int:
    async with app.sessions() as session:
        found = await session.scalar(select(Agency.id))
        assert found is not None
        return found


async def _add(app: App, *rows: dict[str, Any]) -> None:
    """Audit rows as the services write them, at chosen times."""
    agency_id = await _agency_id(app)
    async with app.sessions() as session, session.begin():
        for row in rows:
            detail = dict(row.get("detail", {}))
            session.add(
                AuditLog(
                    agency_id=row.get("agency_id", agency_id),
                    actor=row["actor"],
                    action=row["action"],
                    target=row.get("target"),
                    detail=detail,
                    at=row.get("at", datetime.now(UTC)),
                )
            )


def rows_of(html: str) -> list[str]:
    """The body rows of the log table, as text."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return [main_of("<main>" + r + "</main>") for r in body.split("<tr")[1:]]


async def test_the_sign_in_itself_is_on_the_page_with_the_officers_name(demo_app: App) -> None:
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        answer = await client.get("/hr/audit")
        html = await answer.text()
    assert answer.status == 200
    rows = rows_of(html)
    # Newest first: the sign-in, then the code it sent, both by Fajar named with his NIP.
    assert "web.login " in rows[0] and "web.login.code_sent" in rows[1]
    assert f"Fajar Santoso {HR_NIP}" in rows[0]
    assert re.search(r"\w+, \d{1,2} \w+ \d{4}, pukul \d\d\.\d\d WIB", rows[0]), rows[0]
    # Readable: the action's name (its code beside it, as the filter and export know it) and
    # the detail as key: value lines, not JSON.
    assert "Masuk ke konsol web.login " in rows[0] and "Kode masuk dikirim" in rows[1]
    assert "via: web" in rows[0] and "address: 127.0.0.1" in rows[0] and "{" not in rows[0]


async def test_actions_read_in_the_officers_language_and_unknown_ones_as_their_code(
    demo_app: App,
) -> None:
    ids = await employee_ids(demo_app)
    rina = f"employee:{ids[RINA]}"
    await _add(
        demo_app,
        {"actor": rina, "action": "period.open", "detail": {"quarter": "2026-Q4"}},
        {"actor": rina, "action": "something.new", "detail": {"ids": [3, 4], "n": None}},
    )
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app)
        await client.post("/hr/language", data={"csrf": csrf, "lang": "en"})
        html = await (await client.get("/hr/audit")).text()
    rows = rows_of(html)
    opened = next(r for r in rows if "period.open" in r)
    assert "Quarter opened period.open" in opened and "quarter: 2026-Q4" in opened
    unknown = next(r for r in rows if "something.new" in r)
    assert "ids: 3, 4" in unknown and "n: –" in unknown
    assert '<option value="period.open">Quarter opened</option>' in html


async def test_filters_by_actor_action_target_and_local_day(demo_app: App) -> None:
    ids = await employee_ids(demo_app)
    rina = f"employee:{ids[RINA]}"
    await _add(
        demo_app,
        {"actor": rina, "action": "roster.edit", "target": "employee:7", "at": LATE},
        {"actor": rina, "action": "period.open", "target": "period:1", "at": EARLY},
        {"actor": "cli:root", "action": "period.close", "target": "period:1", "at": EARLY},
        {"actor": "cli:root", "action": "period.close", "agency_id": None, "at": EARLY},
    )
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)

        async def shown(**query: str) -> list[str]:
            answer = await client.get("/hr/audit", params=query)
            assert answer.status == 200, query
            return rows_of(await answer.text())

        by_nip = await shown(actor="198601172009012002")
        by_name = await shown(actor="rina harahap")
        assert len(by_nip) == 2 and by_nip == by_name
        assert all("Rina Harahap 198601172009012002" in r for r in by_nip)
        assert [r.count("cli:root") for r in await shown(actor="cli:root")] == [1]
        assert len(await shown(action="period.close")) == 1  # another agency's row is not here
        assert len(await shown(target="period:1")) == 2
        # Local days of the agency (WIB): 23.30 on the 6th is not the 7th.
        on_7th = await shown(since="2026-12-07", until="2026-12-07")
        assert len(on_7th) == 2 and all("Senin, 7 Des 2026, pukul 00.30 WIB" in r for r in on_7th)
        on_6th = await shown(until="2026-12-06", actor=rina)
        assert len(on_6th) == 1 and "Minggu, 6 Des 2026, pukul 23.30 WIB" in on_6th[0]
        both = await shown(actor="Rina", action="period.open", since="2026-12-01")
        assert len(both) == 1 and "period:1" in both[0]
        page = await client.get("/hr/audit", params={"action": "period.open"})
        select_box = (await page.text()).split('<select id="action"', 1)[1].split("</select>")[0]
        assert '<option value="period.open" selected>' in select_box
        assert '<option value="web.login">' in select_box


async def test_bad_filters_get_the_page_back_with_the_reason(demo_app: App) -> None:
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        cases = [
            ({"since": "2026-13-45"}, "Tanggal tidak dikenali"),
            ({"since": "2026-12-08", "until": "2026-12-01"}, "Tanggal awal harus sebelum"),
            ({"action": "drop table"}, "Tindakan itu tidak ada di log"),
            ({"actor": "123456789012345678"}, "Tidak ada pegawai dengan NIP itu"),
        ]
        for query, message in cases:
            for path in ("/hr/audit", "/hr/audit/export.csv"):
                answer = await client.get(path, params=query)
                assert answer.status == 400, (path, query)
                html = await answer.text()
                assert message in main_of(html), (path, query)
                # What was typed in a text or date box is shown back.
                for key, value in query.items():
                    if key != "action":
                        assert f'name="{key}" value="{value}"' in html, key
        # A page marker that is not a number: the newest page, 400 and why.
        assert (await client.get("/hr/audit", params={"before": "x'; --"})).status == 400
    async with demo_app.sessions() as session:
        exports = await session.scalar(select(AuditLog).where(AuditLog.action == "audit.export"))
    assert exports is None


async def test_pages_by_id_newest_first_without_gaps_or_repeats(demo_app: App) -> None:
    await _add(
        demo_app,
        *(
            {"actor": "system", "action": "test.row", "target": f"n:{i}", "detail": {"i": i}}
            for i in range(120)
        ),
    )
    seen: list[str] = []
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        url = "/hr/audit?action=test.row"
        pages = []
        while url:
            html = await (await client.get(url)).text()
            rows = rows_of(html)
            pages.append(len(rows))
            seen += [re.search(r"n:(\d+)", r).group(1) for r in rows]  # type: ignore[union-attr]
            older = re.search(r'href="([^"]+)" rel="next"', html)
            url = older.group(1).replace("&amp;", "&") if older else ""
        assert pages == [50, 50, 20]
        assert seen == [str(i) for i in range(119, -1, -1)]
        # Back up from the last page: the rows just newer than it, newest first.
        newer = re.search(r'href="([^"]+)" rel="prev"', html)
        assert newer is not None
        back = rows_of(await (await client.get(newer.group(1).replace("&amp;", "&"))).text())
        assert [re.search(r"n:(\d+)", r).group(1) for r in back] == [  # type: ignore[union-attr]
            str(i) for i in range(69, 19, -1)
        ]


async def test_export_has_the_same_filters_and_is_itself_logged(demo_app: App) -> None:
    ids = await employee_ids(demo_app)
    await _add(
        demo_app,
        {"actor": f"employee:{ids[RINA]}", "action": "roster.edit", "detail": {"n": "=1+1"}},
        {"actor": "system", "action": "roster.edit", "target": "employee:1"},
    )
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        answer = await client.get("/hr/audit/export.csv", params={"action": "roster.edit"})
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/csv")
        assert answer.headers["Content-Disposition"].startswith("attachment")
        rows = list(csv.DictReader(io.StringIO(await answer.text())))
        everything = await client.get("/hr/audit/export.csv")
        all_rows = list(csv.DictReader(io.StringIO(await everything.text())))
        page = await client.get("/hr/audit", params={"action": "audit.export"})
        logged = rows_of(await page.text())
    assert [r["actor"] for r in rows] == ["system", f"employee:{ids[RINA]}"]
    assert rows[1]["actor_name"] == "Rina Harahap" and rows[1]["actor_nip"] == "198601172009012002"
    assert json.loads(rows[1]["detail"]) == {"n": "=1+1"}
    assert rows[0]["at"].endswith("+07:00")
    # The whole log: the first export is in it, the second (running) is not.
    actions = [r["action"] for r in all_rows]
    assert actions[0] == "audit.export" and actions.count("audit.export") == 1
    assert "web.login" in actions
    assert len(logged) == 2 and all(f"Fajar Santoso {HR_NIP}" in r for r in logged)
    async with demo_app.sessions() as session:
        exports = list(
            await session.scalars(
                select(AuditLog).where(AuditLog.action == "audit.export").order_by(AuditLog.id)
            )
        )
        fajar = await session.scalar(select(Employee.id).where(Employee.nip == HR_NIP))
    assert [e.detail for e in exports] == [
        {"rows": 2, "complete": True, "filters": {"action": "roster.edit"}, "via": "web"},
        {"rows": len(all_rows), "complete": True, "filters": {}, "via": "web"},
    ]
    assert {e.actor for e in exports} == {f"employee:{fajar}"}
    assert fajar == ids[FAJAR_HR]


async def test_an_action_in_chat_is_on_the_page(chat, demo_app: App) -> None:
    """An HR officer reads a quarter's flags in chat: the audit page shows that read."""
    from tests.flows.test_rating_integrity import _flagged_quarter, _flags_screen

    period_id = await _flagged_quarter(demo_app)
    fajar = await linked(chat, FAJAR_HR)
    await _flags_screen(fajar)
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        answer = await client.get("/hr/audit", params={"action": "rating.flags.view"})
        rows = rows_of(await answer.text())
    assert len(rows) == 1
    assert f"Fajar Santoso {HR_NIP}" in rows[0] and f"period:{period_id}" in rows[0]
    assert "hidden: 3" in rows[0]


async def test_a_row_written_by_the_service_reads_as_written(demo_app: App) -> None:
    agency_id = await _agency_id(demo_app)
    async with demo_app.sessions() as session, session.begin():
        audit.record(
            session,
            actor="cli:root",
            action="role.grant",
            agency_id=agency_id,
            target="employee:3",
            role="hr",
            note="<b>bold</b>",
        )
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        html = await (await client.get("/hr/audit", params={"action": "role.grant"})).text()
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    [row] = rows_of(html)
    assert "cli:root Peran diberikan role.grant employee:3 note: <b>bold</b> role: hr" in row
