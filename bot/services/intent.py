"""What a free message is about, when no step asked for text: a death (the 4-in-1 desk), a
question about the rules (the guidance answers), rating colleagues, one's standing, or help.

Words of death come first: a grieving family's "tolong, bapak saya meninggal" is never taken
for a request for help with the menu.
"""

from __future__ import annotations

import re

from bot.services.four_in_one_words import mentions_death, normal

DEATH, QUESTION, RATING, STANDING, HELP = "death", "question", "rating", "standing", "help"

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


def classify(text: str) -> str | None:
    said = normal(text)
    if not said:
        return None
    if mentions_death(text):
        return DEATH
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
    return None
