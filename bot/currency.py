"""The currency amounts are shown in (``TOUCHPOINT_CURRENCY``): ISO 4217 codes and their symbols.

Touchpoint stores amounts as plain numbers and never converts them: the setting only says which sign
goes in front (``$950``, ``€12k``, ``CHF 1.2M``). :func:`bot.format.money` is the one place that uses it.
"""

from __future__ import annotations

from typing import Final

DEFAULT_CURRENCY: Final = "USD"

# Active ISO 4217 currency codes (funds, precious metals and test codes left out: ARR is never in them).
_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP
GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD
KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK
NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS
SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST
XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
"""
ISO_CODES: Final = frozenset(_CODES.split())

# A sign that reads unambiguously in front of a number; every other code is written out ("CHF 12k").
SYMBOLS: Final = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CNY": "CN¥",
    "INR": "₹",
    "KRW": "₩",
    "ILS": "₪",
    "TRY": "₺",
    "UAH": "₴",
    "VND": "₫",
    "THB": "฿",
    "NGN": "₦",
    "PHP": "₱",
    "CAD": "CA$",
    "AUD": "A$",
    "NZD": "NZ$",
    "HKD": "HK$",
    "SGD": "S$",
    "MXN": "MX$",
    "BRL": "R$",
}


def currency_code(value: str) -> str:
    """``value`` as an ISO 4217 code ("eur" gives "EUR"); ValueError saying what to write otherwise."""
    code = value.strip().upper()
    if code not in ISO_CODES:
        raise ValueError(
            f"{value.strip()!r} is not an ISO 4217 currency code; write one such as USD, EUR or GBP"
        )
    return code


def currency_prefix(code: str) -> str:
    """What goes in front of an amount: the symbol ("€"), or the code and a space ("CHF ")."""
    return SYMBOLS.get(code) or f"{code} "
