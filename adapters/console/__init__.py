"""The terminal: try Touchpoint without Slack or Teams, and drive it from scripts and tests."""
