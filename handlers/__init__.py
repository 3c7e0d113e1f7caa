"""Conversation handlers, one module per capability; ROUTERS is what the dispatcher serves."""

from handlers import admin, broadcast, four_in_one, guidance, home, linking, rating, standing

HOME = home.router
ROUTERS = [
    linking.router,
    admin.router,
    rating.router,
    standing.router,
    guidance.router,
    four_in_one.router,
    broadcast.router,
]
