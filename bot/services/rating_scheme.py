"""The reward scheme as configuration: shipped defaults (TOML) merged with an agency's overrides."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RatingScheme

DEFAULTS = Path(__file__).with_name("rating_scheme.toml")
RELATIONS = ("superior", "peer", "subordinate")


@cache
def _defaults() -> dict[str, Any]:
    with DEFAULTS.open("rb") as fh:
        return tomllib.load(fh)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True)
class Scheme:
    raw: dict[str, Any]

    @property
    def criteria(self) -> list[str]:
        return list(self.raw["criteria"])

    @property
    def score_min(self) -> int:
        return int(self.raw["score_min"])

    @property
    def score_max(self) -> int:
        return int(self.raw["score_max"])

    @property
    def comment_max_chars(self) -> int:
        return int(self.raw["comment_max_chars"])

    @property
    def weights(self) -> dict[str, float]:
        return {r: float(self.raw["weights"].get(r, 0.0)) for r in RELATIONS}

    def rule(self, name: str) -> Any:
        return self.raw["rules"][name]

    def integrity(self, name: str) -> int:
        return int(self.raw["integrity"][name])


def scheme_from(override: dict[str, Any] | None = None) -> Scheme:
    return Scheme(_merge(_defaults(), override or {}))


async def load_scheme(session: AsyncSession, agency_id: int) -> Scheme:
    row = await session.get(RatingScheme, agency_id)
    return scheme_from(row.config if row else None)
