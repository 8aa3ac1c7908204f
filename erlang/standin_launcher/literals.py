"""Erlang source literals (atoms, strings, binaries) for the code the launcher writes or passes
to ``erl -eval``: generated modules, boot expressions, probe calls.
"""

from __future__ import annotations


def erl_atom(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def erl_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def erl_binary(text: str) -> str:
    return "<<" + erl_string(text) + "/utf8>>"
