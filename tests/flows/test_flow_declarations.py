"""Every declared step walked in a running app: a way back to the menu from each, a draft it
cannot read is "expired", its roles are checked. The static checks of the declarations are in
tests/unit/test_flow_declarations.py."""

from __future__ import annotations

from bot.app import App
from bot.i18n import translator
from bot.routing import Draft
from storage.state import ConversationState
from tests.fakes.chat import Chat
from tests.helpers.flow_steps import specs
from tests.helpers.four_in_one_helpers import HR_PHONE, link
from tests.helpers.privacy_helpers import known_users


def _placeholder(draft: type[Draft]) -> dict[str, object]:
    """A readable draft naming nothing that exists (ids no row has), so each step answers."""
    values: dict[str, object] = {}
    for name, field in draft.model_fields.items():
        if field.is_required():
            values[name] = 2_000_000_000 if field.annotation is int else "x"
    return draft.model_validate(values).stored() | values


def _is_main_menu(text: str, locale: str) -> bool:
    return text.endswith(translator(locale)("menu.title"))


async def test_every_step_has_a_way_back_to_the_menu(demo_app: App) -> None:
    """In every step /menu and /batal lead to the main menu and leave the step; an answer the
    step cannot use is answered with choices that include a way back (or with the menu)."""
    locale = demo_app.settings.default_locale
    t = translator(locale)
    user = Chat(demo_app, "7301")
    await link(user, HR_PHONE)  # HR: an ASN of the HR desk, allowed in every declared step
    key = f"{user.channel.value}:{user.user_ref}"
    ttl = demo_app.settings.state_ttl_seconds
    walked = 0
    for _router, spec in specs():
        for command, lead in (("/menu", None), ("/batal", t("home.cancelled"))):
            await demo_app.store.set(
                key, ConversationState(spec.state, _placeholder(spec.draft)), ttl
            )
            await user.send(command)
            assert _is_main_menu(user.text, locale), (spec.state, command, user.text)
            assert lead is None or user.text.startswith(lead), (spec.state, user.text)
            assert await demo_app.store.get(key) is None, (spec.state, command)
        await demo_app.store.set(key, ConversationState(spec.state, _placeholder(spec.draft)), ttl)
        await user.send("?")
        for reply in user.replies:
            back = any(c.nav in ("menu", "back") for c in reply.choices)
            assert not reply.choices or back or _is_main_menu(reply.text, locale), (
                spec.state,
                reply.text,
                [c.id for c in reply.choices],
            )
        await user.send("/batal")
        walked += 1
    assert walked == len(list(specs())) > 20


async def test_a_draft_this_release_cannot_read_is_expired_not_an_error(demo_app: App) -> None:
    """A stored draft of another shape (an older release's, a forged one) leaves the step with
    the "expired" answer, for typed answers and for the step's buttons alike."""
    t = translator(demo_app.settings.default_locale)
    user = Chat(demo_app, "7302")
    await link(user, HR_PHONE)  # allowed in every step: only the draft is wrong
    key = f"{user.channel.value}:{user.user_ref}"
    ttl = demo_app.settings.state_ttl_seconds
    unreadable: list[tuple[str, dict[str, object], str, str]] = [
        ("case:who", {"via": "nobody"}, "text", "Budi"),
        ("case:confirm", {"nip": 19900101}, "action", "case:send"),
        ("rating:rate", {"period": 1, "ratee": 2, "scores": {}, "step": "comment"}, "text", "ok"),
        ("broadcast:draft", {"units": "all"}, "action", "broadcast:now"),
        ("case:tracked", {"case_id": "7"}, "action", "case:follow"),
    ]
    for state, data, kind, value in unreadable:
        await demo_app.store.set(key, ConversationState(state, data), ttl)
        await (user.send(value) if kind == "text" else user.action(value))
        assert user.text.startswith(t("error.expired")), (state, user.text)
        assert await demo_app.store.get(key) is None, state


async def test_a_step_refuses_who_may_not_answer_it(demo_app: App) -> None:
    """The dispatcher checks a step's roles as it does a button's: a guest left in an HR step
    is told so and taken out of it, and nothing of the answer is used."""
    t = translator(demo_app.settings.default_locale)
    user = Chat(demo_app, "7303")  # a guest: not linked to the roster
    await known_users(demo_app, "7303")
    key = f"{user.channel.value}:{user.user_ref}"
    guarded = [(router, spec) for router, spec in specs() if spec.roles and spec.handler]
    assert {spec.state for _r, spec in guarded} >= {"admin:await_query", "case:note"}
    for _router, spec in guarded:
        data = _placeholder(spec.draft)
        await demo_app.store.set(key, ConversationState(spec.state, data), 60)
        await user.send("Budi")
        assert user.text.startswith(t("error.not_allowed")), (spec.state, user.text)
        assert await demo_app.store.get(key) is None, spec.state
