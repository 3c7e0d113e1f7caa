"""Conversation handlers, one module per capability; ROUTERS is what the dispatcher serves."""

from handlers import admin, broadcast, guidance, home, linking, rating, standing

HOME = home.router
ROUTERS = [
    linking.router,
    admin.router,
    rating.router,
    standing.router,
    guidance.router,
    broadcast.router,
]
