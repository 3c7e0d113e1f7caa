"""Conversation handlers, one module per capability; handlers/routers.py lists what the
dispatcher serves (kept apart so that a handler may import another without a cycle)."""
