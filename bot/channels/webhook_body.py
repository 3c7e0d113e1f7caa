"""Reading a webhook body we have already authenticated: decompression and JSON, never a crash.

The servers run with aiohttp's automatic decompression off, so a signature is always checked on
the bytes that came over the wire, and a corrupt or hostile compressed body is our error to
report (one WARNING line), not aiohttp's traceback.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

MAX_DECODED = 4 * 1024 * 1024  # a body that inflates past this is refused (a "zip bomb")
ACCEPTED_ENCODINGS = ("", "identity", "gzip", "deflate")


class BodyError(ValueError):
    """A body that cannot be read; the message says why, in a few words, for logs and reasons."""


def decoded(raw: bytes, content_encoding: str | None) -> bytes:
    """The body's bytes after the Content-Encoding the sender declared (gzip, deflate or none)."""
    encoding = (content_encoding or "").strip().lower()
    if encoding not in ACCEPTED_ENCODINGS:
        raise BodyError(f"unsupported content encoding {encoding[:20]!r}")
    if encoding in ("", "identity"):
        return raw
    # wbits: 16+MAX for gzip, MAX+32 auto-detects zlib or gzip headers for "deflate".
    inflater = zlib.decompressobj(
        16 + zlib.MAX_WBITS if encoding == "gzip" else 32 + zlib.MAX_WBITS
    )
    try:
        out = inflater.decompress(raw, MAX_DECODED + 1)
    except zlib.error as exc:
        raise BodyError(f"corrupt {encoding} body: {exc}") from exc
    if len(out) > MAX_DECODED or inflater.unconsumed_tail:
        raise BodyError(f"{encoding} body inflates past {MAX_DECODED} bytes")
    if not inflater.eof:
        raise BodyError(f"truncated {encoding} body")
    return out


def loads(data: bytes) -> Any:
    """JSON from bytes; a body nested too deep for the parser is unreadable, not a crash."""
    try:
        return json.loads(data)
    except RecursionError as exc:
        raise BodyError("JSON nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError(f"not JSON: {str(exc)[:120]}") from exc
