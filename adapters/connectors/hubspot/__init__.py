"""HubSpot CRM (v3 API): companies, owners and renewal deals read into Touchpoint, health written back.

- ``client``: the HTTP side (paging, the search API's 10,000-result ceiling, rate limits); ``answers``
  reads HubSpot's answers into records and its refusals into :mod:`adapters.connectors.errors`.
- ``sync``: one sync (owners, companies, archived and merged ones, renewal deals, write-back), on top of
  what every CRM shares (:mod:`adapters.connectors.crm`).
"""
