"""Find a credential among stored rows: as plaintext, or in a reversible form (hex, base64) of it."""

from __future__ import annotations

import base64
import binascii

from services.ports import Row


def token_forms(token: str) -> set[str]:
    """The texts that would show the token: itself and its hex and base64 encodings."""
    raw = token.encode()
    encoded = {base64.b64encode(raw), base64.urlsafe_b64encode(raw)}
    return {token, raw.hex(), *(form.decode() for form in encoded), *(form.decode().rstrip("=") for form in encoded)}


def _decodings(text: str) -> list[bytes]:
    """`text` read as hex and as base64, where it is either (a sealed value is stored in one of them)."""
    decoded = []
    for decode in (bytes.fromhex, base64.b64decode, base64.urlsafe_b64decode):
        try:
            decoded.append(decode(text))
        except (ValueError, binascii.Error):
            continue
    return decoded


def cells_holding(tables: dict[str, list[Row]], token: str) -> list[str]:
    """`table.column` of every stored value that holds the token in any of its forms."""
    forms = token_forms(token)
    found = []
    for table, rows in tables.items():
        for row in rows:
            for column, value in row.items():
                text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                if any(form in text for form in forms) or any(token.encode() in raw for raw in _decodings(text)):
                    found.append(f"{table}.{column}")
    return found
