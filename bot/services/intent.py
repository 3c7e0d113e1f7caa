"""What a free message is about, when no step asked for text: a death (the 4-in-1 desk), following
a case, a question about the rules (the guidance answers), rating colleagues, one's standing,
help, or thanks.

Words of death come first: a grieving family's "tolong, bapak saya meninggal" is never taken
for a request for help with the menu.
"""

from __future__ import annotations

import re

from bot.services.four_in_one.parsing import looks_like_code
from bot.services.four_in_one_words import mentions_death, normal

DEATH, QUESTION, RATING, STANDING, HELP = "death", "question", "rating", "standing", "help"
TRACK, THANKS, RIGHTS = "track", "thanks", "rights"

# Following a case: a family's "cek status dokumen bapak", "akta sudah sampai mana?". Either a
# word that only means following, or a cue ("status", "kabar", "kapan") next to a document;
# never with words of social media ("pasang status", "share kabar" are guidance questions).
_TRACK_ALONE = (
    r"\b(lacak|melacak|track|tracking)\b",
    r"\b(sudah|udah|udh|sdh|sampai|sampe|smp)\s+(sampai|sampe|smp)?\s*mana\b",
    r"^(cek|check|status|progres|progress)(\s+(status|dong|min|ya|kak))*$",
)
_DOCUMENTS = (
    r"\b(dokumen\w*|document\w*|akta|akte|kk|ktp|e ?ktp|taspen|kartu keluarga|berkas|"
    r"surat2?|4 ?in ?1|kasus|case|certificate|pensiun|pension)\b"
)
_TRACK_CUES = (
    r"\b(cek|check|status|kabar\w*|lacak|pantau|progres|progress|perkembangan\w*|proses\w*|"
    r"kapan|when|where|sudah|udah|udh|sdh|jadi|selesai|beres|cair|gimana|gmn|bagaimana|"
    r"update|how)\b"
)
# Cues that mean following even where a death is named ("cek status akta kematian bapak"); a
# first report ("bapak meninggal, gmn urus dokumen 4 in 1?") has none of them.
_STRONG_CUES = r"\b(cek|check|status|kabar\w*|lacak|pantau|progres|progress|perkembangan\w*)\b"
# What a family is entitled to: "apa saja hak janda pns", "uang duka wafat berapa?". Words
# that name a benefit, never the death alone, so a first report stays a report.
_RIGHTS = (
    r"\b(hak|hak2|hak-hak)\s+(janda|duda|ahli waris|keluarga|anak|istri|suami|yatim|pensiun\w*)\b",
    r"\b(pensiun|gaji)\s+(janda|duda|yatim|piatu|terusan|anak)\b",
    r"\b(janda|duda|yatim|piatu|ahli waris)\b.*\b(dapat|dapet|dpt|pensiun|hak)\b",
    r"\b(uang duka|santunan|biaya pemakaman|asuransi kematian|tabungan hari tua|tht|jkm)\b",
    r"\b(entitle\w*|widow\w*|orphan\w*|death benefit\w*|bereavement|funeral cost\w*)\b",
)
_SOCIAL = (
    "medsos", "media sosial", "social media", "posting", "postingan", "post", "unggah", "share",
    "like", "komentar", "facebook", "instagram", "tiktok", "twitter", "foto", "hoaks", "hoax",
    "caleg", "partai", "pemilu", "pilkada", "kampanye", "campaign", "election", "politik",
    "boleh", "bolehkah", "allowed", "sanksi", "fakta",
)  # fmt: skip
_THANKS = (
    r"^(terima ?kasih|trima ?kasih|makasih|makasi|mksh|makasii+h?|trims|tks|thanks|thank you|"
    r"thankyou|thx|tq|ty|matur nuwun|hatur nuhun|nuhun)\b"
)

_RATING = (
    r"\b(mau|ingin|pengen|pingin|mo|akan|cara|gimana|bagaimana)?\s*(menilai|nilai|beri nilai|"
    r"kasih nilai|memberi nilai|rate|rating)\s+(rekan|teman|kawan|atasan|bawahan|pegawai|staf|"
    r"colleague|colleagues|boss|manager|coworker|pimpinan|kepala)",
    r"\b(menilai|rate my|rate a)\b",
    r"\bpenilaian (rekan|360|kinerja rekan|sejawat)\b",
)
_STANDING = (
    r"\b(posisi|peringkat|ranking|rangking|rank|skor|score|standing|urutan)\s+(saya|aku|ku|my)\b",
    r"\b(my|saya)\s+(rank|ranking|standing|score|position|peringkat|skor|posisi)\b",
    r"\b(peringkat|ranking|rangking|klasemen|standing|leaderboard)\b",
    r"\bnilai saya\b",
)
_QUESTION_START = (
    "apa", "apakah", "bolehkah", "boleh", "bisakah", "gimana", "bagaimana", "kenapa", "mengapa",
    "kalau", "kalo", "klo", "jika", "what", "can", "is", "am", "may", "should", "are", "how",
    "why", "do", "does",
)  # fmt: skip
_RULE_WORDS = (
    "sanksi", "hukuman", "larangan", "dilarang", "melanggar", "pelanggaran", "aturan", "boleh",
    "netral", "netralitas", "kampanye", "caleg", "calon", "partai", "pilkada", "pemilu",
    "flexing", "pamer", "medsos", "media sosial", "posting", "unggah", "share", "like",
    "komentar", "hoaks", "hoax", "sara", "penalty", "sanction", "allowed", "forbidden", "rule",
    "rules", "punishment", "post", "social media", "candidate", "election", "campaign", "etika",
    "tiktok", "instagram", "facebook", "status", "mewah", "luxury",
)  # fmt: skip
_HELP = (
    r"^(help|bantuan|tolong|bantu|menu|bingung|info|informasi)\b",
    r"\b(cara pakai|cara menggunakan|how to use|what can you do|bisa apa|fitur)\b",
)


def is_code(text: str) -> bool:
    """A tracking code typed as it is: "V2HC-PJAT-SBQJ", "v2hc pjat sbqj", "V2HCPJATSBQJ"."""
    typed = text.strip()
    if not looks_like_code(typed):
        return False
    # Words are no code ("asdfgh qwerty", "ayah saya baru"): a code comes in three groups of
    # four or in one piece, and carries a digit, a dash or capitals as it was printed.
    shaped = re.fullmatch(r"\w{4}[\s\-]*\w{4}[\s\-]*\w{4}", typed)
    marked = re.search(r"[\d\-]", typed) or typed == typed.upper()
    return bool(shaped and marked)


def _tracks(said: str, strong: bool = False) -> bool:
    if any(re.search(rf"\b{re.escape(w)}\b", said) for w in _SOCIAL):
        return False
    if any(re.search(p, said) for p in _TRACK_ALONE):
        return True
    cues = _STRONG_CUES if strong else _TRACK_CUES
    return bool(re.search(_DOCUMENTS, said) and re.search(cues, said))


def classify(text: str) -> str | None:
    said = normal(text)
    if not said:
        return None
    if _tracks(said, strong=True):
        return TRACK
    if any(re.search(p, said) for p in _RIGHTS):
        return RIGHTS
    if mentions_death(text):
        return DEATH
    if _tracks(said):
        return TRACK
    if any(re.search(p, said) for p in _RATING):
        return RATING
    if any(re.search(p, said) for p in _STANDING):
        return STANDING
    words = said.split()
    asks = text.strip().endswith("?") or words[0] in _QUESTION_START or "boleh" in words
    rules = any(re.search(rf"\b{re.escape(w)}\b", said) for w in _RULE_WORDS)
    if rules and (asks or len(words) >= 3):
        return QUESTION
    if any(re.search(p, said) for p in _HELP):
        return HELP
    if asks and len(words) >= 3:
        return QUESTION
    if re.search(_THANKS, said):
        return THANKS
    return None
