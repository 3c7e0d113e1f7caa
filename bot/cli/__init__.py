"""The `abdi` command: chat locally, serve the channels, migrate, manage the roster, roles and
links, cases, broadcasts.

One module per command group, each declaring its subcommands next to their functions
(`processes`: chat/run/serve/worker, `database`, `roster`, `accounts`: link-code/role/account,
`demo`, `dead_letters`, `guidance`, `rating`: period/standings, `cases`, `broadcast`: broadcast and
reminder); `common` holds what they share, `command` assembles them and holds `main`.
"""

from bot.cli.command import main

__all__ = ["main"]
