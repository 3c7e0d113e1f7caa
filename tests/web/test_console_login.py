"""Signing in to the HR console: a code through the officer's chat, a session cookie, CSRF on
every form, roles as the chat has them, caps on tries, and the audit trail."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from storage.models import AuditLog
from tests.helpers.web_helpers import (
    ASN_NIP,
    HR_NIP,
    OFFICER_NIP,
    ask_code,
    console_client,
    csrf_of,
    linked_account,
    sent_code,
    sign_in,
)


async def test_hr_signs_in_with_the_code_sent_to_their_chat_and_out_again(demo_app: App) -> None:
    async with console_client(demo_app) as client:
        first = await client.get("/hr/", allow_redirects=False)
        assert first.status == 303 and "/hr/login" in first.headers["Location"]
        csrf = await sign_in(client, demo_app)
        home = await client.get("/hr/")
        assert home.status == 200
        assert "Fajar" in await home.text()
        # The session cookie is HttpOnly and SameSite=Strict.
        jar = {c.key: c for c in client.session.cookie_jar}
        assert jar["abdi_hr"]["httponly"] and jar["abdi_hr"]["samesite"] == "Strict"
        out = await client.post("/hr/logout", data={"csrf": csrf}, allow_redirects=False)
        assert out.status == 303
        again = await client.get("/hr/", allow_redirects=False)
        assert again.status == 303
    async with demo_app.sessions() as session:
        actions = list(await session.scalars(select(AuditLog.action).order_by(AuditLog.id)))
    assert "web.login.code_sent" in actions and "web.login" in actions and "web.logout" in actions


async def test_a_nip_without_a_console_role_gets_the_same_answer_and_no_code(
    demo_app: App,
) -> None:
    account = await linked_account(demo_app, ASN_NIP)
    async with console_client(demo_app) as client:
        for nip in (ASN_NIP, "123456789012345678", HR_NIP):
            answer = await ask_code(client, nip)
            assert answer.status == 200
        texts = [await (await ask_code(client, nip)).text() for nip in (ASN_NIP, HR_NIP)]
    assert await sent_code(demo_app, account.id) is None
    # The same page whether or not the NIP may sign in (but for the NIP typed and the token).
    same = [
        text.replace(csrf_of(text), "").replace(nip, "")
        for text, nip in zip(texts, (ASN_NIP, HR_NIP), strict=True)
    ]
    assert same[0] == same[1]


async def test_wrong_codes_are_capped_per_officer(demo_app: App) -> None:
    await linked_account(demo_app, HR_NIP)
    async with console_client(demo_app) as client:
        asked = await ask_code(client, HR_NIP)
        csrf = csrf_of(await asked.text())
        statuses = []
        for _ in range(demo_app.settings.web_login_attempts + 1):
            r = await client.post(
                "/hr/login/code", data={"csrf": csrf, "nip": HR_NIP, "code": "WRONG1"}
            )
            statuses.append(r.status)
    assert statuses[:-1] == [400] * demo_app.settings.web_login_attempts
    assert statuses[-1] == 429


async def test_a_form_without_the_sessions_csrf_token_changes_nothing(demo_app: App) -> None:
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        forged = await client.post("/hr/logout", data={"csrf": "forged"}, allow_redirects=False)
        assert forged.status == 403
        still = await client.get("/hr/", allow_redirects=False)
        assert still.status == 200


async def test_a_desk_officer_lands_on_the_desk_and_is_refused_hr_pages(demo_app: App) -> None:
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app, OFFICER_NIP)
        home = await client.get("/hr/", allow_redirects=False)
        assert home.status == 303 and home.headers["Location"] == "/hr/desk"
        pages = await client.get("/hr/roster", allow_redirects=False)
        assert pages.status in (403, 404)


async def test_sign_in_tries_are_capped_per_address_behind_the_proxy(demo_app: App) -> None:
    limit = demo_app.settings.web_address_attempts
    async with console_client(demo_app) as client:
        page = await client.get("/hr/login")
        csrf = csrf_of(await page.text())

        async def ask(address: str) -> int:
            answer = await client.post(
                "/hr/login",
                data={"csrf": csrf, "nip": HR_NIP},
                headers={"X-Real-IP": address},
            )
            return answer.status

        statuses = [await ask("203.0.113.7") for _ in range(limit + 1)]
        assert statuses[:limit] == [200] * limit and statuses[-1] == 429
        # Another office PC behind the same proxy is not locked out by the first one.
        assert await ask("203.0.113.8") == 200


async def test_an_address_that_names_nothing_is_the_consoles_own_page(demo_app: App) -> None:
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        for path in ("/hr/roster/abc", "/hr/desk/abc", "/hr/no-such-page"):
            answer = await client.get(path)
            text = await answer.text()
            assert answer.status == 404 and "Halaman tidak ditemukan" in text, path
            assert answer.headers["X-Frame-Options"] == "DENY"


async def test_a_nip_that_is_not_18_digits_is_told_so_a_well_formed_one_is_not(
    demo_app: App,
) -> None:
    account = await linked_account(demo_app, HR_NIP)
    async with console_client(demo_app) as client:
        for bad in ("abc", "12345", "1984120520090310345", "19841205200903103x"):
            answer = await ask_code(client, bad)
            assert answer.status == 400, bad
            text = await answer.text()
            assert "NIP terdiri dari 18 angka" in text and 'aria-invalid="true"' in text, bad
        # Written with spaces, as on a decree: well formed, and the usual answer.
        spaced = await ask_code(client, "19841205 200903 1 034")
        assert spaced.status == 200
        assert "NIP terdiri dari 18 angka" not in await spaced.text()
        # Well formed but nobody's: the same page as for an officer (no hint either way).
        unknown = await ask_code(client, "123456789012345678")
        assert unknown.status == 200 and "NIP terdiri dari 18 angka" not in await unknown.text()
    assert await sent_code(demo_app, account.id)  # the spaced HR NIP got its code
