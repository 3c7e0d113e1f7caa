"""Whether an exception means a dependency is unreachable, not that the input or the code is bad.

One rule for every loop that must tell an outage (retry later, one WARNING line) from a bug.
"""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# SQLSTATE classes that mean the server cannot serve us now: connection exception, insufficient
# resources, operator intervention (shutdown), database missing, authorisation failed.
OUTAGE_SQLSTATES = frozenset({"08", "53", "57", "3D", "28"})


def is_outage(exc: BaseException) -> bool:
    """Whether an exception means a dependency is unreachable, not that the input or code is bad."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        code = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", "") or "")
        return bool(exc.connection_invalidated) or code[:2] in OUTAGE_SQLSTATES
    return isinstance(
        exc, OSError | ConnectionError | TimeoutError | RedisConnectionError | RedisTimeoutError
    )
