"""One rule for every paged list of the console: a page number that is not a whole number from 1
is answered 400 with the first page and a line saying why, in the officer's language; a page past
the last is the last page, never "page 99999 of 1"."""

from __future__ import annotations

import pytest

from bot.app import App
from bot.i18n import translator
from tests.helpers.web_helpers import console_client, sign_in
from tests.web.test_periods import main_of

LISTS = ("/hr/roster", "/hr/periods", "/hr/broadcasts", "/hr/desk", "/hr/audit")


@pytest.mark.parametrize("path", LISTS)
async def test_a_page_number_that_is_not_one_gets_a_clear_400(demo_app: App, path: str) -> None:
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app)
        for bad in ("-1", "0", "x", "1.5", "9" * 12):
            answer = await client.get(path, params={"page": bad})
            assert answer.status == 400, bad
            assert translator("id")("web.bad_page") in main_of(await answer.text()), bad
        await client.post("/hr/language", data={"csrf": csrf, "lang": "en"})
        english = await client.get(path, params={"page": "-1"})
        assert english.status == 400
        assert translator("en")("web.bad_page") in main_of(await english.text())


@pytest.mark.parametrize("path", ("/hr/roster", "/hr/periods", "/hr/broadcasts", "/hr/desk"))
async def test_a_page_past_the_last_is_the_last_page(demo_app: App, path: str) -> None:
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        last = await client.get(path, params={"page": "99999"})
        text = main_of(await last.text())
    assert last.status == 200
    assert "99999" not in text and translator("id")("web.bad_page") not in text


async def test_the_audit_log_refuses_a_place_in_it_that_is_not_an_id(demo_app: App) -> None:
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        for query in ({"before": "x'; --"}, {"after": "-5"}):
            answer = await client.get("/hr/audit", params=query)
            assert answer.status == 400, query
            assert translator("id")("web.bad_page") in main_of(await answer.text())
