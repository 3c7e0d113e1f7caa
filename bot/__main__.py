"""`python -m bot` is the `abdi` command."""

import sys

from bot.cli import main

sys.exit(main())
