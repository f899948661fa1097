"""Passphrase files (keystore unlocking), shared by the Ape scripts (`--passphrase-file`) and the
relayer (`keystore_passphrase_file`): the text without its line end, refused when empty."""

from __future__ import annotations

from pathlib import Path


class PassphraseFileError(ValueError):
    """The passphrase file is unreadable or empty (one line, never its content)."""


def read_passphrase(path: Path, what: str) -> str:
    """The file's text without its line end (an editor's trailing newline is not part of it);
    `what` names the option or setting in the messages."""
    try:
        text = path.read_text(encoding="utf8")
    except (OSError, UnicodeDecodeError) as error:
        raise PassphraseFileError(f"cannot read {what} {path}: {error}") from None
    passphrase = text.removesuffix("\n").removesuffix("\r")
    if not passphrase:
        raise PassphraseFileError(f"{what} {path} is empty")
    return passphrase
