"""`abdi doctor`: one table of every check (bot/doctor.py), exit 0 when nothing failed.

It opens nothing through the app (which refuses to start on the very problems it reports)."""

from __future__ import annotations

import argparse
import textwrap

from bot.cli.common import Subparsers
from bot.config import LOCALES, Settings
from bot.doctor import Check, Status, diagnose
from bot.i18n import Translator, translator

WIDTHS = (20, 12, 44, 44)  # check, status, finding, what to do: fits a 128-column terminal
MIN_FREE_MB = 1024


def _wrap(cell: str, width: int) -> list[str]:
    # A URL or path stays whole, to be copied: its line may push the next column out.
    return textwrap.wrap(cell, width, break_long_words=False, break_on_hyphens=False) or [""]


def table(checks: list[Check], t: Translator) -> str:
    header = (t("ops.col.check"), t("ops.col.status"), t("ops.col.finding"), t("ops.col.advice"))
    rows = [header] + [
        (t(f"ops.check.{c.name}"), t(f"ops.status.{c.status.value}"), c.finding, c.advice or "-")
        for c in checks
    ]
    lines: list[str] = []
    for number, row in enumerate(rows):
        cells = [_wrap(cell, width) for cell, width in zip(row, WIDTHS, strict=True)]
        for i in range(max(len(cell) for cell in cells)):
            parts = [
                (cell[i] if i < len(cell) else "").ljust(width)
                for cell, width in zip(cells, WIDTHS, strict=True)
            ]
            lines.append("  ".join(parts).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in WIDTHS))
    return "\n".join(lines)


async def cmd_doctor(settings: Settings, args: argparse.Namespace, t: Translator) -> int:
    if args.lang:
        t = translator(args.lang)
    checks = await diagnose(settings, t, args.min_free_mb)
    print(table(checks, t))
    failed = sum(c.status is Status.FAIL for c in checks)
    warned = sum(c.status is Status.WARN for c in checks)
    print()
    print(t("ops.doctor.failed", failed=failed, warned=warned) if failed else
          t("ops.doctor.passed", warned=warned))  # fmt: skip
    return 1 if failed else 0


def add_commands(sub: Subparsers) -> None:
    doctor = sub.add_parser("doctor", help="check the configuration and every service it names")
    doctor.add_argument("--lang", choices=LOCALES, help="language of the table (default: id)")
    doctor.add_argument(
        "--min-free-mb",
        type=int,
        default=MIN_FREE_MB,
        help=f"warn when the SQLite disk has less free space (default {MIN_FREE_MB})",
    )
    doctor.set_defaults(standalone=cmd_doctor)
