"""NIP and phone rules: validation, normalisation and masking for logs."""

from __future__ import annotations

import re
from datetime import date

NIP_LENGTH = 18
_NON_DIGIT = re.compile(r"[^\d]")


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def nip_problem(nip: str, kind: str, today: date | None = None) -> str | None:
    """Why a NIP is malformed for its kind (a message id), or None when well-formed.

    PNS: birth date YYYYMMDD, first appointment YYYYMM, gender digit, 3-digit serial.
    PPPK: birth date YYYYMMDD, appointment year YYYY, 2-digit code, gender digit, serial.
    """
    today = today or date.today()
    if len(nip) != NIP_LENGTH or not nip.isdigit():
        return "roster.error.nip_length"
    birth_y, birth_m, birth_d = int(nip[0:4]), int(nip[4:6]), int(nip[6:8])
    if not _valid_date(birth_y, birth_m, birth_d) or not 1940 <= birth_y <= today.year - 17:
        return "roster.error.nip_birth"
    appointed_y = int(nip[8:12])
    if kind == "PNS":
        appointed_m = int(nip[12:14])
        if not 1 <= appointed_m <= 12:
            return "roster.error.nip_appointment"
    if not birth_y + 17 <= appointed_y <= today.year + 1:
        return "roster.error.nip_appointment"
    if nip[14] not in "12":
        return "roster.error.nip_gender"
    if nip[15:] == "000":
        return "roster.error.nip_serial"
    return None


def normalize_phone(raw: str) -> str | None:
    """Indonesian numbers in any usual spelling to 62812…; else None.

    Accepted: 0812-…, +62 812…, 62812…, +62 (0)812…, 0062 812….
    """
    digits = _NON_DIGIT.sub("", raw or "")
    if digits.startswith("00"):  # international prefix: 0062 812…
        digits = digits[2:]
    if digits.startswith("620"):  # trunk zero kept after the country code: +62 (0)812…
        digits = "62" + digits[3:]
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    elif digits.startswith("8"):
        digits = "62" + digits
    if not digits.startswith("62") or not 10 <= len(digits) <= 15:
        return None
    return digits


def mask_nip(nip: str) -> str:
    return "*" * max(len(nip) - 4, 0) + nip[-4:]


def mask_phone(phone: str) -> str:
    return phone[:4] + "*" * max(len(phone) - 7, 0) + phone[-3:] if len(phone) > 7 else "***"
