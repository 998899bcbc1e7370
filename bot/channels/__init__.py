"""Channels that follow accounts: what a channel may be told (:mod:`.privacy`: a channel shared with
another organisation gets account data only as an admin allowed) and what an account's events say
when they are posted there (:mod:`.feed`)."""
