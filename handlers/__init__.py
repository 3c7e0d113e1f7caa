"""Conversation handlers, one module per capability; ROUTERS is what the dispatcher serves."""

from handlers import admin, guidance, home, linking

HOME = home.router
ROUTERS = [linking.router, admin.router, guidance.router]
