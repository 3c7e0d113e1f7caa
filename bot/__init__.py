"""Abdi: a chat assistant for Indonesian civil servants, their HR office and bereaved families."""
