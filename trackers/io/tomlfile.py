"""Reading the toolkit's TOML input files (scenarios, radars, networks) with errors that name them.

TOML documents are UTF-8 (TOML v1.0.0, "Spec": "A TOML file must be a valid UTF-8 encoded
Unicode document"). Editors on some systems prepend a byte-order mark (BOM, U+FEFF, bytes
``EF BB BF``), which Python's :mod:`tomllib` rejects as an "invalid statement"; it carries no
information in UTF-8 (The Unicode Standard 15.0, section 23.8 "Specials") and is dropped here.
Everything else that is not a TOML document raises ``ValueError`` naming the file:

* a UTF-16 / UTF-32 byte-order mark (a file saved as "Unicode" by some editors): named, with
  the remedy (save as UTF-8);
* bytes that are not UTF-8 (a Latin-1 file, binary junk): the byte offset, line and column of
  the first bad byte;
* a NUL byte (binary data that happens to decode): called binary;
* TOML syntax errors: tomllib's message with its line and column.
"""

from __future__ import annotations

import codecs
import tomllib
from pathlib import Path
from typing import Any

__all__ = ["decode_toml_bytes", "parse_toml", "read_toml", "read_toml_text"]

_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def decode_toml_bytes(data: bytes, name: str) -> str:
    """Text of a TOML file's bytes ``data``: strict UTF-8, a leading UTF-8 BOM dropped.

    Parameters
    ----------
    data : bytes
        Raw file content.
    name : str
        File name used in error messages.

    Raises
    ------
    ValueError
        UTF-16/32 encoding, invalid UTF-8 or NUL bytes, naming ``name`` and the position.
    """
    for bom, enc in _WIDE_BOMS:
        if data.startswith(bom):
            raise ValueError(
                f"{name}: the file is {enc}-encoded (it starts with a {enc} byte-order mark); "
                "TOML files must be UTF-8: save it as UTF-8"
            )
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]  # the UTF-8 BOM carries no information
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        head = data[: exc.start]
        line = head.count(b"\n") + 1
        col = exc.start - (head.rfind(b"\n") + 1) + 1
        raise ValueError(
            f"{name}: not a UTF-8 text file: byte 0x{data[exc.start]:02x} at offset {exc.start} "
            f"(line {line}, column {col}) is not valid UTF-8; TOML files must be UTF-8 text"
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise ValueError(
            f"{name}: not a text file: NUL byte at offset {nul} (line {line}); expected a "
            "UTF-8 TOML file"
        )
    return text


def read_toml_text(path: str | Path) -> str:
    """UTF-8 text of the file at ``path`` (see :func:`decode_toml_bytes`).

    Raises ``ValueError`` naming the file if it is missing, a folder, unreadable or not
    UTF-8 text.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except IsADirectoryError:
        raise ValueError(f"{p}: is a folder, expected a TOML file") from None
    except FileNotFoundError:
        raise ValueError(f"{p}: no such file") from None
    except OSError as exc:
        raise ValueError(f"{p}: cannot read the file: {exc.strerror or exc}") from None
    return decode_toml_bytes(data, str(p))


def parse_toml(text: str, name: str) -> dict[str, Any]:
    """``tomllib.loads(text)``; a syntax error raises ``ValueError`` naming ``name``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{name}: not valid TOML: {exc}") from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parsed TOML document of the file at ``path``; every error names the file."""
    return parse_toml(read_toml_text(path), str(path))
