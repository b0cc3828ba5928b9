"""`mobility --help` and the --help of every subcommand (taken from the parser itself, so a new
subcommand is covered without editing this file) exit 0 and describe the command."""
from __future__ import annotations

import argparse
import subprocess
from typing import List, Tuple

import pytest

from bot.cli import build_parser

from kbhelpers import MOBILITY, ROOT


def _commands(parser: argparse.ArgumentParser, prefix: Tuple[str, ...] = ()) -> List[Tuple[str, ...]]:
    """Every command path of the parser: (), ("kb",), ("kb", "build"), ("fee",), ..."""
    found = [prefix]
    for action in parser._actions:  # argparse keeps subcommands here
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, prefix + (name,))
    return found


COMMANDS = _commands(build_parser())
EXPECTED = {(), ("kb",), ("kb", "build"), ("kb", "check"), ("fee",), ("grants",), ("deadlines",), ("train",),
            ("serve",), ("shell",), ("actions",)}


def test_the_parser_has_the_commands_the_readme_describes():
    assert EXPECTED <= set(COMMANDS)


def _help(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(MOBILITY), *args, "--help"], capture_output=True, text=True, cwd=str(ROOT), timeout=60)


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(("mobility",) + c + ("--help",)) for c in COMMANDS])
def test_help_exits_0_and_shows_the_usage(command):
    proc = _help(*command)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: mobility" + "".join(" " + c for c in command)), proc.stdout[:200]
    assert not proc.stderr


def test_the_top_level_help_lists_every_subcommand():
    text = _help().stdout
    for command in {c[0] for c in COMMANDS if c}:
        assert command in text, f"{command} is not in `mobility --help`"


def test_mobility_without_a_command_shows_the_usage_and_fails():
    proc = subprocess.run([str(MOBILITY)], capture_output=True, text=True, cwd=str(ROOT), timeout=60)
    assert proc.returncode != 0
    assert "usage: mobility" in proc.stdout + proc.stderr


def test_an_unknown_subcommand_fails():
    proc = subprocess.run([str(MOBILITY), "teleport"], capture_output=True, text=True, cwd=str(ROOT), timeout=60)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
