"""Keep the objects of start-up out of the garbage collector's full passes.

A serving process holds about 250,000 objects from start-up (SQLAlchemy, aiogram, templates,
catalogs) for its whole life, and each full collection walked all of them: on the console bench
a 30 ms page now and then took 300 ms (p99 309 ms against 48 ms frozen, 32 ms with the collector
off; bench/README.md). Frozen, they are left to reference counting, which frees them as before;
only cycles among them would stay, and start-up objects live as long as the process anyway.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect once, then freeze what is left: call when a long-running process has started."""
    gc.collect()
    gc.freeze()
