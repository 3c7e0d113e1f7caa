"""The entitlements content files: every item cites its source, both languages say the same
items, an agency's own file replaces the default, and review is shown as such."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.i18n import LOCALES_DIR, translator
from bot.services import entitlements
from bot.views import entitlements as views


def test_shipped_items_cite_a_source_and_match_across_languages() -> None:
    contents = {lang: entitlements.read(LOCALES_DIR / lang / "entitlements" / "default.toml")
                for lang in ("id", "en")}  # fmt: skip
    ids = {lang: [(i.id, i.section, i.kinds) for i in c.items] for lang, c in contents.items()}
    assert ids["id"] == ids["en"] and len(ids["id"]) >= 8
    for item in contents["id"].items:
        assert item.url.startswith(("http://", "https://")) and item.source.strip()


def _write(folder: Path, name: str, reviewed: str, title: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(
        f'reviewed_by = "{reviewed}"\nreviewed_on = "2026-12-01"\n\n[[item]]\nid = "x"\n'
        f'section = "rights"\nkinds = ["pensioner"]\ntitle = "{title}"\ntext = "t"\n'
        'ask = "TASPEN"\nsource = "PP 1/2000"\nurl = "https://example.org/pp"\n',
        encoding="utf-8",
    )


def test_an_agency_file_replaces_the_default_and_shows_its_review(tmp_path: Path) -> None:
    _write(tmp_path / "id" / "entitlements", "default.toml", "", "Umum")
    _write(tmp_path / "id" / "entitlements", "kota-lain.toml", "Lestari Utami", "Khusus")
    t = translator("id")
    own = views.screen(t, entitlements.content("id", "kota-lain", tmp_path), "pensioner")
    assert "Khusus" in own and "Diperiksa oleh Lestari Utami, 2026-12-01." in own
    general = views.screen(t, entitlements.content("en", "kota-contoh", tmp_path), "pensioner")
    assert "Umum" in general and "informasi umum" in general  # English falls back to Indonesian


def test_an_item_without_its_source_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "id" / "entitlements"
    _write(folder, "default.toml", "", "Umum")
    path = folder / "default.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("PP 1/2000", ""), encoding="utf-8")
    with pytest.raises(entitlements.ContentError):
        entitlements.read(path)
