"""The command grammar: every way in parses to the same request."""

from __future__ import annotations

import pytest

from bot.core.grammar import ALIASES, ParsedCommand, parse, strip_wrapping
from bot.core.registry import Registry
from handlers import register_all

ACCOUNT_ACME = ParsedCommand(command="account", args=("acme",), share=False, text="account acme")


@pytest.mark.parametrize(
    "typed",
    [
        "account acme",
        "/cs account acme",
        "/CS account acme",
        "<@U123> account acme",
        "<@U05BOTUSER|touchpoint> account acme",
        "<at>Touchpoint</at> account acme",
        "<at>CS Assistant</at> account acme",
        "@Touchpoint account acme",
        "@touchpoint: account acme",
        "<@U123>, account acme",
        "<@U123> <@U123> account acme",
        "/cs <@U123> account acme",
        "<at>Touchpoint</at>\u00a0account acme",
    ],
)
def test_every_way_in_parses_to_the_same_command(typed: str) -> None:
    assert parse(typed) == ACCOUNT_ACME


@pytest.mark.parametrize("typed", ["  account   acme  ", "ACCOUNT acme", "Account\tacme"])
def test_spacing_and_case_of_the_command_do_not_matter(typed: str) -> None:
    parsed = parse(typed)
    assert (parsed.command, parsed.args, parsed.share) == ("account", ("acme",), False)


@pytest.mark.parametrize(
    ("typed", "args", "share"),
    [
        ("account acme share", ("acme",), True),
        ("account acme SHARE", ("acme",), True),
        ("/cs risk enterprise share", ("enterprise",), True),
        ("<@U1> my red share", ("red",), True),
        ("account share acme", ("share", "acme"), False),  # only a trailing share is the flag
        ("account acme shared", ("acme", "shared"), False),
    ],
)
def test_trailing_share_is_a_flag_not_an_argument(typed: str, args: tuple[str, ...], share: bool) -> None:
    parsed = parse(typed)
    assert parsed.args == args
    assert parsed.share is share


def test_share_alone_is_a_command_not_a_flag() -> None:
    assert parse("share") == ParsedCommand(command="share", args=(), share=False, text="share")


@pytest.mark.parametrize(
    ("typed", "args"),
    [
        ('account "acme rockets"', ("acme rockets",)),
        ("account 'acme rockets'", ("acme rockets",)),
        ('account "Café   Lumière" share', ("Café   Lumière",)),
        ("account O'Brien Partners", ("O'Brien", "Partners")),  # an unbalanced quote is a character
        # Apostrophes inside words are letters, however many: never quotes around the words between.
        (
            "ask which haven't been touched and aren't green",
            ("which", "haven't", "been", "touched", "and", "aren't", "green"),
        ),
        ("account O'Brien's 'acme rockets'", ("O'Brien's", "acme rockets")),
        ('account "acme', ('"acme',)),
    ],
)
def test_quotes_keep_phrases_together(typed: str, args: tuple[str, ...]) -> None:
    assert parse(typed).args == args


def test_quoted_account_keeps_its_words_in_arg_text() -> None:
    parsed = parse('followups "acme rockets" share')
    assert parsed == ParsedCommand(
        command="followups", args=("acme rockets",), share=True, text='followups "acme rockets" share'
    )


@pytest.mark.parametrize("typed", ["", "   ", "/cs", "<@U123>", "<at>Touchpoint</at>", "@Touchpoint ", '""'])
def test_empty_means_help(typed: str) -> None:
    parsed = parse(typed)
    assert parsed.command == "help"
    assert parsed.args == ()
    assert parsed.share is False


@pytest.mark.parametrize(
    ("typed", "command"),
    [
        ("health acme", "account"),
        ("acct acme", "account"),
        ("card acme", "account"),
        ("followup", "followups"),
        ("follow-ups overdue", "followups"),
        ("milestone week", "milestones"),
        ("renewal 30", "renewals"),
        ("?", "help"),
        ("Health acme", "account"),
    ],
)
def test_aliases(typed: str, command: str) -> None:
    assert parse(typed).command == command


def test_aliases_point_at_real_commands() -> None:
    registry = Registry()
    register_all(registry)
    assert set(ALIASES.values()) <= {*registry.commands, "help"}


def test_arguments_keep_their_case() -> None:
    assert parse("account ACME-001").args == ("ACME-001",)
    assert parse("Milestones Acme").command == "milestones"


def test_mentions_only_stripped_at_the_start() -> None:
    assert strip_wrapping("<@U1> account /cs <@U2>") == "account /cs <@U2>"
    assert strip_wrapping("/csx account") == "/csx account"
    assert strip_wrapping("@touchpointer hi") == "@touchpointer hi"
