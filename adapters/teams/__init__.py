"""Microsoft Teams: the Bot Framework adapter, Adaptive Card rendering and the Teams app package.

Only this package imports botbuilder; :mod:`adapters.teams.render` and :mod:`adapters.teams.package`
do not, so the CLI can build an app package without loading the Bot Framework SDK.
"""
