"""TOUCHPOINT_CURRENCY: one ISO 4217 code for every amount, through :func:`bot.format.money`."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from pydantic import ValidationError

from bot.format import money, signed_money
from bot.settings import Settings, get_settings


@pytest.mark.parametrize(
    ("currency", "amount", "expected"),
    [
        ("USD", 950, "$950"),
        ("USD", 12_500, "$12k"),
        ("USD", 1_234, "$1.2k"),
        ("USD", 1_200_000, "$1.2M"),
        ("EUR", 1_200_000, "€1.2M"),
        ("GBP", 438_000, "£438k"),
        ("JPY", 5_000, "¥5.0k"),
        ("CAD", 90, "CA$90"),
        ("CHF", 12_000, "CHF 12k"),
        ("SEK", 2_500_000, "SEK 2.5M"),
        ("USD", -4_000, "-$4.0k"),
        ("EUR", None, "n/a"),
    ],
)
def test_money_in_each_currency(currency: str, amount: int | None, expected: str) -> None:
    assert money(amount, currency) == expected


def test_signed_money_keeps_the_sign_in_front() -> None:
    assert signed_money(Decimal("12000"), "EUR") == "+€12k"
    assert signed_money(Decimal("-4000"), "CHF") == "-CHF 4.0k"


@pytest.fixture
def currency_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_the_setting_is_the_default(currency_env: pytest.MonkeyPatch) -> None:
    currency_env.delenv("TOUCHPOINT_CURRENCY", raising=False)
    assert money(1_200_000) == "$1.2M"
    get_settings.cache_clear()
    currency_env.setenv("TOUCHPOINT_CURRENCY", "eur")
    assert get_settings().currency == "EUR"
    assert money(1_200_000) == "€1.2M"
    assert signed_money(Decimal("-63000")) == "-€63k"


@pytest.mark.parametrize("code", ["dollars", "EURO", "XXX", "$"])
def test_only_iso_codes(code: str) -> None:
    with pytest.raises(ValidationError, match="is not an ISO 4217 currency code; write one such as USD"):
        Settings(_env_file=None, currency=code)  # type: ignore[call-arg]


def test_blank_is_the_default() -> None:
    assert Settings(_env_file=None, currency=" ").currency == "USD"  # type: ignore[call-arg]
