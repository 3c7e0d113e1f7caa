"""Media-ethics guidance: read topics page by page, ask questions, confirm, and check a draft post.

Guests may read, ask and check too: the guidance is public rules with no personal data, and a
new hire benefits before HR has linked their account. Confirmation (acknowledgement) is for
linked ASN only, because it is recorded against an employee. HR manages requirements and sees
confirmation rates per unit.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement

from bot import dates
from bot.messages import MAX_CHOICES, Choice, Reply
from bot.routing import ASN, GUEST, HR, NUM, WORD, Context, Draft, NoDraft, Router, Step
from bot.services import audit
from bot.services import guidance as svc
from bot.services.post_checker import check


class Verb(StrEnum):
    """The payload verbs of this router, as stored in buttons."""

    DUE = "due"
    MENU = "menu"
    ASK = "ask"
    CHECK = "check"
    HR = "hr"
    PAGE = "page"
    ACK = "ack"
    OFFICIAL = "official"
    HR_TOPIC = "hrtopic"
    RELOAD = "reload"
    LIFT = "lift"
    REQUIRE = "require"


router = Router("guidance")
READERS = {GUEST, ASN, HR}
DUE = "guidance_due"  # a role this router grants while the user has a confirmation to give
router.menu_entry(Verb.DUE, "guidance.menu_due", roles={DUE}, order=15)
router.menu_entry(Verb.MENU, "guidance.menu", roles=READERS, order=300)


class Ask(StrEnum):
    """A question in the reader's own words, answered from the guidance."""

    QUESTION = "await_question"


class Check(StrEnum):
    """A draft post checked against the guidance (the draft itself is never stored)."""

    CAPTION = "await_caption"


class CheckDraft(Draft):
    official: bool = False  # posted from an official account: the stricter reminders apply


MAX_PASSAGE = 420  # characters of each passage quoted in an answer
MAX_ANSWER_HITS = 2
MAX_REPLY = 3500  # well under Telegram's and WhatsApp's 4096


def _content() -> svc.Content:
    return svc.library().content()


def _topic(ctx: Context, topic_id: str) -> svc.Topic | None:
    return _content().topic(ctx.t.locale, topic_id)


async def _pending(ctx: Context) -> list[str]:
    employee = ctx.employee
    if employee is None or employee.status != "active":
        return []
    return await svc.pending_topics(ctx.session, employee, _content().versions())


@router.role_condition(DUE)
def confirmation_due() -> ColumnElement[bool]:
    # Evaluated in the query that loads the account: the main menu shows "confirm the guidance"
    # exactly while a required topic's current version is unconfirmed.
    return svc.confirmation_due(_content().versions())


def _topics_menu(ctx: Context, lead: str, pending: list[str]) -> Reply:
    extras = [
        Choice(router.payload(Verb.ASK), ctx.t("guidance.button_ask")),
        Choice(router.payload(Verb.CHECK), ctx.t("guidance.button_check")),
    ]
    if HR in ctx.roles:
        extras.append(Choice(router.payload(Verb.HR), ctx.t("guidance.button_hr")))
    room = MAX_CHOICES - len(extras) - 1
    topics = [
        Choice(
            router.payload(Verb.PAGE, t.id, 0),
            ("📌 " if t.id in pending else "") + t.label,
        )
        for t in _content().ordered(ctx.t.locale)[:room]
    ]
    return Reply(lead, [*topics, *extras, ctx.back_to_menu()])


@router.command("pedoman", "guidance")
@router.action(Verb.MENU, roles=READERS)
async def menu(ctx: Context, args: list[str]) -> list[Reply]:
    # Reading and asking go together: text typed beside a topic list or page is a question.
    await router.enter(ctx, Ask.QUESTION)
    return [_topics_menu(ctx, ctx.t("guidance.intro"), await _pending(ctx))]


def _page_reply(ctx: Context, topic: svc.Topic, number: int, pending: list[str]) -> Reply:
    pages = svc.render_pages(topic, ctx.t)
    number = max(0, min(number, len(pages) - 1))
    choices = []
    if number > 0:
        choices.append(
            Choice(
                router.payload(Verb.PAGE, topic.id, number - 1), ctx.t("guidance.prev"), nav="prev"
            )
        )
    if number < len(pages) - 1:
        choices.append(
            Choice(
                router.payload(Verb.PAGE, topic.id, number + 1), ctx.t("guidance.next"), nav="next"
            )
        )
    elif topic.id in pending:
        choices.append(
            Choice(router.payload(Verb.ACK, topic.id, topic.version), ctx.t("guidance.button_ack"))
        )
    choices.append(Choice(router.payload(Verb.MENU), ctx.t("guidance.button_topics"), nav="back"))
    choices.append(ctx.back_to_menu())
    text = pages[number]
    if topic.id in pending and number == len(pages) - 1:
        text += "\n\n" + ctx.t("guidance.ack_prompt", version=topic.version)
    return Reply(text, choices)


@router.action(Verb.PAGE, roles=READERS, args=(WORD, NUM))
async def page(ctx: Context, args: list[str]) -> list[Reply]:
    topic = _topic(ctx, args[0])
    if topic is None or not args[1].isdigit():
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    await router.enter(ctx, Ask.QUESTION)
    return [_page_reply(ctx, topic, int(args[1]), await _pending(ctx))]


# --- acknowledgement --------------------------------------------------------------------------


@router.action(Verb.DUE, roles={ASN})
async def due(ctx: Context, args: list[str]) -> list[Reply]:
    pending = await _pending(ctx)
    topic = _topic(ctx, pending[0]) if pending else None
    if topic is None:
        return [ctx.main_menu(ctx.t("guidance.nothing_due"))]
    await router.enter(ctx, Ask.QUESTION)
    lead = Reply(ctx.t("guidance.due_lead", title=topic.title, count=len(pending)))
    return [lead, _page_reply(ctx, topic, 0, pending)]


@router.action(Verb.ACK, roles={ASN}, args=(WORD, NUM))
async def ack(ctx: Context, args: list[str]) -> list[Reply]:
    employee = ctx.employee
    topic = _topic(ctx, args[0])
    if employee is None or employee.status != "active" or topic is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    pending = await _pending(ctx)
    if str(topic.version) != args[1]:
        # The topic changed while the page was open: the old version is not what HR asks for.
        return [
            Reply(ctx.t("guidance.version_changed", title=topic.title)),
            _page_reply(ctx, topic, 0, pending),
        ]
    if topic.id not in pending:
        return [_topics_menu(ctx, ctx.t("guidance.not_required", title=topic.title), pending)]
    row = await svc.acknowledge(ctx.session, employee, topic.id, topic.version, ctx.account.channel)
    when = dates.moment(row.acked_at, ctx.agency.timezone, ctx.t)
    rest = [p for p in pending if p != topic.id]
    lead = ctx.t("guidance.acked", title=topic.title, version=topic.version, when=when)
    if rest:
        ctx.roles.add(DUE)
        return [ctx.main_menu(lead + "\n" + ctx.t("guidance.more_due", count=len(rest)))]
    ctx.roles.discard(DUE)
    return [ctx.main_menu(lead)]


# --- questions --------------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _passage(ctx: Context, topic: svc.Topic, key: str) -> str:
    """A passage as the reader sees it on its page: do's and don'ts keep their headings."""
    if key == "dos":
        return ctx.t("guidance.dos") + "\n" + "\n".join(f"✅ {line}" for line in topic.dos)
    if key == "donts":
        return ctx.t("guidance.donts") + "\n" + "\n".join(f"❌ {line}" for line in topic.donts)
    return topic.passage(key)


async def answer(ctx: Context, question: str) -> list[Reply]:
    hits = svc.library().index().answer(question[:500], limit=MAX_ANSWER_HITS)
    if not hits:
        return [_topics_menu(ctx, ctx.t("guidance.no_answer"), await _pending(ctx))]
    parts = [ctx.t("guidance.answer_intro")]
    opened: dict[str, Choice] = {}
    for hit in hits:
        topic = _topic(ctx, hit.topic)
        if topic is None:
            continue
        parts.append(f"📘 {topic.title}\n{_clip(_passage(ctx, topic, hit.key), MAX_PASSAGE)}")
        if topic.id not in opened:  # open the topic at the page the passage is on
            payload = router.payload(Verb.PAGE, topic.id, topic.page_of(hit.key))
            opened[topic.id] = Choice(payload, ctx.t("guidance.open", label=topic.label))
    parts.append(ctx.t("guidance.ask_more"))
    topics_button = Choice(router.payload(Verb.MENU), ctx.t("guidance.button_topics"), nav="back")
    return [
        Reply(
            _clip("\n\n".join(parts), MAX_REPLY),
            [*opened.values(), topics_button, ctx.back_to_menu()],
        )
    ]


@router.command("tanya", "ask")
async def ask_command(ctx: Context, args: list[str]) -> list[Reply]:
    await router.enter(ctx, Ask.QUESTION)
    if args:
        return await answer(ctx, args[0])
    return [Reply(ctx.t("guidance.ask_prompt"), [ctx.back_to_menu()], expects_text=True)]


@router.action(Verb.ASK, roles=READERS)
async def ask(ctx: Context, args: list[str]) -> list[Reply]:
    return await ask_command(ctx, [])


async def question(ctx: Context, text: str) -> list[Reply]:
    return await answer(ctx, text)


# --- Cek unggahan -----------------------------------------------------------------------------


@router.action(Verb.CHECK, roles=READERS)
async def check_start(ctx: Context, args: list[str]) -> list[Reply]:
    # Only the "official account" flag is kept in the state, never the draft itself.
    await router.enter(ctx, Check.CAPTION, CheckDraft(official=False))
    return [
        Reply(
            ctx.t("guidance.check_prompt"),
            [
                Choice(router.payload(Verb.OFFICIAL), ctx.t("guidance.button_official")),
                ctx.back_to_menu(),
            ],
            expects_text=True,
        )
    ]


@router.action(Verb.OFFICIAL, roles=READERS, state=Check.CAPTION)
async def check_official(ctx: Context, args: list[str]) -> list[Reply]:
    await router.enter(ctx, Check.CAPTION, CheckDraft(official=True))
    return [Reply(ctx.t("guidance.check_prompt_official"), [ctx.back_to_menu()], expects_text=True)]


async def caption(ctx: Context, text: str) -> list[Reply]:
    official = CheckDraft.of(ctx).official
    result = check(_content(), text, ctx.t.locale, official=official)
    parts = []
    if result.findings:
        parts.append(ctx.t("guidance.check_found", count=len(result.findings)))
        for f in result.findings:
            parts.append(
                ctx.t("guidance.finding", name=f.name, phrase=f.phrase, rule=f.rule, safer=f.safer)
            )
    else:
        parts.append(ctx.t("guidance.check_clean"))
    if result.official_reminder:
        parts.append("🏛 " + result.official_reminder)
    parts.append(ctx.t("guidance.check_disclaimer"))
    choices = [Choice(router.payload(Verb.CHECK), ctx.t("guidance.button_check_again"))]
    topics = list(dict.fromkeys(f.topic for f in result.findings))[:2]
    for topic_id in topics:
        topic = _topic(ctx, topic_id)
        if topic is not None:
            choices.append(
                Choice(
                    router.payload(Verb.PAGE, topic.id, 0),
                    ctx.t("guidance.open", label=topic.label),
                )
            )
    choices.append(ctx.back_to_menu())
    return [Reply(_clip("\n\n".join(parts), MAX_REPLY), choices)]


# --- HR: requirements, rates, reload ----------------------------------------------------------


@router.action(Verb.HR, roles={HR})
async def hr_panel(ctx: Context, args: list[str]) -> list[Reply]:
    await ctx.clear_state()
    required = set(await svc.required_topics(ctx.session, ctx.agency.id))
    lines = [ctx.t("guidance.hr_intro")]
    choices = []
    for topic in _content().ordered(ctx.t.locale)[: MAX_CHOICES - 2]:
        rates = await svc.ack_rates(ctx.session, ctx.agency.id, topic.id, topic.version)
        done, total = sum(r.confirmed for r in rates), sum(r.total for r in rates)
        key = "guidance.hr_line_required" if topic.id in required else "guidance.hr_line"
        lines.append(
            ctx.t(key, label=topic.label, version=topic.version, confirmed=done, total=total)
        )
        choices.append(Choice(router.payload(Verb.HR_TOPIC, topic.id), topic.label))
    choices.append(Choice(router.payload(Verb.RELOAD), ctx.t("guidance.button_reload")))
    choices.append(ctx.back_to_menu())
    return [Reply("\n".join(lines), choices)]


async def _hr_topic(ctx: Context, topic: svc.Topic, lead: str | None = None) -> list[Reply]:
    required = topic.id in await svc.required_topics(ctx.session, ctx.agency.id)
    rates = await svc.ack_rates(ctx.session, ctx.agency.id, topic.id, topic.version)
    lines = [lead] if lead else []
    lines.append(
        ctx.t(
            "guidance.hr_topic",
            title=topic.title,
            version=topic.version,
            state=ctx.t("guidance.hr_required" if required else "guidance.hr_not_required"),
        )
    )
    lines += [
        ctx.t("guidance.hr_unit", unit=r.unit, confirmed=r.confirmed, total=r.total, pct=r.percent)
        for r in rates
    ]
    toggle = (
        Choice(router.payload(Verb.LIFT, topic.id), ctx.t("guidance.button_lift"))
        if required
        else Choice(router.payload(Verb.REQUIRE, topic.id), ctx.t("guidance.button_require"))
    )
    back = Choice(router.payload(Verb.HR), ctx.t("button.back"), nav="back")
    return [Reply(_clip("\n".join(lines), MAX_REPLY), [toggle, back, ctx.back_to_menu()])]


@router.action(Verb.HR_TOPIC, roles={HR}, args=(WORD,))
async def hr_topic(ctx: Context, args: list[str]) -> list[Reply]:
    topic = _topic(ctx, args[0])
    if topic is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    return await _hr_topic(ctx, topic)


async def _set_required(ctx: Context, topic_id: str, required: bool) -> list[Reply]:
    topic = _topic(ctx, topic_id)
    if topic is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    changed = await svc.set_required(
        ctx.session, ctx.agency.id, topic.id, required=required, actor=ctx.actor
    )
    key = "guidance.required_now" if required else "guidance.lifted_now"
    return await _hr_topic(ctx, topic, ctx.t(key, title=topic.title) if changed else None)


@router.action(Verb.REQUIRE, roles={HR}, args=(WORD,))
async def require(ctx: Context, args: list[str]) -> list[Reply]:
    return await _set_required(ctx, args[0], True)


@router.action(Verb.LIFT, roles={HR}, args=(WORD,))
async def lift(ctx: Context, args: list[str]) -> list[Reply]:
    return await _set_required(ctx, args[0], False)


@router.action(Verb.RELOAD, roles={HR})
async def reload(ctx: Context, args: list[str]) -> list[Reply]:
    try:
        content = svc.library().reload()
    except svc.ContentError as exc:
        problems = "\n".join(f"• {p}" for p in exc.problems[:8])
        return [ctx.main_menu(ctx.t("guidance.reload_failed", problems=problems))]
    audit.record(
        ctx.session,
        actor=ctx.actor,
        action="guidance.reload",
        agency_id=ctx.agency.id,
        versions=content.versions(),
    )
    return [ctx.main_menu(ctx.t("guidance.reloaded", count=len(content.versions())))]


router.flow(Ask, NoDraft, {Ask.QUESTION: Step(question)})
router.flow(Check, CheckDraft, {Check.CAPTION: Step(caption)})
