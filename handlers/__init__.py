"""What the bot does, one module per area. Each module's ``register(registry)`` adds its commands."""

from bot.registry import Registry
from handlers import accounts, followups, milestones, paging


def register_all(registry: Registry) -> None:
    """Every command and action Touchpoint answers."""
    for module in (accounts, followups, milestones, paging):
        module.register(registry)
