"""Alembic environment: runs on a connection handed over by storage.db (async engine)."""

from typing import Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from storage.models import Base, UTCDateTime, compared


def render_item(type_: str, obj: object, autogen_context: AutogenContext) -> str | Literal[False]:
    # Migrations stay independent of model code: the UTC decorator is a plain timestamptz.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `abdi db upgrade`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=render_item,
    include_object=compared,
)
with context.begin_transaction():
    context.run_migrations()
