"""A realistic, deterministic synthetic portfolio for demos, trials and tests (``touchpoint demo-data``).

:func:`generate_demo_data` plans people and accounts (:mod:`.portfolio`), derives each account's usage
(:mod:`.usage`), NPS, CSAT and CES answers (:mod:`.surveys`), a year of ARR history (:mod:`.arr`), a success
plan for about half of them (:mod:`.outcomes`), milestones and follow-ups (:mod:`.plans`) from its
trajectory, and writes everything in one transaction (:mod:`.writer`). The same seed and ``today`` give the
same data.
"""

from storage.demo.portfolio import (
    DEMO_ADMIN_EMAIL,
    DEMO_CSM_EMAIL,
    DEMO_CX_EMAIL,
    DEMO_MANAGER_EMAIL,
    SHOWCASE,
    DemoAccount,
    DemoPerson,
    DemoPortfolio,
    Trajectory,
    plan_portfolio,
)
from storage.demo.usage import USAGE_DAYS, USAGE_METRICS
from storage.demo.writer import DemoDataError, DemoSummary, database_has_accounts, generate_demo_data

__all__ = [
    "DEMO_ADMIN_EMAIL",
    "DEMO_CSM_EMAIL",
    "DEMO_CX_EMAIL",
    "DEMO_MANAGER_EMAIL",
    "SHOWCASE",
    "USAGE_DAYS",
    "USAGE_METRICS",
    "DemoAccount",
    "DemoDataError",
    "DemoPerson",
    "DemoPortfolio",
    "DemoSummary",
    "Trajectory",
    "database_has_accounts",
    "generate_demo_data",
    "plan_portfolio",
]
