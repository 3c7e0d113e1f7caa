"""What a bereaved family's words already say: the relation, the day and time of the death, the
unit, the names and the phone, read from free text as people write it on WhatsApp ("bapak sy
meninggal td pagi", "namanya pak Budi, kerjanya di setda", "Sari, anaknya, 0812...").

Nothing here guesses: a phrase that can mean two things (a bare "jam 9" in a sentence, "semalam"
without an hour) is left out, and the conversation asks for it. The word lists are data at the
top of the module; the functions only read them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from bot.services.when import parse_date

# --- word lists ---------------------------------------------------------------------------------

# Spellings people use, mapped to one form before anything is read.
_SPELLINGS = {
    "td": "tadi", "tdi": "tadi", "kmrn": "kemarin", "kemaren": "kemarin", "kmarin": "kemarin",
    "kmren": "kemarin", "kmaren": "kemarin", "kmrin": "kemarin", "kemrin": "kemarin",
    "smlm": "semalam", "jm": "jam", "pkl": "pukul", "pk": "pukul", "sy": "saya", "sya": "saya",
    "aq": "aku", "gw": "saya", "gue": "saya", "gua": "saya", "yg": "yang",
    "bpk": "bapak", "bpak": "bapak", "bapa": "bapak", "bp": "bapak", "ibuk": "ibu",
    "mamah": "mama", "papah": "papa", "isteri": "istri", "istriku": "istri aku",
    "suamiku": "suami aku", "ayahku": "ayah aku", "ibuku": "ibu aku", "bapakku": "bapak aku",
    "mamaku": "mama aku", "papaku": "papa aku", "anakku": "anak aku", "ortu": "orangtua",
    "almh": "almarhumah", "alm": "almarhum", "almarhum": "almarhum", "ank": "anak",
    "meninggl": "meninggal", "meningal": "meninggal", "mninggal": "meninggal",
    "wafatnya": "wafat", "kulo": "saya", "abdi": "saya", "pun": "saya", "dgn": "dengan",
    "wingi": "kemarin", "kamari": "kemarin", "sonten": "sore", "enjing": "pagi", "dalu": "malam",
    "sdh": "sudah", "udh": "sudah", "udah": "sudah", "dah": "sudah", "skitar": "sekitar",
    "sktr": "sekitar", "kurleb": "sekitar", "kira2": "sekitar", "lalu": "lalu", "lalau": "lalu",
    "nama2": "nama", "tos": "sudah", "namax": "namanya", "nm": "nama", "mlm": "malam",
    "pgi": "pagi", "sbh": "subuh", "sre": "sore", "tp": "tapi", "tpi": "tapi",
}  # fmt: skip

# Words of death and mourning (lower case, after the spellings above).
DEATH_WORDS = (
    "meninggal", "wafat", "berpulang", "berduka", "duka", "almarhum", "almarhumah", "mendiang",
    "innalillahi", "innalilahi", "inalillahi", "inalilahi", "innalillah", "inna lillahi",
    "tutup usia", "telah tiada", "sudah tiada", "sudah gak ada", "sudah nggak ada",
    "sudah tidak ada", "passed away", "died", "death", "deceased", "pass away", "lelayu",
    "kematian", "mangkat", "pupus", "sedo", "seda", "ngantunkeun", "rahmatullah", "4 in 1",
    "4in1", "4 in1", "4in 1", "empat in satu", "3 in 1", "ahli waris", "rip",
)  # fmt: skip

# The deceased named from the reporter's side ("bapak saya"): the reporter's relation.
_KIN = {
    "child": (
        "bapak", "ayah", "ayahanda", "papa", "papi", "abah", "abi", "bokap", "babe", "amang",
        "ibu", "ibunda", "mama", "mami", "mamak", "emak", "mak", "umi", "ummi", "bunda", "nyokap",
        "inang", "orangtua", "orang tua", "father", "dad", "daddy", "mother", "mom", "mum",
        "mommy", "parent", "parents",
    ),
    "spouse": ("suami", "istri", "bini", "husband", "wife"),
    "parent": ("anak", "putra", "putri", "putera", "puteri", "son", "daughter", "child"),
    "other": (
        "kakak", "adik", "adek", "abang", "paman", "om", "tante", "bibi", "bude", "pakde",
        "kakek", "nenek", "mertua", "cucu", "sepupu", "ipar", "keponakan", "brother", "sister",
        "uncle", "aunt", "grandfather", "grandmother", "grandpa", "grandma", "father-in-law",
        "mother-in-law",
    ),
}  # fmt: skip
# The reporter naming themselves ("saya anaknya", "Sari, istrinya"): the same relation directly.
_ROLE = {
    "child": ("anak", "putra", "putri", "putera", "puteri", "son", "daughter", "child"),
    "spouse": ("suami", "istri", "husband", "wife", "janda", "duda", "widow", "widower"),
    "parent": ("bapak", "ayah", "ibu", "mama", "papa", "orangtua", "father", "mother", "parent"),
    "other": ("kakak", "adik", "keponakan", "cucu", "menantu", "saudara", "keluarga", "relative"),
}  # fmt: skip
# Option labels typed as text at the relation question, in both languages.
_LABELS = {
    "spouse": ("suami/istri", "suami istri", "suami", "istri", "pasangan", "spouse", "husband",
               "wife", "janda", "duda"),
    "child": ("anak", "anaknya", "child", "son", "daughter", "putra", "putri"),
    "parent": ("orang tua", "orangtua", "ortu", "parent", "bapaknya", "ibunya", "ayahnya"),
    "other": ("lainnya", "lain", "lain-lain", "other", "saudara", "kerabat", "keluarga"),
}  # fmt: skip
_POSSESSIVE = ("saya", "aku", "kami", "kita", "my", "our", "kmi")
# Polite address at the start of a message: "Bu, ...", "Pak, ..." is not the deceased.
_ADDRESS = {"pak", "bu", "mas", "mbak", "kak", "bang", "om", "min", "dik", "dek", "teh", "kang"}
_DEATH_VERBS = {"meninggal", "wafat", "berpulang", "died", "passed", "sedo", "pupus", "tutup"}

_PARTS = {
    "subuh": "subuh", "dini": "subuh", "pagi": "pagi", "siang": "siang", "sore": "sore",
    "petang": "sore", "malam": "malam", "morning": "pagi", "afternoon": "siang",
    "evening": "sore", "night": "malam",
}  # fmt: skip

_NAME_MARKERS = (
    "nama almarhumah", "nama almarhum", "nama beliau", "nama bapak", "nama ibu", "nama ayah",
    "nama suami", "nama istri", "nama anak", "namanya", "nama nya", "nama lengkapnya",
    "nama lengkap", "atas nama", "a.n.", "an.", "his name is", "her name is", "name is",
    "named", "name", "nama", "nami", "almarhumah", "almarhum", "mendiang", "the late",
    "yang benar", "yang betul", "seharusnya", "should be",
)  # fmt: skip
# Words that end a name (they start the next piece of the sentence).
_STOP = set(
    """di dan yang kerja kerjanya bekerja bertugas tugas dinas pegawai pns asn pppk guru
    meninggal wafat berpulang tutup usia tadi kemarin semalam hari jam pukul sekitar tanggal tgl
    pada sejak umur usia nip beliau dia ia adalah yaitu sudah telah baru mohon tolong gimana gmn
    bagaimana mau minta terima kasih ya min dari untuk utk karena krn ini itu pensiunan pensiun
    anaknya istrinya suaminya ibunya bapaknya ayahnya cucunya adiknya kakaknya keponakannya
    saya aku kami kita selaku sebagai no nomor hp wa telp telepon kontak who was is worked works
    at in on died passed yesterday today this last morning night teng damelna sedo pupus
    kecelakaan sakit rs rumah bukan tapi melainkan namun but not""".split()
)
# Words taken off a name: fillers and honorifics that are not part of it.
_FILLER = set(
    """nama namanya nya lengkap lengkapnya beliau almarhum almarhumah mendiang alm almh pak bu
    bapak ibu bpk saya kami aku yaitu adalah yakni is the late my our sdr sdri saudara saudari
    mr mrs ms bapaknya ibunya ayah ayahanda ibunda suami istri anak bukan maaf oh eh koreksi
    salah ralat""".split()
)

# The speaker: "nama saya", "my name" mark the reporter's own name, not the deceased's.
_SELF = {"saya", "aku", "my", "im", "i'm", "i’m"}
# How a reporter introduces themselves, after any greeting ("perkenalkan, nama saya …").
_SELF_LEADS = (
    ("nama", "saya"), ("nama", "aku"), ("my", "name", "is"), ("my", "name"), ("name", "is"),
    ("saya",), ("aku",), ("i", "am"), ("i'm",), ("i’m",), ("im",), ("this", "is"),
    ("dengan",),
)  # fmt: skip
_GREETING = set(
    """perkenalkan kenalkan halo hallo hai hi assalamualaikum assalamu'alaikum salam selamat
    pagi siang sore malam ini""".split()
)
# Words after "saya" that start a sentence, not a name ("saya mau lapor", "saya ingin …").
_NOT_NAME = set(
    """ingin pengen pingin lapor melapor melaporkan urus mengurus tanya bertanya kehilangan
    sedang lagi belum bisa perlu butuh punya lupa bingung juga cuma hanya mewakili dari want
    need would lost am is have his her the""".split()
)
# A clause that starts about the deceased ("nama bapak …", "almarhum …").
_ABOUT_DECEASED = [[word] for word in ("nama", "namanya", "almarhum", "almarhumah", "mendiang")]
# A relation said beside the reporter's name ("Rina, anak pertama"), and the birth order.
_RELATION_WORDS = (
    {word for words in _ROLE.values() for word in words}
    | {f"{word}nya" for words in _ROLE.values() for word in words}
    | set(_LABELS["child"])
)
# Relation words that are also given names ("Putri", "Putra").
_NAMELIKE = {"putri", "putra", "puteri", "putera"}
_KIN_WORDS = {word for words in _KIN.values() for word in words}
_ORDINAL = set("pertama kedua ketiga keempat sulung bungsu tertua termuda first eldest".split())
# Answers that agree but say nothing else.
_ACK = set(
    """iya iyah iy ya yaa yap yup y ok oke okey okay okeh sip siap baik baiklah benar betul
    bener yes yeah sure tidak gak nggak enggak ga ngga no nope sudah done makasih terimakasih
    thanks thank terima kasih""".split()
)

_UNIT_LEADS = (
    "kerjanya di", "kerja nya di", "kerja di", "bekerja di", "bertugas di", "tugas di",
    "tugasnya di", "dinas di", "pegawai di", "pegawai", "pns di", "pns", "asn di", "asn",
    "pppk di", "pppk", "guru di", "staf di", "staff di", "kantornya di", "kantor", "unit kerja",
    "unitnya", "unit", "worked at", "works at", "worked in", "works in", "was at", "teng",
    "damelna di", "damelna", "dibawah", "di bawah", "opd", "di",
)  # fmt: skip
# Unit names written in capitals (an all-lower-case unit is capitalised, these upper-cased).
_ABBREVIATIONS = set(
    """sd sdn smp smpn sma sman smk smkn mi mts ma tk paud pu pupr rsud bpbd bkpsdm bkd dprd
    opd upt uptd kua bpkad bapenda bappeda""".split()
)
# Words that start a unit's name ("dinas pu", "SD negeri 3", "puskesmas Sukamaju").
_UNIT_HEADS = set(
    """dinas badan kantor sd sdn smp smpn sma sman smk smkn sekolah puskesmas rsud kecamatan
    kelurahan bagian bidang sekretariat setda inspektorat satpol uptd upt""".split()
)
# Further words that start a unit after a name ("budi santoso kec. sukamaju").
_UNIT_FORMS = {"kec", "kel", "rsud", "dishub", "dinkes", "disdik", "bkpsdm", "setda", "sekda"}
# Unit words too general to point to one unit on their own.
_GENERIC_UNIT = set(
    "dinas kecamatan kec badan kantor daerah kota kabupaten unit bagian sekolah pemerintah".split()
)


def _words(text: str) -> list[str]:
    """Lower-cased words with the spellings evened out; digits and times kept together."""
    lowered = text.lower().replace("’", "'")
    lowered = re.sub(r"(\d)\s*-?\s*an\b", r"\1 an", lowered)  # "3an", "3-an" -> "3 an"
    raw = re.findall(r"\d{1,2}[.:]\d{2}|[a-z0-9/'\-]+", lowered)
    out: list[str] = []
    for w in raw:
        w = w.strip("'-")
        if not w:
            continue
        out.extend(_SPELLINGS.get(w, w).split())
    return out


def normal(text: str) -> str:
    return " ".join(_words(text))


def _has(phrase_text: str, phrase: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", phrase_text) is not None


def mentions_death(text: str) -> bool:
    said = normal(text)
    compact = re.sub(r"[^a-z0-9]", "", text.lower())
    stems = ("meninggal", "wafat", "berpulang", "berduka", "almarhum", "kematian", "innalil")
    return (
        any(_has(said, w) for w in DEATH_WORDS)
        or any(w.startswith(stems) for w in said.split())
        or "4in1" in compact
        or "3in1" in compact
    )


# --- relation -----------------------------------------------------------------------------------


def _kin_at(words: list[str], i: int, table: dict[str, tuple[str, ...]]) -> tuple[str, int] | None:
    for relation, kin in table.items():
        for k in kin:
            parts = k.split()
            if words[i : i + len(parts)] == parts:
                return relation, len(parts)
    return None


def relation_of(text: str) -> str | None:
    """The reporter's relation to the deceased, as the text says it ("bapak sy" -> child)."""
    words = _words(text)
    for i, w in enumerate(words):
        # "saya anaknya", "saya istri dari almarhum", "i am his son"
        if w in ("saya", "aku", "i", "im") and i + 1 < len(words):
            j = i + 1
            while j < len(words) and words[j] in ("adalah", "am", "his", "her", "the", "sebagai"):
                j += 1
            # a role of the reporter's: "saya anaknya", "saya istri dari almarhum", "i am his son"
            said_so = j > i + 1 and words[j - 1] in ("his", "her")
            next_ = words[j + 1] if j + 1 < len(words) else ""
            if j < len(words) and (
                said_so or words[j].endswith("nya") or next_ in ("dari", "beliau", "almarhum")
            ):
                role = _role_word(words[j])
                if role:
                    return role
        if w in ("my", "our") and i + 1 < len(words):
            found = _kin_at(words, i + 1, _KIN)
            if found:
                return found[0]
            continue
        found = _kin_at(words, i, _KIN)
        if found is None:
            continue
        relation, size = found
        after = words[i + size : i + size + 2]
        if after and after[0] in _POSSESSIVE:
            return relation
        if after and after[0] in ("dari",) and relation == "child":
            continue
        # "papa meninggal tadi malam": kin right before a death verb, unless it is an address.
        start_of_message = i == 0 and w in _ADDRESS
        if after and after[0] in _DEATH_VERBS | {"yang", "telah", "sudah"} and not start_of_message:
            return relation
    for w in words:  # "Sari, anaknya"
        role = _role_word(w) if w.endswith("nya") else None
        if role:
            return role
    return None


def _role_word(word: str) -> str | None:
    base = word[:-3] if word.endswith("nya") and len(word) > 5 else word
    for relation, roles in _ROLE.items():
        if base in roles:
            return relation
    return None


def _distance_ok(a: str, b: str) -> bool:
    """At most one letter added, dropped or changed (typos like "ank", "istr")."""
    if abs(len(a) - len(b)) > 1 or min(len(a), len(b)) < 3:
        return a == b
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def relation_label(text: str, labels: dict[str, Iterable[str]] | None = None) -> str | None:
    """An option label typed as the answer ("anak", "ank", "Suami/istri", "spouse")."""
    said = " ".join(re.sub(r"[^a-z/ ]", " ", text.lower()).split())
    if not said or len(said) > 30:
        return None
    table: dict[str, list[str]] = {k: list(v) for k, v in _LABELS.items()}
    for key, extra in (labels or {}).items():
        table.setdefault(key, []).extend(x.lower() for x in extra)
    for relation, names in table.items():
        if said in names:
            return relation
    for relation, names in table.items():
        if any(_distance_ok(said, n) for n in names):
            return relation
    return relation_of(text)


# --- day and time -------------------------------------------------------------------------------

_WEEKDAYS = {
    "senin": 0, "selasa": 1, "rabu": 2, "kamis": 3, "jumat": 4, "jum'at": 4, "sabtu": 5,
    "minggu": 6, "ahad": 6, "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3,
    "friday": 4, "saturday": 5, "sunday": 6,
}  # fmt: skip
_NUMBERS = {"dua": 2, "tiga": 3, "empat": 4, "lima": 5, "two": 2, "three": 3, "four": 4}


@dataclass
class When:
    """A moment of death as far as the words go. `night`: "semalam" — yesterday evening or
    after midnight, which only the hour tells apart (asked when missing)."""

    days_ago: int | None = None
    on: date | None = None
    clock: time | None = None
    part: str | None = None
    night: bool = False
    tonight: bool = False  # "tadi malam" said in the evening may be this evening
    hour: int | None = None  # an hour said without a part of day ("jam 9"): asked back

    @property
    def has_day(self) -> bool:
        return self.days_ago is not None or self.on is not None


def _clock(hour: int, minute: int, part: str | None) -> time | None:
    if hour > 23 or minute > 59:
        return None
    if part is None:
        return time(hour, minute) if hour == 0 or hour > 12 or minute else None
    if hour > 12:
        return time(hour, minute)
    if part == "subuh":
        return time(hour % 12, minute) if hour <= 6 or hour == 12 else None
    if part == "pagi":
        return time(hour % 12, minute) if hour <= 11 or hour == 12 else None
    if part == "siang":
        return time(hour + 12 if hour < 6 else hour, minute)
    if part == "sore":
        return time(hour + 12 if hour < 12 else hour, minute)
    if part == "malam":
        if hour == 12:
            return time(0, minute)
        return time(hour + 12 if hour >= 6 else hour, minute)
    return None


def when_of(text: str, today: date) -> When:
    """The day and time a death is told in ("td pagi", "kemarin sore jam 4", "semalam jam 11",
    "jam 3an subuh", "2 hari lalu", "21/11", "yesterday at 10 am")."""
    said = normal(text)
    words = said.split()
    found = When()
    # the day
    if re.search(r"\b(kemarin lusa|lusa kemarin)\b", said):
        found.days_ago = 2
    elif m := re.search(
        r"\b(\d|dua|tiga|empat|lima|two|three|four) (hari|days?) "
        r"(yang )?(lalu|ago|lewat|sebelumnya)\b",
        said,
    ):
        n = m.group(1)
        found.days_ago = int(n) if n.isdigit() else _NUMBERS[n]
    elif re.search(r"\b(kemarin|yesterday)\b", said):
        found.days_ago = 1
    elif m := re.search(r"\b(semalam|tadi malam|last night|malam tadi|malam ini|tonight)\b", said):
        found.night = True
        found.tonight = m.group(1) not in ("semalam", "last night")
        found.part = "malam"
    elif re.search(
        r"\b(tadi|hari ini|today|this (morning|afternoon|evening)|barusan|baru saja|pagi ini|"
        r"siang ini|sore ini|pagi tadi|subuh tadi|siang tadi|sore tadi|just now|tonight)\b",
        said,
    ):
        found.days_ago = 0
    else:
        on = _date_in(said, today)
        if on is not None:
            found.on = on
        else:
            for i, w in enumerate(words):
                if w in _WEEKDAYS and (i == 0 or words[i - 1] in ("hari", "on", "pada", "tgl")):
                    found.days_ago = (today.weekday() - _WEEKDAYS[w]) % 7
                    break
    # the part of the day: the one said with the hour, else the first ("sugeng enjing" is a
    # greeting, "jam 4 sonten" the time)
    hour_at = next((i for i, w in enumerate(words) if w in ("jam", "pukul")), None)
    near = [
        w
        for i, w in enumerate(words)
        if w in _PARTS and hour_at is not None and hour_at < i <= hour_at + 4
    ] + [w for i, w in enumerate(words) if hour_at is not None and hour_at - 3 <= i < hour_at]
    for w in near + words:
        if w in _PARTS and not (w == "malam" and found.night):
            found.part = found.part or _PARTS[w]
    if re.search(r"\bdini hari\b", said):
        found.part = "subuh"
    if re.search(r"\b(\d{1,2})\s*(am|a m)\b", said):
        found.part = found.part if found.part in ("subuh", "pagi") else "pagi"
    # the hour: after a marker ("jam", "pukul", "at", "around"), or HH.MM, or "10 am"
    m = re.search(
        r"\b(?:jam|pukul|at|around|about|sekitar|sekitar jam|kira kira)\s+(?:jam\s+)?"
        r"(\d{1,2})(?:[.:](\d{2}))?(?:\s+an)?\s*(am|pm|wib|wita|wit)?\b",
        said,
    ) or re.search(r"\b(\d{1,2})[.:](\d{2})\b()", said)
    if m is None:
        m = re.search(r"\b(\d{1,2})()\s*(am|pm)\b", said)
    if m is not None:
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        suffix = m.group(3) or ""
        part = found.part
        if suffix == "pm":
            part = "sore" if hour < 12 else part
        elif suffix == "am":
            part = "pagi" if part not in ("subuh", "pagi") else part
        if found.night and part == "malam":
            part = "malam"
        found.clock = _clock(hour, minute, part)
        if found.clock is None and part is None and hour <= 12:
            found.hour = hour
    return found


def _date_in(said: str, today: date) -> date | None:
    for pattern in (
        r"\b\d{1,2}[/\-]\d{1,2}(?:[/\-]\d{2,4})?\b",
        r"\b\d{4}-\d{1,2}-\d{1,2}\b",
        r"\b\d{1,2} [a-z]{3,9}(?: \d{4})?\b",
    ):
        for m in re.finditer(pattern, said):
            found = parse_date(m.group(0), today)
            if found is not None:
                return found
    return None


def resolve(found: When, today: date, now_local: datetime) -> tuple[date | None, time | None]:
    """The day and clock of a When; "semalam" picks, of yesterday and today at that hour, the
    latest that is not in the future. Without an hour a night stays undecided (None)."""
    if found.night:
        if found.clock is None:
            return None, None
        # Last night ran from yesterday evening to this morning; "tadi malam" in the evening
        # may also be earlier this evening.
        after_midnight = found.clock.hour < 6
        this_evening = found.tonight and found.clock.hour >= 18
        today_at = datetime.combine(today, found.clock, now_local.tzinfo)
        if (after_midnight or this_evening) and today_at <= now_local:
            return today, found.clock
        if after_midnight:  # said before that hour came tonight: the small hours of yesterday
            return today - timedelta(days=1), found.clock
        if found.clock.hour >= 17:
            return today - timedelta(days=1), found.clock
        return None, None
    if found.on is not None:
        return found.on, found.clock
    if found.days_ago is not None:
        day = today - timedelta(days=found.days_ago)
        if found.days_ago == 0 and _still_yesterday(found, now_local):
            # Just after midnight "tadi pagi" or "tadi subuh jam 4" is the day that just ended.
            day -= timedelta(days=1)
        return day, found.clock
    return None, found.clock


# Before this hour a "tadi pagi" / "tadi subuh" without an hour is still yesterday's.
_MORNING_BEGUN = 3


def _still_yesterday(found: When, now_local: datetime) -> bool:
    """A "today" time that has not come yet, said in the small hours."""
    if now_local.hour >= 6:
        return False
    if found.clock is not None:
        return datetime.combine(now_local.date(), found.clock, now_local.tzinfo) > now_local
    # A family up all night with the dying says "tadi pagi" / "td subuh" at 05.51 of the hours
    # just gone: from 03.00 the morning has begun (Subuh prayer is near; "jam 3 pagi" is how the
    # hour is said). Before 03.00 nobody has slept yet and "tadi pagi" is yesterday morning.
    # The date read is shown back, so a family that meant otherwise corrects it.
    if found.part in ("pagi", "subuh"):
        return now_local.hour < _MORNING_BEGUN
    return found.part in ("siang", "sore")


def time_answer(text: str) -> tuple[time | None, str | None]:
    """A reply to "about what time?": a clock ("jam 3an subuh", "td pagi jam 7", "5 sore") or
    only a part of the day ("tadi pagi") when no hour was said."""
    said = normal(text)
    words = said.split()
    part = next((_PARTS[w] for w in words if w in _PARTS), None)
    if re.search(r"\bdini hari\b", said):
        part = "subuh"
    m = re.search(r"(?<![\d.:])(\d{1,2})(?:[.:,](\d{2}))?(?:\s*an)?\s*(am|pm)?(?![\d.:])", said)
    if m is None:
        return None, part
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if m.group(3) == "pm" and hour < 12:
        part = "sore"
    elif m.group(3) == "am":
        part = "pagi" if hour != 12 else "malam"
    if part is None:
        return (time(hour, minute) if hour <= 23 and minute <= 59 else None), None
    return _clock(hour, minute, part), part


# --- names, unit, phone -------------------------------------------------------------------------

_PHONE = re.compile(r"(?<!\d)(?:\+?62|0)\s?8[\d\s.\-]{7,15}\d(?!\d)")
_NIP = re.compile(r"(?<!\d)\d{8}[\s.\-]?\d{6}[\s.\-]?\d[\s.\-]?\d{3}(?!\d)")


def phone_in(text: str) -> str | None:
    m = _PHONE.search(text)
    return m.group(0) if m else None


def nip_in(text: str) -> str | None:
    m = _NIP.search(text)
    return re.sub(r"\D", "", m.group(0)) if m else None


def _tokens(text: str) -> list[tuple[str, str]]:
    """(original, normalized) pairs, with punctuation that ends a clause kept as ","."""
    out: list[tuple[str, str]] = []
    pattern = r"[A-Za-z][A-Za-z'’\-]*\.?|\d[\d.:/\-]*|[,;()\n!?]|\s\.\s|\.(?=\s|$)"
    for m in re.finditer(pattern, text):
        raw = m.group(0).strip()
        if raw in (",", ";", "(", ")", "!", "?", "."):
            out.append((",", ","))
            continue
        word = raw.rstrip(".").lower()
        out.append((raw.rstrip("."), _SPELLINGS.get(word, word)))
        if raw.endswith(".") and len(raw) > 3 and word not in ("alm", "almh", "drs", "dra"):
            out.append((",", ","))  # "Dewi Lestari. PNS": a sentence ended
    return out


def _take_name(tokens: list[tuple[str, str]], start: int, loose: bool) -> str | None:
    i = start
    while i < len(tokens) and (tokens[i][1] in _FILLER or tokens[i][1] in (":", "-")):
        i += 1
    taken: list[str] = []
    while i < len(tokens) and len(taken) < 6:
        raw, word = tokens[i]
        if word == "," or word in _STOP or not raw[0].isalpha():
            break
        if not loose and not raw[0].isupper() and not taken:
            break
        if word in _FILLER and not taken:
            i += 1
            continue
        taken.append(raw)
        i += 1
    while taken and taken[-1].lower() in _FILLER:
        taken.pop()
    name = " ".join(taken)
    return name if len(re.sub(r"[^A-Za-z]", "", name)) >= 2 else None


def name_of(text: str, loose: bool = False) -> str | None:
    """The deceased's name where the text marks it ("namanya pak Budi Santoso", "alm. Budi",
    "bapak kami Drs. H. Bambang Susilo"); `loose` (at the name question): an unmarked name at
    the start is taken too ("Budi Santoso, dinkes")."""
    tokens = _tokens(text)
    words = [w for _, w in tokens]
    joined = " ".join(words)
    for marker in _NAME_MARKERS:
        m = re.search(rf"(?<![a-z]){re.escape(marker)}(?![a-z])", joined)
        if m is None:
            continue
        index = joined[: m.end()].count(" ") + 1
        if _first_person(words, m.start(), index):
            continue  # "nama saya Rina", "my name is Rina": the reporter, not the deceased
        name = _take_name(tokens, index, loose=True)
        if name:
            return _capitalised(name)
    # "bapak kami Drs. H. Bambang Susilo": a capitalised name right after kin + possessive
    for i in range(len(tokens) - 1):
        if _kin_at(words, i, _KIN) and words[i + 1] in _POSSESSIVE:
            name = _take_name(tokens, i + 2, loose=False)
            if name:
                return _capitalised(name)
    if loose and _self_lead(words, _after_greeting(words)) is None:
        start = 0
        while start < len(words) and (words[start] in _FILLER or words[start] in _GREETING):
            start += 1
        return _name_from(tokens, start)
    return None


def _first_person(words: list[str], marker_start: int, after: int) -> bool:
    """Whether a name marker is about the speaker: "nama saya …" (a first-person word after
    "nama"/"name") or "my name is …" (one before it)."""
    following = words[after] if after < len(words) else ""
    before = " ".join(words)[:marker_start].split()
    return following in _SELF or (bool(before) and before[-1] in _SELF)


def _capitalised(name: str) -> str:
    """A name typed all in lower case on a phone ("rina wati") as it is written ("Rina Wati");
    a name with capitals of its own ("McDonald", "dr. Rina") is left as typed."""
    return name.title() if name == name.lower() else name


# Words that only say when: "jam 5an", "sekitar jam 5", "td pagi" name no unit.
_TIME_ONLY = set(
    """jam pukul sekitar kira an wib wita wit tadi kemarin semalam hari ini lalu dini around about
    at""".split()
) | set(_PARTS)
_TIME_MARKS = {"jam", "pukul", "kemarin", "semalam", "tadi", *_PARTS}


def is_time_only(text: str) -> bool:
    """Whether the text says when and nothing else ("jam 5an", "kira2 jam 5", "14.30")."""
    said = normal(text).split()
    clock_like = [w for w in said if re.fullmatch(r"\d{1,2}(?:[.:]\d{2})?", w)]
    if not said or not (clock_like or _TIME_MARKS & set(said)):
        return False
    if not _TIME_MARKS & set(said) and not any(":" in w or "." in w for w in clock_like):
        return False  # a bare "5" at the unit question may be a pension number
    return all(w in _TIME_ONLY or w in clock_like for w in said)


def split_unit_tail(
    name: str, unit_names: Iterable[str], words_of: Callable[[str], Iterable[str]]
) -> tuple[str, str | None]:
    """ "Budi Santoso Dinkes" typed at the name question: the name and the unit after it.

    The unit starts at a word that begins units ("puskesmas", "kecamatan", "kec"), a short name
    families use for one ("dinkes", "setda": it expands to other words), or where the rest is a
    roster unit's whole name ("bkpsdm"). A name keeps at least its first word."""
    parts = name.split()
    exact = {tuple(words_of(unit)) for unit in unit_names}
    for i in range(1, len(parts)):
        first = parts[i].lower().rstrip(".")
        tail = " ".join(parts[i:])
        alias = list(words_of(first)) not in ([first], [])
        if first in _UNIT_HEADS | _UNIT_FORMS or alias or tuple(words_of(tail)) in exact:
            return " ".join(parts[:i]), tail
    return name, None


def is_acknowledgement(text: str) -> bool:
    """A bare "iya", "ok", "siap, min": an answer that agrees but names nothing."""
    said = [w for w in normal(text).split() if w not in _ADDRESS]
    return bool(said) and all(w in _ACK for w in said)


def _clauses(text: str) -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = [[]]
    for token in _tokens(_NIP.sub(",", _PHONE.sub(",", text))):
        if token[1] == ",":
            out.append([])
        else:
            out[-1].append(token)
    return [clause for clause in out if clause]


def _after_greeting(words: list[str]) -> int:
    i = 0
    while i < len(words) and (words[i] in _GREETING or words[i] in _ADDRESS):
        i += 1
    return i


def _self_lead(words: list[str], at: int) -> int | None:
    """Where the name starts when the words at `at` introduce the speaker ("nama saya",
    "my name is", "saya", "I'm", "ini", "dengan"), else None."""
    for lead in _SELF_LEADS:
        if words[at : at + len(lead)] == list(lead):
            return at + len(lead)
    return None


def _name_from(clause: list[tuple[str, str]], at: int) -> str | None:
    """A name starting at `at`, unless what stands there is a relation, a kin word, an
    agreement or a verb ("saya anaknya", "saya mau lapor"); "rina anak pertama" -> "rina"."""
    if at >= len(clause):
        return None
    raw, first = clause[at]
    if raw.islower() and first in _NOT_NAME | _ACK:
        return None
    name = _take_name(clause, at, loose=True)
    if name is None:
        return None
    taken = name.split()
    while len(taken) > 1 and taken[-1].lower() in _RELATION_WORDS | _ORDINAL:
        taken.pop()
    # "ayah", "anak pertama" are relations; "Putri" and "putri gunawan" are names
    plain = [w.lower() for w in taken]
    if all(w in _RELATION_WORDS | _KIN_WORDS | _ACK | _ORDINAL for w in plain) and not (
        len(taken) == 1 and taken[0][0].isupper() and plain[0] in _NAMELIKE
    ):
        return None
    return _capitalised(" ".join(taken))


def own_name_of(text: str) -> str | None:
    """The reporter's name where they introduce themselves ("nama saya Rina", "saya Rina,
    anaknya", "my name is Rina"): at a question about the deceased it is not their name."""
    for clause in _clauses(text):
        words = [w for _, w in clause]
        at = _self_lead(words, _after_greeting(words))
        if at is not None and words[at : at + 1] in (["his"], ["her"], ["their"]):
            if at + 1 < len(words) and words[at + 1] in _RELATION_WORDS | _KIN_WORDS:
                at += 2  # "I am his son Andi"
        if at is not None:
            name = _name_from(clause, at)
            if name:
                return name
    return None


def contact_of(text: str) -> str | None:
    """The reporter's own name in a reply like "Sari, anaknya, 0812...", "saya Sari",
    "perkenalkan nama sy rina" or "saya anaknya, Rina"; None for a bare "iya"."""
    own = own_name_of(text)
    if own:
        return own
    for clause in _clauses(text):
        words = [w for _, w in clause]
        at = _after_greeting(words)
        if _self_lead(words, at) is not None or words[at : at + 1] in _ABOUT_DECEASED:
            continue  # "saya anaknya", "nama bapak …": the reporter's name is elsewhere
        name = _name_from(clause, at)
        if name:
            return name
    return None


def unit_phrases(text: str) -> list[tuple[str, bool]]:
    """Pieces of the text that may name a unit, each with whether a lead word said so
    ("kerjanya di setda" -> ("setda", True)); windows of every clause come after, unsure."""
    said = normal(re.sub(r"[(),;.!?]", " , ", text))
    out: list[tuple[str, bool]] = []
    for lead in _UNIT_LEADS:
        for m in re.finditer(rf"(?<![a-z]){re.escape(lead)}\s+([a-z0-9 ]+)", said):
            tail = []
            for w in m.group(1).split():
                if w in _STOP - {"dinas"} or w in ("yang", "dan", "sebagai", "kota"):
                    break
                tail.append(w)
                if len(tail) == 4:
                    break
            if tail:
                out.append((" ".join(tail), lead != "di"))
    for clause in re.split(r"[,;()\n]", text):
        # "Sutrisno, dinas pu": a clause that starts with a kind of unit names one
        words = normal(clause).split()
        while words and words[0] in ("beliau", "dia", "guru", "pegawai", "staf", "teacher"):
            words = words[1:]  # "guru SD 3"
        if words and words[0] in _UNIT_HEADS:
            head = list(itertools.takewhile(lambda w: w not in _STOP - {"dinas"}, words[1:4]))
            if head:
                out.append((" ".join([words[0], *head]), True))
    clauses = [c.split() for c in said.split(",")]
    for words in clauses:
        for size in (4, 3, 2, 1):
            for i in range(len(words) - size + 1):
                window = words[i : i + size]
                if any(w in _STOP - {"dinas"} for w in window):
                    continue
                if all(w in _GENERIC_UNIT for w in window):
                    continue
                out.append((" ".join(window), False))
    return out


def pick_unit(
    text: str, unit_names: list[str], words_of: Callable[[str], Iterable[str]]
) -> tuple[str | None, list[str]]:
    """The roster unit the text names: (one unit, []) or (None, the several it may mean) or
    (a unit typed after a lead word that is not in the roster, []) or (None, [])."""
    expanded = {name: set(words_of(name)) for name in unit_names}
    sure_raw: str | None = None
    several: list[str] = []
    for phrase, sure in unit_phrases(text):
        wanted = words_of(phrase)
        if not wanted or all(w in _GENERIC_UNIT for w in wanted):
            if sure and not several and sure_raw is None and len(phrase) > 3 and wanted:
                several = [n for n, ws in expanded.items() if set(wanted) <= ws]
            continue
        hits = [n for n, ws in expanded.items() if set(wanted) <= ws]
        if len(hits) == 1:
            return hits[0], []
        if len(hits) > 1 and not several:
            several = hits
        if not hits and sure and sure_raw is None and len(phrase) >= 4:
            sure_raw = phrase
    if several:
        return None, several
    if sure_raw is not None:
        return as_typed(sure_raw, text), []
    return None, []


def read_unit(
    text: str,
    unit_names: list[str],
    words_of: Callable[[str], Iterable[str]],
    tail: str | None = None,
) -> tuple[str | None, list[str]]:
    """`pick_unit`, then, when the sentence named none, the unit typed after the name (`tail`
    from `split_unit_tail`): a roster unit, or as typed when the roster has none like it."""
    unit, several = pick_unit(text, unit_names, words_of)
    if unit or several or not tail:
        return unit, several
    unit, several = pick_unit(tail, unit_names, words_of)
    if unit or several:
        return unit, several
    return as_typed(tail, text), []


def as_typed(phrase: str, text: str) -> str:
    """A unit read from the text, written as the family wrote it ("SMP 2", "Bappeda"); one
    typed all in lower case gets capitals and upper-case abbreviations ("SD Negeri 3")."""
    pattern = r"\s+".join(re.escape(w) for w in phrase.split())
    found = re.search(rf"(?<![A-Za-z]){pattern}(?![A-Za-z])", text, re.IGNORECASE)
    typed = found.group(0) if found else phrase
    words = typed.split()
    if words and words[0].lower() == "the":
        words = words[1:]
    if typed != typed.lower():
        return " ".join(words)
    return " ".join(w.upper() if w in _ABBREVIATIONS else w.capitalize() for w in words)


@dataclass
class Facts:
    """Everything one message says about a death."""

    relation: str | None = None
    when: When = field(default_factory=When)
    name: str | None = None
    nip: str | None = None
    phone: str | None = None


def facts_of(text: str, today: date, loose_name: bool = False) -> Facts:
    return Facts(
        relation=relation_of(text),
        when=when_of(text, today),
        name=name_of(text, loose=loose_name),
        nip=nip_in(text),
        phone=phone_in(text),
    )
