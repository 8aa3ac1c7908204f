"""The Erlang cookie file, read by the rules of OTP's own ``auth`` module (kernel, OTP 25-28).

What ``erl`` does with ``~/.erlang.cookie`` (``auth:read_cookie/0,1`` and ``check_cookie/2``,
checked against OTP 25 and 28 with files of every shape below):

* where: ``$HOME/.erlang.cookie``; if that does not exist,
  ``$XDG_CONFIG_HOME/erlang/.erlang.cookie`` (``~/.config/erlang/...`` without
  ``XDG_CONFIG_HOME``). Symbolic links are followed;
* the file must be a regular file (a FIFO or device is refused: "is of type ...");
* on Unix its mode must give the group and others nothing (``mode band 8#077 == 0``), else
  "must be accessible by owner only";
* the cookie is the leading run of printable ASCII bytes (space to ``~``), spaces included, so
  leading and trailing spaces are part of it; after it only newlines, carriage returns and spaces
  may follow (any number). Anything else, such as a second line, a tab or a non-ASCII byte, is
  "Bad characters in cookie"; no printable byte at all is "Too short cookie string".
* the cookie becomes an atom: at most 255 characters.

The bridge follows the content and type rules exactly, so a file that ``erl`` accepts gives the
same cookie and a file it refuses is refused with a line saying which byte or line is wrong
(not, later, a misleading "wrong cookie" from the node). It does not refuse a file for its mode:
``--cookie-file`` is usually a secret mounted for the bridge (a Kubernetes Secret is readable by
the pod's ``fsGroup``, a compose secret keeps the host file's mode), so a file others may read or
write gets a warning instead, and one only its group may read gets a note. Unlike ``erl``, the
bridge never creates a cookie file.
"""

from __future__ import annotations

import logging
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mim_bridge.util.localfiles import FileRefused, read_bounded

__all__ = ["MAX_COOKIE", "MAX_COOKIE_FILE", "CookieFile", "CookieFileError", "default_paths",
           "parse_cookie", "read_cookie_file"]

MAX_COOKIE = 255  # characters: the cookie is an atom
MAX_COOKIE_FILE = 4096  # bytes: the cookie plus generous trailing white space
_TRAILER = frozenset(b"\n\r ")


class CookieFileError(ValueError):
    """The cookie file cannot be used; the message names what is wrong with it."""


@dataclass(frozen=True)
class CookieFile:
    cookie: str
    path: Path
    notes: tuple[tuple[int, str], ...] = ()  # (log level, message) about the file's mode


def default_paths(environ: Mapping[str, str]) -> list[Path]:
    """Where ``erl`` looks for its cookie, in its order."""
    home = environ.get("HOME", "").strip()
    xdg = environ.get("XDG_CONFIG_HOME", "").strip()
    home_dir = Path(home) if home else Path.home()
    config_dir = Path(xdg) if xdg else home_dir / ".config"
    return [home_dir / ".erlang.cookie", config_dir / "erlang" / ".erlang.cookie"]


def parse_cookie(data: bytes) -> str:
    """The cookie in a cookie file's bytes, by ``auth:check_cookie/2``'s rules."""
    end = 0
    while end < len(data) and 0x20 <= data[end] <= 0x7E:
        end += 1
    rest = data[end:]
    bad = next((i for i, b in enumerate(rest) if b not in _TRAILER), None)
    if bad is not None:
        offset = end + bad
        if b"\n" in data[:offset] and 0x20 <= data[offset] <= 0x7E:
            line = data[:offset].count(b"\n") + 1
            if end == 0:
                raise CookieFileError(f"its first line is empty and the cookie is on line "
                                      f"{line}; Erlang refuses such a file (\"Bad characters in "
                                      "cookie\"): put the cookie on the first line")
            raise CookieFileError(f"it has more than the cookie (line {line} is not empty); "
                                  "Erlang refuses such a file (\"Bad characters in cookie\"): "
                                  "keep only the cookie, on the first line")
        raise CookieFileError(f"byte 0x{data[offset]:02x} at offset {offset} is not a printable "
                              "ASCII character; Erlang refuses such a cookie (\"Bad characters "
                              "in cookie\")")
    if end == 0:
        raise CookieFileError("it holds no cookie (Erlang: \"Too short cookie string\")")
    if end > MAX_COOKIE:
        raise CookieFileError(f"the cookie in it is {end} characters long; Erlang cookies are "
                              f"atoms of at most {MAX_COOKIE} characters")
    return data[:end].decode("ascii")


def _mode_notes(path: Path, mode: int) -> tuple[tuple[int, str], ...]:
    shown = f"mode {stat.S_IMODE(mode):04o}"
    others = mode & (stat.S_IROTH | stat.S_IWOTH | stat.S_IWGRP)
    if others:
        who = " and ".join(w for w, bits in (
            ("readable by every user", stat.S_IROTH),
            ("writable by other users", stat.S_IWOTH | stat.S_IWGRP)) if mode & bits)
        return ((logging.WARNING,
                 (f"the cookie file {path} is {who} ({shown}): whoever has the cookie controls "
                 "the MongooseIM nodes completely; make it readable by the bridge's user only "
                 "(chmod 0400), as Erlang requires for its own ~/.erlang.cookie")),)
    if mode & stat.S_IRGRP:
        return ((logging.INFO,
                 (f"the cookie file {path} is readable by its group ({shown}); fine for a secret "
                 "shared with MongooseIM through a group (e.g. a Kubernetes Secret with "
                 "fsGroup), otherwise make it 0400 (Erlang refuses this mode for its own "
                 "~/.erlang.cookie)")),)
    return ()


def read_cookie_file(path: Path) -> CookieFile:
    """Read and check one cookie file; raises :class:`CookieFileError` (one clear line)."""
    try:
        data, st = read_bounded(path, MAX_COOKIE_FILE)
    except FileRefused as e:
        raise CookieFileError(f"cannot read the cookie file {path}: {e}") from None
    try:
        cookie = parse_cookie(data)
    except CookieFileError as e:
        raise CookieFileError(f"the cookie file {path} cannot be used: {e}") from None
    return CookieFile(cookie, path, _mode_notes(path, st.st_mode))
