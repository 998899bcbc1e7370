"""Links to an account's CRM record, read back to the account, and the compact card they unfurl into.

A HubSpot company or a Salesforce Account pasted into a conversation names a record the connectors
have linked to an account (:class:`storage.models.CrmLink`); the link becomes a compact card: name,
health and band with its trend, ARR, renewal and owner, each shown only where the channel's policy
allows it (:mod:`bot.channels.privacy`). A link to a record Touchpoint has not linked is nobody's: it
gets no card, and no error.

URL shapes read (the record id is the last path part that is one):

- HubSpot: ``https://app.hubspot.com/contacts/{portal}/company/{id}`` and the newer
  ``.../contacts/{portal}/record/0-2/{id}`` (0-2 is HubSpot's object type id of companies), on
  ``app.hubspot.com`` and its regional hosts (``app-eu1.hubspot.com``);
- Salesforce: Lightning ``https://{domain}.lightning.force.com/lightning/r/Account/{id}/view`` and
  Classic ``https://{domain}.my.salesforce.com/{id}``; a 15-character id is turned into the
  18-character one the API (and so the link) uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.channels.privacy import ChannelPolicy
from bot.core.context import BotContext
from bot.format import day_text, days_until_text, money
from bot.health.service import latest_health
from bot.types import Block, Context, Fields, Reply, Text
from handlers.accounts_card import churned_text, health_line
from storage import queries
from storage.connectors import linked_accounts

HUBSPOT = re.compile(
    r"^https?://app(?:-[a-z0-9]+)?\.hubspot\.com/contacts/\d+/(?:company|record/0-2)/(\d+)(?:[/?#]|$)",
    re.IGNORECASE,
)
SALESFORCE_LIGHTNING = re.compile(
    r"^https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*\.lightning\.force\.com/lightning/r/Account/"
    r"(001[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?)(?:[/?#]|$)",
    re.IGNORECASE,
)
SALESFORCE_CLASSIC = re.compile(
    r"^https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*\.my\.salesforce\.com/(001[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?)"
    r"(?:[/?#]|$)",
    re.IGNORECASE,
)
# The domains a Slack app and a Teams app declare to be sent such links.
UNFURL_DOMAINS = ("hubspot.com", "lightning.force.com", "my.salesforce.com")
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def salesforce_id_18(record_id: str) -> str:
    """The 18-character, case-insensitive form of a Salesforce id (15 characters in Classic URLs):
    each group of five characters adds one character saying which of them are upper case."""
    if len(record_id) != 15:
        return record_id
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, char in enumerate(record_id[start : start + 5]) if "A" <= char <= "Z")
        suffix += _SUFFIX[bits]
    return record_id + suffix


@dataclass(frozen=True, slots=True)
class RecordLink:
    """A CRM record named by a URL."""

    connector: str
    crm_id: str


def record_of(url: str) -> RecordLink | None:
    """The CRM record ``url`` links to, or None when it is no record link Touchpoint reads."""
    url = url.strip().strip("<>")
    if len(url) > 2000:
        return None
    found = HUBSPOT.match(url)
    if found:
        return RecordLink("hubspot", found.group(1))
    for pattern in (SALESFORCE_LIGHTNING, SALESFORCE_CLASSIC):
        found = pattern.match(url)
        if found:
            return RecordLink("salesforce", salesforce_id_18(found.group(1)))
    return None


async def accounts_for_urls(ctx: BotContext, urls: list[str]) -> dict[str, int]:
    """url -> account id, for the ``urls`` that link to a record linked to an account."""
    records = {url: record for url in urls if (record := record_of(url)) is not None}
    if not records:
        return {}
    found: dict[str, int] = {}
    async with ctx.db.sessions() as session:
        for connector in {record.connector for record in records.values()}:
            ids = {record.crm_id for record in records.values() if record.connector == connector}
            linked = await linked_accounts(session, connector, ids)
            for url, record in records.items():
                if record.connector == connector and record.crm_id in linked:
                    found[url] = linked[record.crm_id]
    return found


async def compact_card(ctx: BotContext, account_id: int, policy: ChannelPolicy) -> Reply | None:
    """The account in a few lines, with only what ``policy`` allows; None when the account is gone
    or the policy allows nothing."""
    if policy.closed:
        return None
    today = ctx.today()
    async with ctx.db.sessions() as session:
        account = await queries.account_by_id(session, account_id)
    if account is None:
        return None
    blocks: list[Block] = [Text(f"**{account.name}**")]
    if policy.allows("health"):
        if account.churned:
            blocks.append(Text(churned_text(account)))
        else:
            health = (await latest_health(ctx.db, [account_id], today, model=ctx.health_model)).get(
                account_id
            )
            blocks.append(Text(health_line(health)))
    fields: list[tuple[str, str]] = []
    if policy.allows("arr"):
        fields.append(("ARR", money(account.arr)))
    if policy.allows("renewal"):
        renewal = "n/a"
        if account.renewal_date is not None:
            renewal = f"{day_text(account.renewal_date)} ({days_until_text(account.renewal_date, today)})"
        fields.append(("Renewal", renewal))
    if policy.allows("owner"):
        fields.append(("Owner", account.owner_name or "unassigned"))
    if fields:
        blocks.append(Fields(tuple(fields)))
    blocks.append(Context((f"Touchpoint · `account {account.external_id}` for the full card",)))
    return Reply(summary=f"{account.name} in Touchpoint", blocks=tuple(blocks), shared=True)
