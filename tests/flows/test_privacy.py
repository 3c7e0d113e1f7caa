"""Personal data under UU PDP (issue 17, points 1 and 2): the privacy notice on first contact and
on a new version, the "Data saya" copy, and correction / deletion requests answered by HR."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from bot.i18n import LOCALES_DIR
from bot.messages import Channel, Reply
from bot.services import rating as rating_service
from bot.services.privacy_notice import Notices
from bot.services.rating_scheme import scheme_from
from storage.models import AuditLog, CaseContact, DataRequest, Employee, FourInOneCase, RatingPeriod
from storage.statuses import CaseStatus
from tests.fakes.chat import Chat
from tests.helpers.forged import FORGED
from tests.helpers.four_in_one_helpers import report_by_nip
from tests.helpers.rating_helpers import (
    DEWI,
    FAJAR_HR,
    JOKO_K,
    JOKO_S,
    MEGA,
    RINA,
    SRI,
    WULAN,
    employee_ids,
    linked,
    open_quarter,
)

NOTICE_ID = "Pemberitahuan privasi"
NOTICE_EN = "Privacy notice"


def _notices(replies: list[Reply], title: str) -> int:
    return sum(title in r.text for r in replies)


async def test_notice_on_first_contact_then_not_again(chat) -> None:
    user = chat("8801")
    replies = await user.send("halo")
    assert _notices(replies, NOTICE_ID) == 1
    assert NOTICE_ID in replies[0].text and "Pemerintah Kota Contoh" in replies[0].text
    assert "/privasi" in replies[0].text and "/datasaya" in replies[0].text
    assert "Silakan pilih layanan" in replies[-1].text  # the first message is still answered
    await user.send("/menu")
    assert NOTICE_ID not in user.text


async def test_notice_in_english_for_an_english_user(chat) -> None:
    user = chat("8802", lang="en")
    replies = await user.send("hello")
    assert NOTICE_EN in replies[0].text and "/privacy" in replies[0].text
    assert NOTICE_ID not in user.text
    await user.send("/menu")
    assert NOTICE_EN not in user.text


async def test_notice_on_the_console_and_again_after_a_version_change(
    demo_app, tmp_path: Path
) -> None:
    user = Chat(demo_app, "console-8803", Channel.CONSOLE)
    await user.send("/start")
    assert _notices(user.replies, NOTICE_ID) == 1
    await user.send("/start")
    assert NOTICE_ID not in user.text
    # HR edits the notice and raises its version: shown once more, then not again.
    for lang in ("id", "en"):
        source = LOCALES_DIR / lang / "privacy" / "notice.toml"
        target = tmp_path / lang / "privacy" / "notice.toml"
        target.parent.mkdir(parents=True)
        target.write_text(source.read_text().replace("version = 1", "version = 2"))
    demo_app.dispatcher.notices = Notices(tmp_path)
    await user.send("/start")
    assert _notices(user.replies, NOTICE_ID) == 1
    await user.send("/start")
    assert NOTICE_ID not in user.text


async def test_the_full_notice_names_the_controller_and_the_rights(chat) -> None:
    user = chat("8804")
    await user.send("/privasi")
    text = user.text
    assert "Pemerintah Kota Contoh" in text and "3 × 24 jam" in text and "/datasaya" in text


def _attachments(replies: list[Reply]) -> dict[str, bytes]:
    return {r.attachment.filename: r.attachment.content for r in replies if r.attachment}


async def _seed_ratings(app) -> tuple[int, Employee]:
    """Joko S. rates Rina; someone else rates Joko S. Returns (period, that rater)."""
    ids = await employee_ids(app)
    period_id = await open_quarter(app)
    scheme = scheme_from()
    scores = dict.fromkeys(scheme.criteria, 4)
    async with app.sessions() as session, session.begin():
        period = await session.get(RatingPeriod, period_id)
        joko = await session.get(Employee, ids[JOKO_S])
        assert period is not None and joko is not None
        await rating_service.save_rating(session, period, joko, ids[RINA], scores, None, scheme)
        for row in (DEWI, WULAN, SRI, MEGA, JOKO_K):
            rater = await session.get(Employee, ids[row])
            assert rater is not None
            try:
                await rating_service.save_rating(
                    session, period, rater, ids[JOKO_S], scores, "rahasia", scheme
                )
            except rating_service.RatingRefused:
                continue
            session.expunge(rater)
            return period_id, rater
    raise AssertionError("nobody may rate Joko S.")


async def test_data_saya_for_an_asn_has_the_ratings_given_never_who_rated_them(
    chat, demo_app
) -> None:
    _, rater = await _seed_ratings(demo_app)
    joko = await linked(chat, JOKO_S)
    await joko.send("/datasaya")
    await joko.press("Unduh")
    files = _attachments(joko.replies)
    assert set(files) == {"data-saya.json", "data-saya.txt"}
    data = json.loads(files["data-saya.json"])
    ids = await employee_ids(demo_app)
    async with demo_app.sessions() as session:
        me = await session.get(Employee, ids[JOKO_S])
        rina = await session.get(Employee, ids[RINA])
        assert me is not None and rina is not None
    assert data["employee"]["nip"] == me.nip and data["employee"]["name"] == me.name
    given = data["ratings_given"]
    assert [(g["ratee_nip"], g["ratee_name"]) for g in given] == [(rina.nip, rina.name)]
    assert given[0]["scores"] and given[0]["period"] == "2025-Q1"
    raw = files["data-saya.json"].decode() + files["data-saya.txt"].decode()
    assert rater.nip not in raw and rater.name not in raw and "rahasia" not in raw
    assert "rater" not in raw
    assert "Nilai yang Anda berikan" in files["data-saya.txt"].decode()
    assert [a["channel"] for a in data["accounts"]] == [joko.channel.value]
    async with demo_app.sessions() as session:
        exported = await session.scalar(
            select(AuditLog).where(AuditLog.action == "personal_data.export")
        )
        assert exported is not None and exported.actor.startswith("employee:")


async def test_data_saya_for_a_family_member_shows_their_case_and_contact(chat, demo_app) -> None:
    family = chat("8805")
    await report_by_nip(family)
    await family.send("/datasaya")
    await family.press("Unduh")
    data = json.loads(_attachments(family.replies)["data-saya.json"])
    assert "employee" not in data and "ratings_given" not in data
    [case] = data["four_in_one_cases"]
    assert case["deceased_name"] == "Joko Siregar" and case["reported_by_me"] is True
    assert case["my_contact"] and case["my_contact"][0]["phone"]
    assert len(case["documents"]) == 4


async def _file_request(user, button: str, text: str) -> int:
    await user.send("/datasaya")
    await user.press(button)
    await user.send(text)
    assert text in user.text  # shown back before anything is filed
    await user.press("Kirim permintaan")
    assert "tercatat" in user.text and "WIB" in user.text
    async with user.app.sessions() as session:
        request = await session.scalar(select(DataRequest).order_by(DataRequest.id.desc()))
        assert request is not None
        return request.id


async def test_a_correction_is_filed_listed_for_hr_answered_and_the_user_told(
    chat, demo_app, inbox
) -> None:
    mega = await linked(chat, MEGA)
    request_id = await _file_request(mega, "perbaikan", "Jabatan saya Sekda, bukan Sekretaris")
    hr = await linked(chat, FAJAR_HR)
    await hr.press("Meja HR")
    await hr.press("Permintaan data")
    assert f"#{request_id}" in " ".join(hr.labels)
    await hr.press(f"#{request_id}")
    assert "Mega Hidayat" in hr.text and "Sekda" in hr.text
    await hr.press("Selesai")
    assert "pemohon diberi tahu" in hr.text
    assert any(f"#{request_id}" in m and "diselesaikan" in m for m in await inbox(mega.user_ref))
    await hr.action(f"privacy:done:{request_id}")  # answered twice: refused, not re-sent
    assert "sudah dijawab" in hr.text
    async with demo_app.sessions() as session:
        actions = list(await session.scalars(select(AuditLog.action)))
        assert "data_request.correction" in actions and "data_request.done" in actions


async def test_a_roster_record_deletion_is_refused_with_its_reason(chat, demo_app, inbox) -> None:
    mega = await linked(chat, MEGA)
    request_id = await _file_request(mega, "penghapusan", "hapus data kepegawaian saya")
    hr = await linked(chat, FAJAR_HR)
    await hr.action(f"privacy:show:{request_id}")
    await hr.press("Tolak")
    assert "ditolak" in hr.text
    told = [m for m in await inbox(mega.user_ref) if f"#{request_id}" in m]
    assert told and "aturan manajemen ASN" in told[0]
    async with demo_app.sessions() as session:
        still = await session.scalar(select(Employee).where(Employee.name == "Mega Hidayat"))
        assert still is not None


async def test_a_non_hr_user_cannot_list_or_answer_requests(chat, demo_app) -> None:
    mega = await linked(chat, MEGA)
    request_id = await _file_request(mega, "perbaikan", "nama saya salah")
    rina = await linked(chat, RINA)
    assert not any("Permintaan data" in label for label in rina.labels)
    for payload in ("privacy:queue", f"privacy:show:{request_id}", f"privacy:done:{request_id}"):
        await rina.action(payload)
        assert "bukan untuk akun Anda" in rina.text
    hr = await linked(chat, FAJAR_HR)
    for value in FORGED:
        await hr.action(f"privacy:refuse:{value}")
        assert "ditolak" not in hr.text
    async with demo_app.sessions() as session:
        request = await session.get(DataRequest, request_id)
        assert request is not None and request.status == "open"


async def test_cli_lists_overdue_first_shows_and_answers(chat, demo_app, cli) -> None:
    family = chat("8806")
    await report_by_nip(family)
    deletion = await _file_request(family, "penghapusan", "hapus nomor telepon saya")
    mega = await linked(chat, MEGA)
    correction = await _file_request(mega, "perbaikan", "unit saya salah")
    async with demo_app.sessions() as session, session.begin():
        await session.execute(update(FourInOneCase).values(status=CaseStatus.CLOSED))
        await session.execute(  # the correction was filed long ago: overdue
            update(DataRequest)
            .where(DataRequest.id == correction)
            .values(due_at=datetime.now(UTC) - timedelta(hours=1))
        )
    listed = await cli("data-request", "list")
    assert listed.code == 0
    lines = listed.out.strip().splitlines()
    assert lines[0].startswith(f"#{correction}") and "LEWAT TENGGAT" in lines[0]
    assert lines[1].startswith(f"#{deletion}") and "LEWAT TENGGAT" not in lines[1]
    shown = await cli("data-request", "show", str(deletion))
    assert "hapus nomor telepon saya" in shown.out
    assert (
        await cli("data-request", "answer", str(deletion))
    ).code == 2  # neither --done nor --refuse
    async with demo_app.sessions() as session:
        phones = list(await session.scalars(select(CaseContact.phone)))
        assert any(p and p.endswith("99991234") for p in phones)
    done = await cli("data-request", "answer", str(deletion), "--done")
    assert done.code == 0 and "1 data kontak" in done.out
    async with demo_app.sessions() as session:
        contacts = list(await session.scalars(select(CaseContact)))
        assert contacts and not any(c.phone and c.phone.endswith("99991234") for c in contacts)
        assert await session.scalar(select(AuditLog).where(AuditLog.action == "data_request.done"))
    refused = await cli("data-request", "answer", str(correction), "--refuse", "bukan data kami")
    assert refused.code == 0
    again = await cli("data-request", "answer", str(correction), "--done")
    assert again.code == 1 and "sudah dijawab" in (again.out + again.err)
    missing = await cli("data-request", "show", "99999")
    assert missing.code == 1
    assert (
        await cli("data-request", "list")
    ).out.strip() == "Tidak ada permintaan data yang terbuka."


async def test_a_family_request_is_shown_by_the_familys_name_and_not_refused_as_roster(
    chat, demo_app
) -> None:
    family = chat("8807")
    await report_by_nip(family)
    request_id = await _file_request(family, "penghapusan", "hapus nomor sy")
    hr = await linked(chat, FAJAR_HR)
    await hr.action(f"privacy:show:{request_id}")
    async with demo_app.sessions() as session:
        contact = await session.scalar(
            select(CaseContact).where(CaseContact.name.is_not(None)).order_by(CaseContact.id.desc())
        )
        assert contact is not None
    assert f"{contact.name}, #{contact.case_id}" in hr.text
    assert not any("Tolak" in label for label in hr.labels)  # no staff record to keep
    await hr.action(f"privacy:refuse:{request_id}")  # forged: the roster reason is not theirs
    async with demo_app.sessions() as session:
        request = await session.get(DataRequest, request_id)
        assert request is not None and request.status == "open"
