"""The console's 4-in-1 desk: the queue, the case card and its forms, the SLA report. Families
report in chat; officers work the case on the page and in chat; the same services, the same
rules (who sees which case, who moves which document) on both sides."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient
from sqlalchemy import ColumnElement, func, select

from bot import dates
from bot.app import App
from bot.messages import Channel
from bot.services import four_in_one as cases
from storage.models import Agency, AuditLog, CaseQuestion, Delivery, FourInOneCase
from tests.fakes.chat import Chat
from tests.helpers.four_in_one_helpers import (
    OFFICER_PHONE,
    link,
    live_case,
    press_exact,
    report_by_nip,
    staff_opens,
)
from tests.helpers.web_helpers import (
    ASN_NIP,
    HR_NIP,
    OFFICER_NIP,
    ask_code,
    console_client,
    linked_account,
    sent_code,
    sign_in,
)

TASPEN_NIP = "199403022018122036"  # Nia Halim, the demo office's TASPEN liaison


def text_of(page: str) -> str:
    """A page's words, tags dropped, entities decoded, spaces squeezed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def doc_row(page: str, doc: str) -> str:
    """The words of the documents table's row of one document."""
    found = re.search(rf"<tr>\s*<th scope=\"row\">{re.escape(doc)}</th>(.*?)</tr>", page, re.S)
    assert found, f"no row for {doc}"
    return text_of(found.group(1))


async def read_case(app: App, case_id: int) -> FourInOneCase:
    async with app.sessions() as session:
        case = await session.get(FourInOneCase, case_id)
        assert case is not None
        return case


async def statuses(app: App, case_id: int) -> dict[str, str]:
    return {d.kind: str(d.status) for d in (await read_case(app, case_id)).documents}


async def count(app: App, model: type, *where: ColumnElement[bool]) -> int:
    async with app.sessions() as session:
        found = await session.scalar(select(func.count()).select_from(model).where(*where))
        return int(found or 0)


async def post(client: TestClient, path: str, csrf: str, **fields: str):
    return await client.post(path, data={"csrf": csrf, **fields}, allow_redirects=False)


async def test_a_case_reported_in_chat_is_in_the_queue_and_its_card(demo_app: App) -> None:
    await report_by_nip(Chat(demo_app, "7301"))
    case = await live_case(demo_app)
    zone = demo_app.settings.agency_timezone
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app, OFFICER_NIP)
        queue = await client.get("/hr/desk")
        assert queue.status == 200
        words = text_of(await queue.text())
        assert f"#{case.id} Joko Siregar" in words and "0/4" in words
        assert dates.moment(case.deadline_at, zone, "id") in words  # the house style
        assert dates.moment(case.created_at, zone, "id") in words
        assert "berjalan" in words and "Lewat target" not in words
        # Filters: the case is open and not yet past its target.
        assert "Joko" not in text_of(await (await client.get("/hr/desk?status=ready")).text())
        assert "Joko" not in text_of(await (await client.get("/hr/desk?overdue=1")).text())
        assert "Joko" in text_of(await (await client.get("/hr/desk?status=open")).text())
        for bad in ("status=closed", "overdue=yes"):
            refused = await client.get(f"/hr/desk?{bad}")
            assert refused.status == 400, bad
            assert "tidak dikenal" in text_of(await refused.text())

        card = await client.get(f"/hr/desk/{case.id}")
        assert card.status == 200
        words = text_of(await card.text())
        assert "Sari Siregar (Suami/istri), 0812-9999-1234" in words
        assert "Akta kematian Dukcapil belum diproses" in words
        assert "Buku tabungan TASPEN TASPEN belum diproses" in words
        assert "kasus dibuka" in words  # the history
    async with demo_app.sessions() as session:
        views = await session.scalars(select(AuditLog).where(AuditLog.action == "case.view"))
        assert [(v.target, v.detail["via"]) for v in views] == [(f"case:{case.id}", "web")]


async def test_page_and_chat_desk_show_each_others_changes(chat, demo_app: App, inbox) -> None:
    family = chat("7310")
    await report_by_nip(family)
    case = await live_case(demo_app)
    officer = await staff_opens(chat, "7311", OFFICER_PHONE, case.id)
    if officer.channel != Channel.TELEGRAM:
        # The sign-in code goes to the officer's Telegram chat: link one as well.
        await link(Chat(demo_app, "7312"), OFFICER_PHONE)
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app, OFFICER_NIP)
        moved = await post(
            client, f"/hr/desk/{case.id}/documents/death_certificate", csrf,
            status="ready", note="Bisa diambil besok pagi",
        )  # fmt: skip
        assert moved.status == 303
        card = await client.get(moved.headers["Location"])
        assert "Keluarga sudah diberi kabar" in text_of(await card.text())
        # The family hears of it in chat, with the note; the chat's desk card shows it.
        assert await inbox("7310") == [
            f"Kabar dokumen keluarga (kasus #{case.id}): Akta kematian kini siap."
            "\n📝 Bisa diambil besok pagi"
        ]
        await officer.action(f"case:show:{case.id}")
        assert "Akta kematian: siap" in officer.text and "Bisa diambil besok pagi" in officer.text

        # The other way round: the officer moves a document in chat, the page shows it.
        await officer.press("TASPEN")
        await press_exact(officer, "diproses")
        await officer.send("Sedang di kantor TASPEN")
        page = await (await client.get(f"/hr/desk/{case.id}")).text()
        assert doc_row(page, "Buku tabungan TASPEN").startswith(
            "TASPEN diproses 📝 Sedang di kantor TASPEN"
        )
        assert "1/4" in text_of(await (await client.get("/hr/desk")).text())


async def test_a_taspen_liaison_moves_only_the_taspen_document(demo_app: App) -> None:
    await report_by_nip(Chat(demo_app, "7320"))
    case = await live_case(demo_app)
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app, TASPEN_NIP)
        queue = text_of(await (await client.get("/hr/desk")).text())
        assert "Joko Siregar" in queue and "Laporan ganda" not in queue
        card = await (await client.get(f"/hr/desk/{case.id}")).text()
        assert 'action="/hr/desk/1/documents/taspen_book"'.replace("1", str(case.id)) in card
        assert "documents/death_certificate" not in card and "/handover" not in card
        for kind in ("death_certificate", "family_card", "id_card"):
            refused = await post(
                client, f"/hr/desk/{case.id}/documents/{kind}", csrf, status="ready"
            )
            assert refused.status == 403, kind
            assert "diurus petugas lain" in text_of(await refused.text())
        # Handover and decisions are the desk's (officers and HR), as in chat.
        at = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        handover = await post(client, f"/hr/desk/{case.id}/handover", csrf, at=at)
        decided = await post(client, f"/hr/desk/{case.id}/decide", csrf, action="match")
        assert handover.status == 403 and decided.status == 403
        assert set((await statuses(demo_app, case.id)).values()) == {"pending"}
        moved = await post(
            client, f"/hr/desk/{case.id}/documents/taspen_book", csrf, status="ready"
        )
        assert moved.status == 303
        assert (await statuses(demo_app, case.id))["taspen_book"] == "ready"
        # Nothing of theirs waits on this case now: the liaison no longer sees it (chat's rule).
        assert (await client.get(f"/hr/desk/{case.id}")).status == 404
        assert "Joko" not in text_of(await (await client.get("/hr/desk")).text())


async def test_roles_and_another_agencys_case(demo_app: App) -> None:
    await report_by_nip(Chat(demo_app, "7330"))
    ours = await live_case(demo_app)
    async with demo_app.sessions() as session, session.begin():
        other = Agency(code="kab-lain", name="Kabupaten Lain", timezone="Asia/Makassar")
        session.add(other)
        await session.flush()
        report = cases.Report(
            died_at=datetime.now(UTC) - timedelta(days=1), deceased_name="Orang Lain",
            unit="Dinas Lain", contact_name="Budi", relation="child", phone="081311112222",
        )  # fmt: skip
        opened = await cases.open_case(
            session, other, report, actor="cli", via="officer", settings=demo_app.settings
        )
        theirs = opened.case.id
    async with console_client(demo_app) as client:
        # An ASN without a console role is sent no code and cannot sign in.
        account = await linked_account(demo_app, ASN_NIP)
        await ask_code(client, ASN_NIP)
        assert await sent_code(demo_app, account.id) is None
        assert (await client.get("/hr/desk", allow_redirects=False)).status == 303
        csrf = await sign_in(client, demo_app, OFFICER_NIP)
        # The SLA report is HR's, as in chat; so are HR's own pages (404 until they exist).
        assert (await client.get("/hr/desk/report", allow_redirects=False)).status == 403
        assert (await client.get("/hr/roster", allow_redirects=False)).status in (403, 404)
        shown = await client.get(f"/hr/desk/{theirs}")
        assert shown.status == 404 and "Orang Lain" not in await shown.text()
        assert (await client.get("/hr/desk/999999")).status == 404
        forms = {
            f"/hr/desk/{theirs}/documents/id_card": {"status": "ready"},
            f"/hr/desk/{theirs}/handover": {"place": "Balai Kota"},
            f"/hr/desk/{theirs}/decide": {"action": "cancel", "reason": "x" * 5, "confirm": "yes"},
            f"/hr/desk/{ours.id}/documents/passport": {"status": "ready"},
        }
        for path, fields in forms.items():
            answer = await post(client, path, csrf, **fields)
            assert answer.status == 404, path
            assert "Orang Lain" not in await answer.text()
    assert set((await statuses(demo_app, theirs)).values()) == {"pending"}
    async with demo_app.sessions() as session:
        still = await session.get(FourInOneCase, theirs)
        assert still is not None and still.status == "open" and still.handover_place != "Balai Kota"


async def test_a_forged_csrf_token_changes_nothing(demo_app: App) -> None:
    await report_by_nip(Chat(demo_app, "7340"))
    case = await live_case(demo_app)
    sent_before = await count(demo_app, Delivery, Delivery.source == f"case:{case.id}")
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app, OFFICER_NIP)
        path = f"/hr/desk/{case.id}/documents/death_certificate"
        forged = await post(client, path, "forged", status="ready", note="x")
        assert forged.status == 403
        missing = await client.post(path, data={"status": "ready"}, allow_redirects=False)
        assert missing.status == 403
    assert set((await statuses(demo_app, case.id)).values()) == {"pending"}
    assert await count(demo_app, Delivery, Delivery.source == f"case:{case.id}") == sent_before


async def test_handover_is_checked_as_in_chat(demo_app: App) -> None:
    await report_by_nip(Chat(demo_app, "7350"))
    case = await live_case(demo_app)
    zone = ZoneInfo(demo_app.settings.agency_timezone)
    local = datetime.now(zone)
    path = f"/hr/desk/{case.id}/handover"
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app, OFFICER_NIP)
        past = (local - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
        bad = {
            "Waktu itu sudah lewat": {"at": past, "place": "Balai Kota"},
            "belum bisa dibaca": {"at": "besok sore", "place": "Balai Kota"},
            "terlalu pendek": {"place": "X"},
            "Isi waktu, tempat, atau keduanya": {"at": "", "place": ""},
        }
        for message, fields in bad.items():
            refused = await post(client, path, csrf, **fields)
            assert refused.status == 400, message
            assert message in text_of(await refused.text())
        unchanged = await read_case(demo_app, case.id)
        assert unchanged.handover_at is None and unchanged.handover_place != "Balai Kota"
        later = (local + timedelta(days=5)).replace(hour=10, minute=30, second=0, microsecond=0)
        saved = await post(
            client, path, csrf, at=later.strftime("%Y-%m-%dT%H:%M"), place="Balai Kota"
        )
        assert saved.status == 303
        words = text_of(await (await client.get(saved.headers["Location"])).text())
        assert dates.moment(later, str(zone), "id") + ", Balai Kota" in words
        assert "melewati target malam ketiga" in words  # allowed, but said, as in chat
    done = await read_case(demo_app, case.id)
    assert done.handover_place == "Balai Kota" and done.handover_at is not None
    assert done.handover_at.replace(tzinfo=UTC) == later.astimezone(UTC)


async def test_an_answer_is_shown_back_then_sent_to_the_family(demo_app: App) -> None:
    officer = Chat(demo_app, "7360")
    await link(officer, OFFICER_PHONE)
    family = Chat(demo_app, "7361")
    await report_by_nip(family)
    await family.send("/lacak")
    await family.press("Tanya petugas")
    await family.send("Apakah KK bisa diambil adik saya?")
    await family.press("Kirim")
    case = await live_case(demo_app)
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app, OFFICER_NIP)
        card = text_of(await (await client.get(f"/hr/desk/{case.id}")).text())
        assert "Apakah KK bisa diambil adik saya?" in card
        async with demo_app.sessions() as session:
            question = await session.scalar(select(CaseQuestion))
        assert question is not None
        listed = text_of(await (await client.get("/hr/desk")).text())
        assert f"Pertanyaan #{question.id} — kasus #{case.id}" in listed
        assert "menunggu jawaban: 1" in listed and "Apakah KK bisa diambil" in listed
        path = f"/hr/desk/{case.id}/questions/{question.id}"
        empty = await post(client, path, csrf, answer="  ")
        assert empty.status == 400 and "Jawabannya kosong" in text_of(await empty.text())
        preview = await post(client, path, csrf, answer="Bisa, bawa KTP adik.")
        assert preview.status == 200
        assert "tidak bisa ditarik" in text_of(await preview.text())
        answered = CaseQuestion.answered_at.is_not(None)
        assert await count(demo_app, CaseQuestion, answered) == 0  # only shown back
        sent = await post(client, path, csrf, answer="Bisa, bawa KTP adik.", confirm="yes")
        assert sent.status == 303
        assert "Apakah KK" not in text_of(await (await client.get("/hr/desk")).text())
        again = await post(client, path, csrf, answer="Lagi", confirm="yes")
        assert "sudah dijawab" in text_of(
            await (await client.get(again.headers["Location"])).text()
        )
    async with demo_app.sessions() as session:
        got = await session.scalars(
            select(Delivery).where(Delivery.message_key == "questions.answer_for_family")
        )
        assert [d.params["answer"] for d in got] == ["Bisa, bawa KTP adik."]
    await family.send("/lacak")
    await officer.action(f"case:show:{case.id}")
    assert "Bisa, bawa KTP adik." in officer.text  # the chat's card keeps the exchange


async def test_decisions_are_asked_first_and_take_the_chats_services(demo_app: App) -> None:
    await report_by_nip(Chat(demo_app, "7370"))
    await report_by_nip(Chat(demo_app, "7371"))  # the same death again: a pending duplicate
    async with demo_app.sessions() as session:
        survivor, duplicate = list(
            await session.scalars(select(FourInOneCase).order_by(FourInOneCase.id))
        )
    assert duplicate.status == "duplicate"
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app, OFFICER_NIP)
        listed = text_of(await (await client.get("/hr/desk?status=duplicate")).text())
        assert f"#{duplicate.id}" in listed and "Laporan ganda menunggu keputusan: 1" in listed
        decide = f"/hr/desk/{duplicate.id}/decide"
        asked = await post(client, decide, csrf, action="merge")
        assert asked.status == 200 and f"ke kasus #{survivor.id}?" in text_of(await asked.text())
        assert (await statuses(demo_app, duplicate.id)) and (
            await count(demo_app, FourInOneCase, FourInOneCase.status == "merged")
        ) == 0
        merged = await post(
            client, decide, csrf, action="merge", survivor=str(survivor.id), confirm="yes"
        )
        assert merged.status == 303 and merged.headers["Location"].startswith(
            f"/hr/desk/{survivor.id}?"
        )
        stale = await post(client, decide, csrf, action="reject", confirm="yes")
        assert stale.status == 400 and "tidak tersedia lagi" in text_of(await stale.text())

        cancel = f"/hr/desk/{survivor.id}/decide"
        short = await post(client, cancel, csrf, action="cancel", reason="x")
        assert short.status == 400 and "alasan" in text_of(await short.text()).lower()
        asked = await post(client, cancel, csrf, action="cancel", reason="Laporan keliru")
        assert "Laporan keliru" in text_of(await asked.text())
        assert (await read_case(demo_app, survivor.id)).status == "open"
        done = await post(
            client, cancel, csrf, action="cancel", reason="Laporan keliru", confirm="yes"
        )
        assert done.status == 303
    assert (await read_case(demo_app, duplicate.id)).status == "merged"
    assert (await read_case(demo_app, survivor.id)).status == "cancelled"
    async with demo_app.sessions() as session:
        logged = await session.scalars(
            select(AuditLog.action).where(
                AuditLog.action.in_(("case.cancel", "case.duplicate.merge"))
            )
        )
        assert sorted(logged) == ["case.cancel", "case.duplicate.merge"]


CLI_LINE = re.compile(
    r"(\d{4}-\d{2}): (\d+) kasus, (\d+) diserahkan tepat waktu \((\d+)%\), (\d+) terlambat"
    r"\n\s*median jam sampai siap: (.*)"
)


async def test_the_sla_report_has_the_clis_numbers(demo_app: App, cli) -> None:
    yesterday = datetime.now(ZoneInfo(demo_app.settings.agency_timezone)) - timedelta(days=1)
    for died in (yesterday.strftime("%Y-%m-%d %H:%M"), "2026-11-19 10:00", "2026-11-20 08:00"):
        opened = await cli(
            "case", "open", "--name", f"Almarhum {died}", "--unit", "Setda", "--died", died
        )
        assert opened.code == 0, opened
    for doc in cases.DOCUMENTS:  # case 1 handed over before its target: on time
        await cli("case", "update", "1", doc, "handed_over")
    await cli("case", "update", "2", "taspen_book", "ready")
    printed = await cli("case", "report")
    expected = CLI_LINE.findall(printed.out)
    assert [e[1:5] for e in expected] == [("3", "1", "33", "2")], printed.out
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app, HR_NIP)
        page = await client.get("/hr/desk/report")
        assert page.status == 200
        body = await page.text()
        assert "style=" not in body  # the CSP allows no inline style: SVG attributes only
        box = re.search(r'<svg[^>]*viewBox="0 0 (\d+) (\d+)"', body)
        assert box, "no chart"
        bars = re.findall(r'<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)"', body)
        assert len(bars) == len(expected)
        for x, y, w, h in bars:  # every bar inside the chart, as tall as its on-time share
            assert int(x) + int(w) <= int(box.group(1)) and int(y) + int(h) <= int(box.group(2))
        shares = [int(e[3]) for e in expected]
        assert [round(int(h) / 184 * 100) for *_, h in bars] == shares
        for month, n, on_time, share, late, medians in expected:
            row = re.search(rf'<th scope="row">{month}</th>(.*?)</tr>', body, re.S)
            assert row, month
            cells = re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1))
            numbers = re.findall(r"(-?\d+(?:,\d+)?|-)(?:,|$)", medians.replace(", ", ","))
            assert cells == [n, on_time, f"{share}%", late, *numbers], (cells, medians)
        bad = await client.get("/hr/desk/report?month=2026-13")
        assert bad.status == 400
