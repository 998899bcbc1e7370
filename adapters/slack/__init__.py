"""Slack: slash command, mentions and DMs, buttons, modals, App Home; over HTTP or Socket Mode."""
