"""A domain rule's "no": the reason is an enum whose value is a message id in locales/."""

from __future__ import annotations

from enum import StrEnum


class Refused(Exception):
    def __init__(self, reason: StrEnum) -> None:
        super().__init__(reason.value)
        self.reason = reason
