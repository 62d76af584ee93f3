"""``newsbeam run --config FILE.toml``: the flags of a run, kept in a file.

Keys are the flags' names without the dashes (``near-threshold = 0.3``; ``near_threshold`` works
too), values are TOML strings, numbers, booleans or arrays (for repeatable flags such as ``input``).
A switch takes a boolean: ``no-entities = true``, or its option's own name, ``entities = false``.
Any Apache Beam pipeline option (``runner``, ``direct_num_workers``) may be set the same way.

Precedence: the command line over the file over the defaults. The file is turned into flags put
before the command line's, and a flag given on the command line drops the file's value for it
(so a repeatable ``--input`` on the command line replaces the file's inputs, it does not add to them).
"""
from __future__ import annotations

import argparse
import difflib
import hashlib
import os
import tomllib


class ConfigError(ValueError):
    """A config file that cannot be used (the message says where and what to do)."""


def load(path: str) -> tuple[dict, str]:
    """The TOML table in ``path`` and the sha256 of its bytes."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ConfigError(f"--config {path}: no such file; check the path") from None
    except IsADirectoryError:
        raise ConfigError(f"--config {path} is a directory; give a .toml file") from None
    except OSError as e:
        raise ConfigError(f"--config {path}: cannot read it ({e.strerror})") from None
    try:
        table = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"--config {path} is not valid TOML: {e}") from None
    return table, hashlib.sha256(data).hexdigest()


def _lookup(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Every long option string and every destination name -> its action."""
    by_name: dict[str, argparse.Action] = {}
    for action in parser._actions:  # argparse has no public list of its actions
        for option in action.option_strings:
            if option.startswith("--"):
                by_name[option[2:]] = action
    for action in parser._actions:
        if action.option_strings and action.dest:
            by_name.setdefault(action.dest.replace("_", "-"), action)
    by_name.pop("help", None)
    return by_name


def _given(action: argparse.Action, argv: list[str]) -> bool:
    """True when the command line sets ``action`` (``--flag``, ``--flag=v``)."""
    for arg in argv:
        if arg == "--":
            break
        name = arg.split("=", 1)[0]
        if name in action.option_strings:
            return True
    return False


def to_argv(table: dict, parser: argparse.ArgumentParser, path: str, cli_argv: list[str]) -> list[str]:
    """The flags the file stands for, minus those the command line sets itself."""
    actions = _lookup(parser)
    argv: list[str] = []
    for key, value in table.items():
        name = key.replace("_", "-")
        action = actions.get(name)
        if isinstance(value, dict):
            raise ConfigError(f"--config {path}: {key!r} is a table; newsbeam reads flat 'key = value' lines")
        if action is None:
            close = difflib.get_close_matches(name, list(actions), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "; see 'newsbeam run --help'"
            raise ConfigError(f"--config {path}: unknown key {key!r}{hint}")
        if _given(action, cli_argv):
            continue  # the command line wins
        flag = next(o for o in action.option_strings if o.startswith("--"))
        argv += _flags(action, flag, name, key, value, path)
    return argv


def _flags(action, flag: str, name: str, key: str, value, path: str) -> list[str]:
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        if not isinstance(value, bool):
            raise ConfigError(f"--config {path}: {key!r} is a switch; write {key} = true or false")
        # 'no-entities = true' names the flag itself; 'entities = false' names what the flag sets
        names_flag = ("--" + name) in action.option_strings
        wanted = value if names_flag else value == action.const
        return [flag] if wanted else []
    values = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not isinstance(action, argparse._AppendAction):
        raise ConfigError(f"--config {path}: {key!r} takes one value, not a list")
    out: list[str] = []
    for item in values:
        if isinstance(item, (dict, list)):
            raise ConfigError(f"--config {path}: {key!r} must be a string, number or boolean")
        text = ("true" if item else "false") if isinstance(item, bool) else str(item)
        out += [flag, text] if not text.startswith("-") else [f"{flag}={text}"]
    return out


def describe(path: str, digest: str) -> dict:
    """How the manifest names the file a run's configuration came from."""
    return {"file": os.path.abspath(path), "sha256": digest}
