"""Developer tool: autogenerate an Alembic revision from the models.

python tools/new_migration.py "add rating tables" 0002
"""

import asyncio
import sys
import tempfile
from pathlib import Path

from alembic import command

from storage.db import alembic_config, create_engine, upgrade


async def main(message: str, rev_id: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'autogen.db'}")
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.run_sync(
                lambda c: command.revision(
                    alembic_config(c), message=message, autogenerate=True, rev_id=rev_id
                )
            )
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
