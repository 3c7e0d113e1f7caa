"""The kinds of button payload arguments (ID, NUM, WORD) accept only their shapes."""

from __future__ import annotations

from bot.routing import ANY, ID, NUM, WORD, parse_args, valid_arg
from tests.helpers.forged import FORGED


def test_argument_kinds_accept_only_their_shapes() -> None:
    assert valid_arg(ID, "1") and valid_arg(ID, "2147483647")
    assert not valid_arg(ID, "0") and not valid_arg(ID, "2147483648")
    assert valid_arg(NUM, "0") and valid_arg(NUM, "9999") and not valid_arg(NUM, "10000")
    assert valid_arg(WORD, "akun_resmi") and valid_arg(WORD, "hr-2")
    assert not valid_arg(WORD, "Akun") and not valid_arg(WORD, "x" * 33)
    assert valid_arg(ANY, "12") and valid_arg(ANY, "everyone")
    for value in FORGED:
        for kind in (ID, NUM, WORD, ANY):
            if value in ("abc",) and kind in (WORD, ANY):
                continue
            assert not valid_arg(kind, value), (kind, value)
    assert parse_args((ID, WORD), ["3", "telegram"]) == ["3", "telegram"]
    assert parse_args((ID,), ["3", "4"]) is None
