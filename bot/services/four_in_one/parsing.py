"""Reading what people type about a case: tracking codes, NIPs, the deceased's name."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import date

from bot.services.identity import CODE_ALPHABET
from bot.services.people import normalize_phone

CODE_LENGTH = 12  # 31**12 ~ 8e17 codes: guessing one at 10 tries an hour is hopeless


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def clean_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def hash_code(code: str) -> str:
    # Only the hash is stored: a leaked table does not reveal codes that track a family's case.
    return hashlib.sha256(("4in1:" + clean_code(code)).encode()).hexdigest()


def looks_like_code(text: str) -> bool:
    cleaned = clean_code(text)
    return len(cleaned) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in cleaned)


def clean_nip(text: str) -> str:
    """A NIP as people write it: "19980421 202401 1 004" -> "199804212024011004"."""
    return re.sub(r"[\s.\-]", "", text)


def is_nip(text: str) -> bool:
    digits = clean_nip(text)
    return digits.isdigit() and len(digits) == 18


def is_code_shaped(text: str) -> bool:
    """A tracking code, not a name: grouped like one (ABCD-EFGH-JKLM) or carrying digits."""
    stripped = text.strip()
    grouped = re.fullmatch(r"\w{4}[-\s]\w{4}[-\s]\w{4}", stripped) is not None
    return looks_like_code(stripped) and (grouped or any(ch.isdigit() for ch in stripped))


# Honorifics families add to a name ("Alm. H. Budi"); punctuation is gone before this is applied.
_TITLES = re.compile(r"alm|almh|almarhum|almarhumah|drs|dra|ir|dr|hj|h")


def normalize_name(name: str) -> str:
    """Lower case, no titles or punctuation, single spaces ("Alm. H. Budi" -> "budi")."""
    lowered = re.sub(r"[^a-z\s]", " ", name.lower())
    words = [w for w in lowered.split() if not _TITLES.fullmatch(w)]
    return " ".join(words)


def names_agree(reported: str, roster: str) -> bool:
    """Could the reported name be the roster's? Each word in order, whole or as an initial:
    "J. Siregar" and "Joko" fit "Joko Siregar"; "Putri Gunawan" does not fit "Mega Hidayat"."""
    wanted, have = normalize_name(reported).split(), iter(normalize_name(roster).split())
    return bool(wanted) and all(
        any(w == h or (len(w) == 1 and h.startswith(w)) for h in have) for w in wanted
    )


def _normalize_ref(value: str | None) -> str:
    return re.sub(r"[^a-z0-9]", "", (value or "").lower())


def identity_key(*, employee_id: int | None, name: str, place: str | None, died_on: date) -> str:
    """What makes two reports the same death: the roster match, else name + unit/number + day."""
    if employee_id is not None:
        return f"emp:{employee_id}"
    return f"name:{normalize_name(name)}|{_normalize_ref(place)}|{died_on.isoformat()}"[:200]


def phone_of(text: str) -> str | None:
    """A family phone as stored (62812...), or None when the text is not an Indonesian number:
    the chat and the terminal refuse the same numbers."""
    return normalize_phone(text)


def nip_of(text: str) -> str | None:
    """The 18 digits of a NIP as people write it, or None when it is not one."""
    return clean_nip(text) if is_nip(text) else None
