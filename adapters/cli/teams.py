"""``touchpoint teams-package``: writes the Teams app package that :mod:`adapters.teams.package` builds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from adapters.cli.support import console, err_console, fail
from adapters.teams.package import MANIFEST_VERSION, build_manifest, build_package
from bot import __version__


def teams_package_command(
    app_id: Annotated[
        str, typer.Option("--app-id", help="The bot's Microsoft App ID (MicrosoftAppId), a GUID.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the zip.")] = Path(
        "touchpoint-teams.zip"
    ),
    domain: Annotated[
        str | None,
        typer.Option(help="Host name Touchpoint is served from (validDomains and default developer URLs)."),
    ] = None,
    app_version: Annotated[
        str, typer.Option("--app-version", help="Version of the app package.")
    ] = __version__,
    developer: Annotated[str, typer.Option(help="Developer name shown in Teams.")] = "Touchpoint",
    website_url: Annotated[str | None, typer.Option(help="https URL of the support page.")] = None,
    privacy_url: Annotated[str | None, typer.Option(help="https URL of the privacy statement.")] = None,
    terms_url: Annotated[str | None, typer.Option(help="https URL of the terms of use.")] = None,
) -> None:
    """Build the Microsoft Teams app package (manifest and icons) to upload in Teams."""
    try:
        manifest = build_manifest(
            app_id=app_id,
            version=app_version,
            domain=domain,
            developer_name=developer,
            website_url=website_url,
            privacy_url=privacy_url,
            terms_url=terms_url,
        )
    except ValueError as error:
        raise fail(str(error), code=2) from None
    output.write_bytes(build_package(manifest))
    console.print(f"Wrote {output} (manifest {MANIFEST_VERSION}, app id {manifest['id']}).", markup=False)
    if domain is None and not (website_url and privacy_url and terms_url):
        err_console.print(
            "Note: developer links point at example.com; pass --domain or --website-url, --privacy-url "
            "and --terms-url before publishing to your organisation.",
            markup=False,
        )
