"""The console's roster page: upload with preview then confirm (the CLI's reader and words),
export, search and pages, an employee's card (roles, link codes, unlinking), and what the chat
then shows, through the real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import threading
from pathlib import Path

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from markupsafe import escape
from sqlalchemy import ColumnElement, func, select

from bot.app import App
from bot.hr_web import roster_jobs
from bot.i18n import translator
from bot.services import roster
from storage.models import Account, Agency, AuditLog, Base, Employee, EmployeeRole, Unit
from tests.helpers.rating_helpers import MEGA, linked
from tests.helpers.web_helpers import (
    HR_NIP,
    OFFICER_NIP,
    console_client,
    linked_account,
    sign_in,
)

MEGA_NIP = "199803132020012001"
HEADER = "nip,name,position,unit,supervisor_nip,kind,phone,role\n"
NEW_NIP = "199001012015031001"
NEW_PHONE = "081299990001"
TOKEN = re.compile(r'name="token" value="([^"]+)"')
t = translator("id")


def new_nip(serial: int) -> str:
    """A well-formed PNS NIP of its own for each serial (1..1998)."""
    gender, number = divmod(serial - 1, 999)
    return f"19900101201503{gender + 1}{number + 1:03d}"


async def upload(
    client: TestClient, csrf: str, data: bytes, name: str = "roster.csv"
) -> tuple[int, str]:
    form = FormData()
    form.add_field("csrf", csrf)
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    answer = await client.post("/hr/roster/import", data=form, allow_redirects=False)
    if answer.status != 303:  # refused at once: no file, too big, a forged token
        return answer.status, await answer.text()
    # Read and checked in the background: the preview's page follows the job.
    preview = answer.headers["Location"]
    assert preview.startswith("/hr/roster/import/preview/")
    return await finished(client, preview)


async def finished(client: TestClient, job: str) -> tuple[int, str]:
    """(status, page) of a job's page once it is over, polled as htmx polls it (a finished
    poll asks for the whole page again)."""
    for _ in range(2000):
        polled = await client.get(job, headers={"HX-Request": "true"})
        assert polled.status == 200
        if polled.headers.get("HX-Refresh") == "true":
            page = await client.get(job)
            return page.status, await page.text()
        assert 'hx-trigger="every 1s"' in await polled.text()
        await asyncio.sleep(0.01)
    raise AssertionError("the job did not finish")


async def count(app: App, model: type[Base], *where: ColumnElement[bool]) -> int:
    async with app.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def employee_id(app: App, nip: str) -> int:
    async with app.sessions() as session:
        found = await session.scalar(select(Employee.id).where(Employee.nip == nip))
        assert found is not None
        return found


async def roles_of(app: App, nip: str) -> set[str]:
    async with app.sessions() as session:
        rows = await session.scalars(
            select(EmployeeRole.role).join(Employee).where(Employee.nip == nip)
        )
        return set(rows)


async def test_upload_previews_without_writing_then_imports_and_the_chat_links_the_newcomer(
    demo_app: App, chat
) -> None:
    before = await count(demo_app, Employee)
    body = (
        HEADER + f"{NEW_NIP},Budi Santoso,Analis,Sekretariat Daerah,{MEGA_NIP},PNS,{NEW_PHONE},\n"
    )
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app)
        form = await client.get("/hr/roster/import")
        assert form.status == 200 and 'accept=".csv,.xlsx' in await form.text()
        status, preview = await upload(client, csrf, body.encode())
        assert status == 200, preview
        assert t("web.roster.preview_intro") in preview
        assert await count(demo_app, Employee) == before  # a preview writes nothing
        token = TOKEN.search(preview)
        assert token, preview
        # The confirmation answers at once with the job's page; the result follows there.
        done = await client.post(
            "/hr/roster/import/confirm",
            data={"csrf": csrf, "token": token.group(1)},
            allow_redirects=False,
        )
        job = f"/hr/roster/import/job/{token.group(1)}"
        assert done.status == 303 and done.headers["Location"] == job
        status, result = await finished(client, job)
        assert status == 200 and t("web.roster.imported") in result
        # The same upload is not imported twice: a second confirmation shows the same job.
        again = await client.post(
            "/hr/roster/import/confirm", data={"csrf": csrf, "token": token.group(1)}
        )
        assert again.status == 200 and t("web.roster.imported") in await again.text()
    assert await count(demo_app, Employee) == before + 1
    assert await count(demo_app, AuditLog, AuditLog.action == "roster.import") == 2  # demo + ours
    async with demo_app.sessions() as session:
        row = await session.scalar(
            select(AuditLog).where(AuditLog.action == "roster.import").order_by(AuditLog.id.desc())
        )
        assert row is not None and row.detail["via"] == "web" and row.detail["created"] == 1
    budi = chat("88001")
    await budi.send("/hubungkan")
    await budi.share_contact(NEW_PHONE)
    assert "berhasil terhubung" in budi.text


async def test_bad_rows_are_listed_with_row_and_the_clis_reason_and_nothing_is_written(
    demo_app: App,
) -> None:
    body = (
        HEADER
        + f"{new_nip(1)},Ani,Staf,Sekretariat Daerah,,PNS,,\n"  # row 2: good
        + f"{new_nip(2)},,Staf,Sekretariat Daerah,,PNS,,\n"  # row 3: no name
        + f"{new_nip(3)},Citra,Staf,Sekretariat Daerah,,Honorer,,\n"  # row 4: kind
        + "12345,Dodi,Staf,Sekretariat Daerah,,PNS,,\n"  # row 5: NIP
        + f"{new_nip(4)},Eka,Staf,Sekretariat Daerah,,PNS,,bos\n"  # row 6: role
    )
    before = await count(demo_app, Employee)
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app)
        status, preview = await upload(client, csrf, body.encode())
        assert status == 200
        expected = [
            (3, t("roster.error.missing", column="name")),
            (4, t("roster.error.kind", value="Honorer")),
            (5, t("roster.error.nip_length")),
            (6, t("roster.error.role", value="bos")),
        ]
        table = preview.split(t("web.roster.bad_rows"), 1)[1]
        for row, reason in expected:
            assert re.search(
                rf"<td>{row}</td><td>[^<]*</td><td>{re.escape(str(escape(reason)))}</td>", table
            )
        assert "<td>2</td>" not in table
        # Only bad rows: no confirmation at all.
        only_bad = HEADER + "12345,Dodi,Staf,Sekretariat Daerah,,PNS,,\n"
        status, page = await upload(client, csrf, only_bad.encode())
        assert status == 200 and t("web.roster.nothing_to_import") in page
        assert not TOKEN.search(page)
        # A file that cannot be read at all: the CLI's sentence, status 400.
        status, page = await upload(client, csrf, b"nip,name,unit\n1,x,y\n")
        assert status == 400
        assert t("roster.file.columns", columns="kind") in page
        status, page = await upload(client, csrf, b"%PDF-1.4", name="roster.pdf")
        assert status == 400 and t("roster.file.format", name="roster.pdf") in page
        status, page = await upload(client, csrf, b"not a zip", name="roster.xlsx")
        assert status == 400 and t("roster.file.format", name="roster.xlsx") in page
        status, page = await upload(client, csrf, b"", name="roster.csv")
        assert status == 400 and t("web.roster.no_file") in page
        wrong = await client.post("/hr/roster/import", data={"csrf": csrf})  # not multipart
        assert wrong.status == 400
    assert await count(demo_app, Employee) == before
    assert await count(demo_app, AuditLog, AuditLog.action == "roster.import") == 1  # the demo's


async def test_an_oversize_upload_is_refused_with_a_page(demo_app: App) -> None:
    demo_app.settings.web_max_upload_mb = 1
    limit = 1024 * 1024
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app)
        line = f"{NEW_NIP},Budi,Staf,Sekretariat Daerah,,PNS,,\n".encode()
        for size in (limit + 100, 3 * limit):  # counted while read; refused by its length
            body = HEADER.encode() + line * (size // len(line))
            status, page = await upload(client, csrf, body)
            assert status == 413, size
            assert t("web.roster.too_big", mb="1") in page
        # Just under the limit is read and previewed.
        status, page = await upload(client, csrf, HEADER.encode() + line * 100)
        assert status == 200
    assert await count(demo_app, Employee, Employee.nip == NEW_NIP) == 0


async def test_forged_csrf_is_refused_and_writes_nothing(demo_app: App) -> None:
    body = (HEADER + f"{NEW_NIP},Budi,Staf,Sekretariat Daerah,,PNS,,\n").encode()
    mega = await employee_id(demo_app, MEGA_NIP)
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app)
        status, _ = await upload(client, "forged", body)
        assert status == 403
        status, preview = await upload(client, csrf, body)
        token = TOKEN.search(preview)
        assert token
        forged = await client.post(
            "/hr/roster/import/confirm", data={"csrf": "forged", "token": token.group(1)}
        )
        assert forged.status == 403
        role = await client.post(
            f"/hr/roster/{mega}/role", data={"csrf": "forged", "role": "hr", "action": "grant"}
        )
        assert role.status == 403
        code = await client.post(f"/hr/roster/{mega}/code", data={"csrf": ""})
        assert code.status == 403
    assert await count(demo_app, Employee, Employee.nip == NEW_NIP) == 0
    assert await roles_of(demo_app, MEGA_NIP) == set()
    assert await count(demo_app, AuditLog, AuditLog.action == "link_code.create") == 0


async def test_an_officer_without_hr_gets_403_everywhere_on_the_roster(demo_app: App) -> None:
    mega = await employee_id(demo_app, MEGA_NIP)
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app, OFFICER_NIP)
        for path in (
            "/hr/roster",
            f"/hr/roster/{mega}",
            "/hr/roster/import",
            "/hr/roster/export.csv",
            "/hr/roster/export.xlsx",
        ):
            answer = await client.get(path)
            assert answer.status == 403, path
        status, _ = await upload(client, csrf, HEADER.encode())
        assert status == 403
        grant = await client.post(
            f"/hr/roster/{mega}/role", data={"csrf": csrf, "role": "hr", "action": "grant"}
        )
        assert grant.status == 403
    assert await roles_of(demo_app, MEGA_NIP) == set()


async def test_another_agencys_employee_is_not_found(demo_app: App) -> None:
    async with demo_app.sessions() as session, session.begin():
        other = Agency(code="lain", name="Instansi Lain")
        session.add(other)
        await session.flush()
        unit = Unit(agency_id=other.id, name="Bagian Lain")
        session.add(unit)
        await session.flush()
        stranger = Employee(
            agency_id=other.id, nip=new_nip(9), name="Orang Lain", unit_id=unit.id, kind="PNS"
        )
        session.add(stranger)
        await session.flush()
        session.add(
            Account(
                agency_id=other.id,
                channel="telegram",
                user_ref="lain-1",
                chat_ref="lain-1",
                employee_id=stranger.id,
            )
        )
        stranger_id, unit_id = stranger.id, unit.id
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app)
        card = await client.get(f"/hr/roster/{stranger_id}")
        assert card.status == 404 and "Orang Lain" not in await card.text()
        for action, data in (
            ("role", {"role": "hr", "action": "grant"}),
            ("code", {}),
            ("unlink", {"channel": "telegram", "confirm": "yes"}),
        ):
            answer = await client.post(
                f"/hr/roster/{stranger_id}/{action}", data={"csrf": csrf, **data}
            )
            assert answer.status == 404, action
        assert (await client.get("/hr/roster/99999999")).status == 404
        # Their unit is not offered, nor accepted as a filter.
        listing = await client.get("/hr/roster", params={"unit": str(unit_id)})
        assert listing.status == 400 and "Bagian Lain" not in await listing.text()
        search = await client.get("/hr/roster", params={"q": "Orang Lain"})
        assert t("web.roster.none") in await search.text()
    assert await roles_of(demo_app, new_nip(9)) == set()
    assert await count(demo_app, Account, Account.employee_id == stranger_id) == 1


async def test_a_role_granted_on_the_page_is_what_the_chat_shows_and_back(
    demo_app: App, chat, cli
) -> None:
    mega = await linked(chat, MEGA)
    await mega.send("/menu")
    assert not any("Meja HR" in label for label in mega.labels)
    mega_id = await employee_id(demo_app, MEGA_NIP)
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app)
        granted = await client.post(
            f"/hr/roster/{mega_id}/role",
            data={"csrf": csrf, "role": "hr", "action": "grant"},
            allow_redirects=False,
        )
        assert granted.status == 303
        card = await client.get(granted.headers["Location"])
        assert t("web.roster.done.granted", role="HR") in await card.text()
        await mega.send("/menu")
        assert any("Meja HR" in label for label in mega.labels)

        # The other way: a role granted from the CLI shows on the page.
        assert (await cli("role", "grant", MEGA_NIP, "officer")).code == 0
        listing = await (await client.get("/hr/roster", params={"q": MEGA_NIP})).text()
        assert t("web.roster.role.officer") in listing and "Mega Hidayat" in listing

        # Revoking asks first; only the confirmation revokes, and the chat loses the desk.
        ask = await client.post(
            f"/hr/roster/{mega_id}/role", data={"csrf": csrf, "role": "hr", "action": "revoke"}
        )
        assert ask.status == 200 and 'name="confirm" value="yes"' in await ask.text()
        assert "hr" in await roles_of(demo_app, MEGA_NIP)
        await client.post(
            f"/hr/roster/{mega_id}/role",
            data={"csrf": csrf, "role": "hr", "action": "revoke", "confirm": "yes"},
        )
        assert await roles_of(demo_app, MEGA_NIP) == {"officer"}
        await mega.send("/menu")
        assert not any("Meja HR" in label for label in mega.labels)

        # Bad input: an unknown role, one's own HR role.
        bad = await client.post(
            f"/hr/roster/{mega_id}/role", data={"csrf": csrf, "role": "boss", "action": "grant"}
        )
        assert bad.status == 400 and t("web.roster.bad_role") in await bad.text()
        fajar = await employee_id(demo_app, HR_NIP)
        own = await client.post(
            f"/hr/roster/{fajar}/role",
            data={"csrf": csrf, "role": "hr", "action": "revoke", "confirm": "yes"},
        )
        assert own.status == 400 and "hr" in await roles_of(demo_app, HR_NIP)
    async with demo_app.sessions() as session:
        rows = list(
            await session.scalars(
                select(AuditLog).where(AuditLog.action.in_(["role.grant", "role.revoke"]))
            )
        )
    assert [r.action for r in rows if r.detail.get("via") == "web"] == ["role.grant", "role.revoke"]


async def test_a_link_code_from_the_page_links_the_chat(demo_app: App, chat) -> None:
    mega_id = await employee_id(demo_app, MEGA_NIP)
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app)
        made = await client.post(f"/hr/roster/{mega_id}/code", data={"csrf": csrf})
        page = await made.text()
        assert made.status == 200 and made.headers["Cache-Control"] == "no-store"
        code = re.search(r'id="link-code">([A-Z0-9-]+)<', page)
        assert code, page
        assert re.search(r"\w+, \d{1,2} \w{3} \d{4}, pukul \d\d\.\d\d WIB", page)
        # Shown once: the card afterwards does not carry it.
        assert code.group(1) not in await (await client.get(f"/hr/roster/{mega_id}")).text()
    user = chat("88002")
    await user.send("/hubungkan")
    await user.press("Pakai kode")
    await user.send(code.group(1))
    assert "berhasil terhubung" in user.text
    await user.send("/menu")
    assert not any("Hubungkan" in label for label in user.labels)
    async with demo_app.sessions() as session:
        made_by = await session.scalar(
            select(AuditLog).where(AuditLog.action == "link_code.create")
        )
    assert made_by is not None and made_by.detail["via"] == "web"


async def test_unlink_on_the_page_asks_then_the_chat_is_unlinked(demo_app: App, chat) -> None:
    mega = await linked(chat, MEGA)  # a change in chat ...
    channel = mega.channel.value
    mega_id = await employee_id(demo_app, MEGA_NIP)
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app)
        card = await (await client.get(f"/hr/roster/{mega_id}")).text()
        assert t(f"channel.{channel}") in card  # ... is what the page shows
        ask = await client.post(
            f"/hr/roster/{mega_id}/unlink", data={"csrf": csrf, "channel": channel}
        )
        assert ask.status == 200 and 'name="confirm" value="yes"' in await ask.text()
        assert await count(demo_app, Account, Account.employee_id == mega_id) == 1
        bad = await client.post(
            f"/hr/roster/{mega_id}/unlink", data={"csrf": csrf, "channel": "fax", "confirm": "yes"}
        )
        assert bad.status == 400
        done = await client.post(
            f"/hr/roster/{mega_id}/unlink",
            data={"csrf": csrf, "channel": channel, "confirm": "yes"},
        )
        assert done.status == 200 and t("web.roster.done.unlinked") in await done.text()
    assert await count(demo_app, Account, Account.employee_id == mega_id) == 0
    await mega.send("/menu")
    assert any("Hubungkan" in label for label in mega.labels)


async def test_search_and_pages_over_a_few_hundred_employees(demo_app: App) -> None:
    rows = [
        (n + 2, {"nip": new_nip(n), "name": f"Uji {n:03d}", "unit": "Bidang Uji", "kind": "PNS"})
        for n in range(1, 301)
    ]
    async with demo_app.sessions() as session, session.begin():
        agency = await session.scalar(select(Agency))
        assert agency is not None
        report = await roster.import_roster(session, agency, rows, "test")
        assert report.created == 300
        unit = await session.scalar(select(Unit.id).where(Unit.name == "Bidang Uji"))
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        first = await (await client.get("/hr/roster", params={"unit": str(unit)})).text()
        assert t("web.roster.count", total=300, page=1, pages=6) in first
        assert first.count("<tr>") == 51  # the header and 50 people
        assert "Uji 001" in first and "Uji 051" not in first
        last = await (
            await client.get("/hr/roster", params={"unit": str(unit), "page": "6"})
        ).text()
        assert "Uji 300" in last and "Uji 250" not in last and 'rel="next"' not in last
        assert 'rel="prev"' in last and f"unit={unit}" in last
        beyond = await (await client.get("/hr/roster", params={"page": "99"})).text()
        assert t("web.roster.count", total=350, page=7, pages=7) in beyond  # the last page
        everyone = await (await client.get("/hr/roster")).text()
        assert t("web.roster.count", total=350, page=1, pages=7) in everyone
        by_name = await (await client.get("/hr/roster", params={"q": "uji 12"})).text()
        assert t("web.roster.count", total=10, page=1, pages=1) in by_name  # 120..129
        by_nip = await (await client.get("/hr/roster", params={"q": new_nip(77)})).text()
        assert "Uji 077" in by_nip and t("web.roster.count", total=1, page=1, pages=1) in by_nip
        start = new_nip(77)[:17]  # "19900101 201503 1 07": Uji 070 to 079
        spaced = f"{start[:8]} {start[8:14]} {start[14:]}"
        by_start = await (await client.get("/hr/roster", params={"q": spaced})).text()
        assert "Uji 077" in by_start, start  # the start of a NIP, as read off a card
        assert t("web.roster.count", total=10, page=1, pages=1) in by_start
        assert (
            t("web.roster.none")
            in await (await client.get("/hr/roster", params={"q": "0000 0000"})).text()
        )
        for pattern in ("%", "_", " %_ "):  # only wildcards: nobody, not everybody
            found = await (await client.get("/hr/roster", params={"q": pattern})).text()
            assert t("web.roster.none") in found, pattern
        for bad in ({"page": "0"}, {"page": "x"}, {"unit": "abc"}):
            answer = await client.get("/hr/roster", params=bad)
            assert answer.status == 400, bad


async def test_export_round_trips_through_the_upload(demo_app: App, tmp_path: Path) -> None:
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app)
        exported = await client.get("/hr/roster/export.csv")
        assert exported.status == 200 and "attachment" in exported.headers["Content-Disposition"]
        data = await exported.read()
        lines = list(csv.reader(io.StringIO(data.decode())))
        assert tuple(lines[0]) == roster.COLUMNS and len(lines) == 51
        assert any(line[0] == HR_NIP and line[-1] == "hr" for line in lines)
        status, preview = await upload(client, csrf, data)
        assert status == 200
        for figure, word in ((0, "created"), (0, "updated"), (50, "unchanged"), (0, "rejected")):
            assert f'<div class="figure">{figure}</div>{t("web.roster." + word)}' in preview
        xlsx = await client.get("/hr/roster/export.xlsx")
        assert xlsx.status == 200
        path = tmp_path / "roster.xlsx"
        path.write_bytes(await xlsx.read())
        assert roster.read_rows(path)[0][1]["nip"] == lines[1][0]
        assert len(roster.read_rows(path)) == 50
    exports = await count(demo_app, AuditLog, AuditLog.action == "roster.export")
    assert exports == 2


async def test_a_card_read_is_audited_and_says_status_and_accounts(demo_app: App) -> None:
    mega_id = await employee_id(demo_app, MEGA_NIP)
    await linked_account(demo_app, MEGA_NIP)
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        card = await (await client.get(f"/hr/roster/{mega_id}")).text()
    assert "Mega Hidayat" in card and MEGA_NIP in card and "Sekretariat Daerah" in card
    assert t("web.roster.unlink_channel", channel="Telegram") in card
    fajar = await employee_id(demo_app, HR_NIP)
    async with demo_app.sessions() as session:
        row = await session.scalar(
            select(AuditLog).where(
                AuditLog.action == "employee.view", AuditLog.target == f"employee:{mega_id}"
            )
        )
    assert row is not None and row.actor == f"employee:{fajar}" and row.detail["via"] == "web"


async def test_a_double_click_on_confirm_imports_once_and_only_this_session_sees_the_job(
    demo_app: App,
) -> None:
    before = await count(demo_app, Employee)
    body = (HEADER + f"{NEW_NIP},Budi Santoso,Analis,Sekretariat Daerah,,PNS,,\n").encode()
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app)
        _status, preview = await upload(client, csrf, body)
        token = TOKEN.search(preview)
        assert token
        confirm = {"csrf": csrf, "token": token.group(1)}
        both = await asyncio.gather(
            *(
                client.post("/hr/roster/import/confirm", data=confirm, allow_redirects=False)
                for _ in range(2)
            )
        )
        job = f"/hr/roster/import/job/{token.group(1)}"
        assert [(r.status, r.headers["Location"]) for r in both] == [(303, job)] * 2
        _status, result = await finished(client, job)
        assert '<div class="figure">1</div>' + t("web.roster.created") in result
        # A reload of the result page shows it again and imports nothing more.
        assert t("web.roster.imported") in await (await client.get(job)).text()
        bad = await client.post(
            "/hr/roster/import/confirm", data={"csrf": csrf, "token": "no such/upload"}
        )
        assert bad.status == 400 and t("web.roster.upload_gone") in await bad.text()
    async with console_client(demo_app) as other:
        await sign_in(other, demo_app)
        elsewhere = await other.get(job)
        assert elsewhere.status == 404
    assert await count(demo_app, Employee) == before + 1
    assert await count(demo_app, AuditLog, AuditLog.action == "roster.import") == 2  # demo + ours
    async with demo_app.sessions() as session:
        [previewed] = await session.scalars(
            select(AuditLog).where(AuditLog.action == "roster.preview")
        )
    assert previewed.detail == {"via": "web", "file": "roster.csv", "rows": 1, "rejected": 0}


async def test_while_the_file_is_checked_the_page_says_so_and_follows_the_job(
    demo_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preview's job held until the page has been seen running (checking 100,000 rows
    takes half a minute; the demo's few rows would be done before the first look)."""
    gate = threading.Event()
    read = roster_jobs.read_rows

    def held(name: str, data: bytes) -> list[tuple[int, dict[str, str]]]:
        gate.wait(timeout=60)  # the file is read in a thread, before any database work
        return read(name, data)

    monkeypatch.setattr(roster_jobs, "read_rows", held)
    body = (HEADER + f"{NEW_NIP},Budi Santoso,Analis,Sekretariat Daerah,,PNS,,\n").encode()
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app)
        form = FormData()
        form.add_field("csrf", csrf)
        form.add_field("file", body, filename="pegawai.csv")
        posted = await client.post("/hr/roster/import", data=form, allow_redirects=False)
        assert posted.status == 303
        job = posted.headers["Location"]
        running = await client.get(job)
        page = await running.text()
        assert running.status == 200 and "Membaca dan memeriksa pegawai.csv…" in page
        assert f'hx-get="{job}" hx-trigger="every 1s"' in page and "<progress" in page
        fragment = await (await client.get(job, headers={"HX-Request": "true"})).text()
        assert "<html" not in fragment
        assert "Membaca dan memeriksa pegawai.csv…" in fragment
        gate.set()
        status, preview = await finished(client, job)
    assert status == 200 and t("web.roster.preview_intro") in preview
