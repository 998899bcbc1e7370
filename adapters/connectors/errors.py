"""What a connector raises when an outside system refuses or fails.

Each message is for the person running Touchpoint: it names the system, says what failed and what to do
about it. Messages never hold a credential: they are built from the system's answer, never from the
request that carried the token."""

from __future__ import annotations


class ConnectorError(Exception):
    """An outside system failed or refused a call; ``system`` names it (e.g. ``"HubSpot"``)."""

    def __init__(self, message: str, *, system: str, status: int | None = None) -> None:
        super().__init__(message)
        self.system = system
        self.status = status  # the HTTP status of the answer, None when there was none


class ConnectorAuthError(ConnectorError):
    """The system refused the credentials (expired, revoked, or missing a permission): nothing works until
    someone sets a new one, so retrying is pointless."""


class ConnectorLimitError(ConnectorError):
    """A limit of the system is reached (a daily API quota, or rate limits that do not clear): the run
    stops, and the next one resumes from where it stopped."""


class ConnectorSchemaError(ConnectorError):
    """The system does not know an object type, property or field the connector names: the settings or
    the field mapping need fixing (or the property creating in the system)."""
