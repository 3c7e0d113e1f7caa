"""Abdi: a chat assistant for Indonesian civil servants, their HR office and bereaved families."""

from bot import lazy_aiogram

lazy_aiogram.install()
