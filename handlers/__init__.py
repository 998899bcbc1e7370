"""What the bot does, one module per area. Each module's ``register(registry)`` adds its commands."""

from bot.registry import Registry
from handlers import accounts, digests, feedback, followups, home, milestones, paging, plans, ttv


def register_all(registry: Registry) -> None:
    """Every command and action Touchpoint answers."""
    for module in (accounts, followups, milestones, home, paging, digests, feedback, plans, ttv):
        module.register(registry)
