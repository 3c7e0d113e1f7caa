"""The console's overview: figures from the same services as the chat, for HR only."""

from __future__ import annotations

import re

import pytest

from bot.app import App
from bot.services import office_overview
from bot.services.broadcasting.audiences import EVERYONE, Audience
from tests.fakes.chat import Chat
from tests.helpers.delivery_helpers import link_all, send_now
from tests.helpers.rating_helpers import JOKO_S, linked, open_quarter
from tests.helpers.web_helpers import OFFICER_NIP, console_client, sign_in


def _figures(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_a_rating_given_in_chat_counts_in_the_units_participation(
    demo_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted again at most every FRESH_SECONDS (a quarter's participation reads every rating
    of it): within them the page shows the count it says it made; after them, the rating."""
    await open_quarter(demo_app)
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        before = _figures(await (await client.get("/hr/")).text())
        assert "0 dari 50 pegawai sudah menilai; 50 belum" in before, before

        joko = await linked(lambda ref, **kw: Chat(demo_app, ref, **kw), JOKO_S)
        await joko.press("Nilai rekan")
        await joko.press("Rina Harahap")
        for value in (4, 5, 3, 4):
            await joko.press(str(value))
        await joko.press("Lewati")
        await joko.press("Simpan")
        assert "tersimpan" in joko.text

        soon = _figures(await (await client.get("/hr/")).text())
        assert "0 dari 50 pegawai sudah menilai; 50 belum" in soon, soon
        later = office_overview._clock() + office_overview.FRESH_SECONDS + 1
        monkeypatch.setattr(office_overview, "_clock", lambda: later)
        after = _figures(await (await client.get("/hr/")).text())
    assert "1 dari 50 pegawai sudah menilai; 49 belum" in after, after


async def test_broadcast_reach_and_the_outbox(demo_app: App) -> None:
    await link_all(demo_app, limit=5)
    broadcast_id = await send_now(demo_app, Audience(EVERYONE), "Apel pagi jam 07.30")
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        html = await (await client.get("/hr/")).text()
    assert f'href="/hr/broadcasts/{broadcast_id}"' in html
    assert "Apel pagi jam 07.30" in html
    text = _figures(html)
    # One message to each of the 5 linked staff, and the sign-in code to the officer's chat.
    assert " 6 menunggu dikirim" in text, text


async def test_the_overview_is_hr_only(demo_app: App) -> None:
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app, OFFICER_NIP)
        home = await client.get("/hr/", allow_redirects=False)
    assert home.status == 303 and home.headers["Location"] == "/hr/desk"


async def test_the_units_most_behind_come_first_and_the_rest_are_one_link_away(
    demo_app: App, monkeypatch
) -> None:
    from bot.hr_web import overview

    period_id = await open_quarter(demo_app)
    monkeypatch.setattr(overview, "UNITS_SHOWN", 2)
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        html = await (await client.get("/hr/")).text()
    rows = re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td></tr>", html)
    assert len(rows) == 2, rows  # the demo office has 5 units
    assert f'href="/hr/periods/{period_id}"' in html and "3 unit lain" in html


async def test_a_new_broadcast_shows_at_once_and_the_page_says_when_it_counted(
    demo_app: App,
) -> None:
    """Delivery counts are kept for seconds (they read every delivery row), never past a new
    broadcast: the list of broadcasts shown is read on every request."""
    await link_all(demo_app, limit=5)
    first = await send_now(demo_app, Audience(EVERYONE), "Apel pagi jam 07.30")
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        before = await (await client.get("/hr/")).text()
        second = await send_now(demo_app, Audience(EVERYONE), "Rapat koordinasi jam 09.00")
        after = await (await client.get("/hr/")).text()
    assert f'href="/hr/broadcasts/{first}"' in before
    assert f'href="/hr/broadcasts/{second}"' not in before
    assert f'href="/hr/broadcasts/{second}"' in after and "Rapat koordinasi" in after
    # The outbox is counted again with them: not the figure of the first view.
    assert " 6 menunggu dikirim" in _figures(before)
    text = _figures(after)
    assert " 6 menunggu dikirim" not in text, text
    assert re.search(
        r"keadaan pukul \d\d\.\d\d WIB, dihitung ulang paling lama tiap 30 detik", text
    )
