"""Salesforce (REST API): Accounts, Users and renewal Opportunities read into Touchpoint, health written
back.

- ``client``: the HTTP side (the client credentials token and its renewal, SOQL queries and queryAll a
  page at a time, describe, sObject Collections updates, the daily API usage); ``answers`` reads
  Salesforce's answers into values and its refusals into :mod:`adapters.connectors.errors`, and holds the
  datetime helpers (``parse_time``, ``soql_time``).
- ``sync``: one sync (users, accounts with deleted and merged ones, renewal opportunities, write-back).
"""
