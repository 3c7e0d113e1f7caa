"""Peer rating and standings through the conversation surface, on SQLite and PostgreSQL."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import func, select

from bot.messages import Channel
from bot.services import rating as rating_service
from bot.services import standing_chart
from bot.services.rating_scheme import scheme_from
from storage.models import Award, Employee, Rating, RatingPeriod, Standing
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


def _pixels_of(image: Image.Image, colour: tuple[int, int, int]) -> list[tuple[int, int]]:
    width = image.size[0]
    pixels = enumerate(image.get_flattened_data())
    return [(i % width, i // width) for i, p in pixels if p == colour]


async def _rate(user, name: str, scores: list[int], comment: str | None = None) -> None:
    await user.press(name)
    for value in scores:
        assert "Pilih nilai" in user.text, user.text
        await user.press(str(value))
    assert "komentar" in user.text.lower()
    if comment is None:
        await user.press("Lewati")
    else:
        await user.send(comment)
    assert "Ringkasan penilaian" in user.text
    await user.press("Simpan")
    assert "tersimpan" in user.text


async def test_whole_flow_open_rate_revise_close_publish_standing(chat, demo_app) -> None:
    hr = await linked(chat, FAJAR_HR)
    await hr.press("Meja HR")
    await hr.press("Periode penilaian")
    assert "Belum ada triwulan" in hr.text
    await hr.press("Buka")
    await hr.press("Ya, lanjutkan")
    assert "dibuka" in hr.text

    joko = await linked(chat, JOKO_S)
    await joko.press("Nilai rekan")
    assert "0 dari 4 rekan sudah dinilai" in joko.text
    assert {"Rina Harahap", "Joko Kurniawan", "Wulan Susanti", "Sri Gunawan"} <= set(joko.labels)
    assert "Mega Hidayat" not in joko.labels and "Joko Siregar" not in joko.labels
    await joko.press("Rina Harahap")
    assert "Kriteria 1 dari 4: Kerajinan" in joko.text and "5 = sangat baik" in joko.text
    await joko.press("4")
    await joko.press("5")
    await joko.press("3")
    await joko.press("4")
    await joko.send("Selalu membantu")
    assert "Ringkasan penilaian untuk Rina Harahap" in joko.text
    assert "Kreativitas: 5" in joko.text and "Selalu membantu" in joko.text
    await joko.press("Simpan")
    assert "1 dari 4 rekan sudah dinilai" in joko.text
    assert "✓ Rina Harahap" in joko.labels

    # Revise until close: still one rating, with the new scores.
    await joko.press("Rina Harahap")
    assert "sudah menilai Rina Harahap" in joko.text
    for value in (2, 2, 2, 2):
        await joko.press(str(value))
    await joko.press("Lewati")
    await joko.press("Ubah")  # change of mind: start again from the first criterion
    for value in (3, 3, 3, 3):
        await joko.press(str(value))
    await joko.press("Lewati")
    await joko.press("Simpan")
    assert "1 dari 4 rekan sudah dinilai" in joko.text

    ids = await employee_ids(demo_app)
    async with demo_app.sessions() as session:
        rows = list(await session.scalars(select(Rating)))
    assert len(rows) == 1
    assert rows[0].rater_id == ids[JOKO_S] and rows[0].ratee_id == ids[RINA]
    assert rows[0].relation == "subordinate" and rows[0].score == 3.0 and rows[0].comment is None

    # Rina's other raters: superior Mega, peer Dewi, subordinates Joko K, Wulan, Sri.
    for row, scores in [(MEGA, [5, 5, 4, 4]), (DEWI, [4, 4, 4, 4]), (JOKO_K, [5, 5, 5, 5])]:
        user = await linked(chat, row)
        await user.press("Nilai rekan")
        await _rate(user, "Rina Harahap", scores)
    for row in (WULAN, SRI):
        user = await linked(chat, row)
        await user.send("/nilai")
        await user.press("Cari nama")
        await user.send("rina")
        assert user.labels[0] == "Rina Harahap"
        await _rate(user, "Rina Harahap", [4, 4, 4, 4])

    await joko.send("/posisi")
    assert "Belum ada hasil" in joko.text  # nothing shows while the quarter is open

    await hr.send("/menu")
    await hr.press("Meja HR")
    await hr.press("Periode penilaian")
    await hr.press("Tutup")
    assert "tidak bisa ditambah" in hr.text
    await hr.press("Ya")
    assert "ditutup" in hr.text
    await joko.press("Nilai rekan")
    assert "tidak ada triwulan penilaian yang terbuka" in joko.text
    await hr.press("Umumkan")
    await hr.press("Ya")
    assert "diumumkan" in hr.text and "Rina Harahap" in hr.text and "Rp 1.000.000" in hr.text

    rina = await linked(chat, RINA)
    await rina.press("Posisi saya")
    reply = rina.replies[0]
    # superior 4.5 (1), peer 4.0 (1), subordinates (3 + 5 + 4 + 4) / 4 = 4.0 (4)
    expected = (0.4 * 4.5 + 0.3 * 4.0 + 0.3 * 4.0) / 1.0
    assert f"Nilai: {expected:.2f}".replace(".", ",") in reply.text  # Indonesian decimal comma
    assert "Peringkat di unit: 1 dari 1" in reply.text and "Jumlah penilai: 6" in reply.text
    # The superior and the one peer are groups under 3. The subordinates' 4,00 beside the 4,20
    # total would leave 0.4 * superior + 0.3 * peer = 3.0 for two raters: not shown any more.
    assert "Bawahan:" not in reply.text and "Atasan:" not in reply.text
    assert "dengan mengurangkan angka lain" in reply.text
    for rater in ("Joko", "Mega", "Dewi", "Wulan", "Sri"):
        assert rater not in reply.text
    assert reply.attachment is not None and reply.attachment.content[:4] == b"\x89PNG"
    chart = Image.open(io.BytesIO(reply.attachment.content))
    # Her one published quarter is one marker in the line's colour, in the plot area.
    marker = _pixels_of(chart, standing_chart.LINE)
    assert chart.size == (1200, 600) and marker
    xs, ys = [x for x, _ in marker], [y for _, y in marker]
    assert max(xs) - min(xs) < 20 and max(ys) - min(ys) < 20

    await joko.press("Posisi saya")
    assert "belum memenuhi syarat" in joko.text and "baru 0 penilai" in joko.text

    async with demo_app.sessions() as session:
        award = await session.scalar(select(Award).where(Award.kind == "quarter"))
        assert award is not None and award.employee_id == ids[RINA]
        assert award.prize_amount == 1_000_000


async def test_forged_payloads_refused(chat, demo_app) -> None:
    ids = await employee_ids(demo_app)
    joko = await linked(chat, JOKO_S)
    await joko.action(f"rating:pick:{ids[RINA]}")
    assert "tidak ada triwulan penilaian yang terbuka" in joko.text  # nothing open yet
    await open_quarter(demo_app)
    for target, expected in [
        (ids[MEGA], "hanya bisa menilai"),  # Rina's superior: outside Joko's circle
        (ids[JOKO_S], "diri sendiri"),
        (999_999, "hanya bisa menilai"),
        ("abc", "tidak berlaku"),  # not an id at all: refused before any handler runs
    ]:
        await joko.action(f"rating:pick:{target}")
        assert expected in joko.text, (target, joko.text)
    # Buttons of the scoring step without being in it, a score of 9, a skipped step.
    await joko.action(f"rating:score:{ids[RINA]}:0:4")
    assert "tidak berlaku" in joko.text
    await joko.action(f"rating:pick:{ids[RINA]}")
    await joko.action(f"rating:score:{ids[RINA]}:0:9")
    assert "Nilai tidak sah" in joko.text
    await joko.action(f"rating:pick:{ids[RINA]}")
    await joko.action(f"rating:score:{ids[RINA]}:0:-1")
    # Refused either by the score check or, with typed payload arguments, as a malformed button.
    assert "Nilai tidak sah" in joko.text or "tidak berlaku" in joko.text
    await joko.action(f"rating:pick:{ids[RINA]}")
    await joko.action(f"rating:score:{ids[RINA]}:0:5:5")
    assert "tidak berlaku" in joko.text  # arity: an extra argument makes it malformed
    await joko.action(f"rating:pick:{ids[RINA]}")
    await joko.action(f"rating:score:{ids[RINA]}:2:5")
    assert "tidak berlaku" in joko.text
    # Mid-conversation for Rina, a forged button for an outsider (Mega) or another colleague.
    await joko.action(f"rating:score:{ids[MEGA]}:0:5")
    assert "hanya bisa menilai" in joko.text
    await joko.action(f"rating:pick:{ids[RINA]}")
    await joko.action(f"rating:score:{ids[WULAN]}:0:5")
    assert "tidak berlaku" in joko.text
    await joko.action(f"rating:save:{ids[RINA]}")
    assert "tidak berlaku" in joko.text
    # A complete rating, then the quarter closes before "Simpan" is pressed.
    await joko.action(f"rating:pick:{ids[RINA]}")
    for value in (5, 5, 5, 5):
        await joko.press(str(value))
    await joko.press("Lewati")
    async with demo_app.sessions() as session, session.begin():
        period = await session.scalar(select(RatingPeriod))
        assert period is not None
        period.state = "closed"
    await joko.press("Simpan")
    assert "tidak ada triwulan penilaian yang terbuka" in joko.text
    # An ordinary ASN cannot manage periods.
    for payload in ("rating:periods", "rating:open:2025:2", "rating:closeok:1", "standing:rank:1"):
        await joko.action(payload)
        assert "bukan untuk akun Anda" in joko.text, payload
    async with demo_app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Rating)) == 0
        assert await session.scalar(select(func.count()).select_from(RatingPeriod)) == 1


async def test_save_rating_service_refuses_outside_circle_and_bad_scores(demo_app) -> None:
    ids = await employee_ids(demo_app)
    period_id = await open_quarter(demo_app)
    scheme = scheme_from()
    good = dict.fromkeys(scheme.criteria, 4)
    async with demo_app.sessions() as session, session.begin():
        period = await session.get(RatingPeriod, period_id)
        joko = await session.get(Employee, ids[JOKO_S])
        assert period is not None and joko is not None
        for ratee, scores, reason in [
            (ids[MEGA], good, rating_service.RatingError.NOT_IN_CIRCLE),
            (ids[JOKO_S], good, rating_service.RatingError.SELF),
            (ids[RINA], {**good, "inovasi": 9}, rating_service.RatingError.BAD_SCORE),
            (ids[RINA], {"kerajinan": 4}, rating_service.RatingError.INCOMPLETE),
        ]:
            try:
                await rating_service.save_rating(session, period, joko, ratee, scores, None, scheme)
            except rating_service.RatingRefused as exc:
                assert exc.reason == reason
            else:
                raise AssertionError(f"accepted {ratee} {scores}")
        assert await session.scalar(select(func.count()).select_from(Standing)) == 0


async def test_large_circle_paginates_and_english(chat, demo_app) -> None:
    from storage.models import RatingScheme

    async with demo_app.sessions() as session, session.begin():
        session.add(RatingScheme(agency_id=1, config={"rules": {"peers": "unit", "page_size": 4}}))
    await open_quarter(demo_app)
    joko = await linked(chat, JOKO_S, lang="en")
    await joko.press("Rate colleagues")
    assert "0 of 9 colleagues rated" in joko.text  # whole unit are peers under this agency's rule
    assert len([p for p in joko.payloads if p.startswith("rating:pick:")]) == 4
    await joko.press("Next")
    await joko.press("Next")
    assert len([p for p in joko.payloads if p.startswith("rating:pick:")]) == 1
    assert not any("Next" in label for label in joko.labels)
    await joko.press("Previous")
    assert len([p for p in joko.payloads if p.startswith("rating:pick:")]) == 4


async def test_typed_scores_and_stray_text_keep_the_step(chat, demo_app) -> None:
    await open_quarter(demo_app)
    joko = await linked(chat, JOKO_S)
    await joko.press("Nilai rekan")
    await joko.press("Rina Harahap")
    await joko.send("4")  # a typed score counts like a pressed one
    assert "Kriteria 2 dari 4" in joko.text
    for stray in ("lima", "9", "0", "😀" * 50):
        await joko.send(stray)
        if joko.channel == Channel.WHATSAPP and stray.isdigit():
            # Where typing numbers picks a choice, one the menu lacks gets "pilih 1–N" (issue
            # point 4); the step and its menu stay as they were.
            assert joko.text == "Nomor itu tidak ada di pilihan. Pilih 1–5, 7.", stray
            continue
        assert "Kriteria 2 dari 4" in joko.text and "5" in joko.labels, stray
    for value in ("5", "3", "4"):
        await joko.send(value)
    await joko.press("Lewati")
    await joko.send("ok saja")  # text on the summary: the summary again, with its buttons
    assert "Ringkasan penilaian" in joko.text and any("Simpan" in x for x in joko.labels)
    await joko.press("Simpan")
    assert "1 dari 4 rekan sudah dinilai" in joko.text
    async with demo_app.sessions() as session:
        saved = await session.scalar(select(func.count()).select_from(Rating))
    assert saved == 1


async def _scored_rina(chat, demo_app):
    """Joko has scored Rina on every criterion; the bot asks for the comment."""
    await open_quarter(demo_app)
    joko = await linked(chat, JOKO_S)
    await joko.press("Nilai rekan")
    await joko.press("Rina Harahap")
    for value in (4, 4, 4, 4):
        await joko.press(str(value))
    return joko


async def test_a_long_comment_is_cut_and_the_writer_is_told(chat, demo_app) -> None:
    joko = await _scored_rina(chat, demo_app)
    await joko.send("x" * 500)
    summary = joko.text
    assert "dipotong menjadi" in summary and "Ringkasan penilaian" in summary
    await joko.press("Simpan")
    async with demo_app.sessions() as session:
        saved = await session.scalar(select(Rating.comment))
    assert saved is not None and 0 < len(saved) < 500
    assert f"dipotong menjadi {len(saved)} karakter" in summary


async def test_a_comment_that_is_just_a_number_is_kept(chat, demo_app) -> None:
    """On WhatsApp a typed "1" picks the first button, except where the bot asked for text."""
    joko = await _scored_rina(chat, demo_app)
    await joko.send("1")
    assert "Komentar: 1" in joko.text
