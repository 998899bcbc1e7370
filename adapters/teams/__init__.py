"""Microsoft Teams: the Bot Framework adapter, Adaptive Card rendering and the Teams app package.

Only this package imports botbuilder; the card modules (:mod:`adapters.teams.cards`, ``render``,
``forms``, ``card_actions``) and :mod:`adapters.teams.package` do not, so the CLI can build an app
package without loading the Bot Framework SDK.
"""
