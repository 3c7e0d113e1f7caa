"""Every capability's router, as the dispatcher serves them: HOME first, then the rest in order."""

from handlers import (
    admin,
    broadcast,
    broadcast_ack,
    four_in_one,
    guidance,
    home,
    linking,
    privacy,
    rating,
    satisfaction,
    standing,
)

HOME = home.router
ROUTERS = [
    linking.router,
    admin.router,
    rating.router,
    standing.router,
    guidance.router,
    four_in_one.router,
    broadcast.router,
    broadcast_ack.router,
    satisfaction.router,
    privacy.router,
]
