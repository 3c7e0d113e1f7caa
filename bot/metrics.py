"""The process's own Prometheus metrics: counters and the handling-time histogram.

Each process counts what it did itself and exposes it on /metrics (bot/scrape.py); Prometheus
sums over processes. What lives in the database (queues, dead letters, overdue cases) is read at
scrape time by bot/scrape.py instead, so every process reports the same figures for it.

Recording is a dictionary lookup and an increment: it runs on every inbound update.
"""

from __future__ import annotations

from enum import StrEnum

from prometheus_client import Counter, Histogram, disable_created_metrics

from bot.messages import Channel

# The *_created series double the output and no dashboard of ours reads them.
disable_created_metrics()


class UpdateOutcome(StrEnum):
    HANDLED = "handled"  # the core answered it (with replies or none)
    DUPLICATE = "duplicate"  # a redelivery of an update already handled
    IGNORED = "ignored"  # a kind of update Abdi does not read (group chats, reactions, ...)
    FAILED = "failed"  # a handler raised; the user got the "something went wrong" line
    UNAVAILABLE = "unavailable"  # a dependency was down: not taken, the platform sends it again
    KEPT = "kept"  # unreadable: kept as a dead letter
    STATUS = "status"  # a WhatsApp delivery status callback


UPDATES = Counter(
    "abdi_updates",
    "Inbound updates handled, by channel and outcome.",
    ["channel", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "abdi_handler_seconds",
    "Seconds the core took to handle one inbound update.",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RATE_LIMITED = Counter(
    "abdi_delivery_rate_limited",
    "Outbound sends the platform refused for rate (Telegram 429, WhatsApp throttling codes).",
    ["channel"],
)
RETRIES = Counter(
    "abdi_delivery_retries",
    "Outbound deliveries rescheduled for another try (429, 5xx, network errors).",
    ["channel"],
)
TEMPLATE_SENDS = Counter(
    "abdi_whatsapp_template_sends",
    "WhatsApp messages sent as the approved template (outside the 24-hour window).",
)
LINK_CODE_FAILURES = Counter(
    "abdi_link_code_failures",
    "Link codes typed that were wrong, used or expired.",
)


# Every series from the start at 0: rate() and increase() then see a process's first event too.
# The children are kept: `.labels()` takes a lock and builds a key, on every update otherwise.
_UPDATES = {
    (channel.value, outcome.value): UPDATES.labels(channel.value, outcome.value)
    for channel in Channel
    for outcome in UpdateOutcome
}
_HANDLER_SECONDS = {channel.value: HANDLER_SECONDS.labels(channel.value) for channel in Channel}
for _channel in Channel:
    if _channel is not Channel.CONSOLE:  # the console sends straight to the terminal
        RATE_LIMITED.labels(_channel.value)
        RETRIES.labels(_channel.value)


def update(channel: str, outcome: UpdateOutcome) -> None:
    """An update that never reached the core (ignored, kept, a status callback)."""
    _UPDATES[channel, outcome].inc()


def handled(channel: str, outcome: UpdateOutcome, seconds: float) -> None:
    """An update the core took: its outcome and how long it took."""
    _UPDATES[channel, outcome].inc()
    _HANDLER_SECONDS[channel].observe(seconds)
