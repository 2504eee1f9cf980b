"""No committed notebook output may hold a token, a password or an AWS key."""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[3] / "notebooks"

B64 = re.compile(r"[A-Za-z0-9+/]{32,}={0,2}")
ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")
PASSWORD_VALUE = re.compile(r"password\s*[=:]\s*['\"]?(?P<value>[^'\"\s,)]+)", re.IGNORECASE)
SECRET_KEY = re.compile(r"aws_secret_access_key\s*[=:]\s*\S+", re.IGNORECASE)


def output_texts(nb: nbformat.NotebookNode) -> list[str]:
    """Every piece of text a committed output holds (streams, data, errors)."""
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if "text" in o:
                out.append(str(o["text"]))
            for key, value in (o.get("data") or {}).items():
                if not key.startswith("image/"):
                    out.append(value if isinstance(value, str) else str(value))
            out += [str(o.get("evalue", "")), "\n".join(o.get("traceback", []))]
    return out


def _decodes_to_secret(candidate: str) -> bool:
    try:
        text = base64.b64decode(candidate + "=" * (-len(candidate) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    text = text.lstrip()
    return text.startswith(("AWS:", "{")) and ("AWS:" in text or "payload" in text
                                              or "datakey" in text or "expiration" in text)


def leaks(text: str) -> list[str]:
    """What in `text` looks like a credential (empty when clean)."""
    found = [m.group(0) for m in ACCESS_KEY.finditer(text)]
    found += [m.group(0) for m in SECRET_KEY.finditer(text)]
    found += [m.group(0) for m in PASSWORD_VALUE.finditer(text)
              if m.group("value").strip("*") != ""]
    found += [m.group(0)[:24] + "..." for m in B64.finditer(text) if _decodes_to_secret(m.group(0))]
    return found


def notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_there_are_notebooks_to_scan() -> None:
    assert len(notebooks()) >= 8


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.stem)
def test_no_secret_in_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    found = [hit for text in output_texts(nb) for hit in leaks(text)]
    assert not found, f"{path.name} outputs hold what looks like a secret: {found}"


def test_the_scanner_finds_real_lab_credentials() -> None:
    """The scan must be able to fail: feed it what the lab and AWS really hand out."""
    from labkit import config
    from labkit.lab.auth.signing import Signer
    from labkit.lab.auth.tokens import TokenIssuer

    token = TokenIssuer(Signer(b"k" * 32), "lab-1").issue(60)
    assert leaks(token.authorization_token)  # base64("AWS:<password>") from GetAuthorizationToken
    assert leaks(f"echo {token.password} | docker login")  # the ECR-style password itself
    assert leaks(f"key {config.LAB_ACCESS_KEY}")
    assert leaks("Login(registry='r', password='hunter2')")
    assert leaks("aws_secret_access_key = abc123")
    assert not leaks("Login(registry='127.0.0.1:5400', username='AWS', password='***')")
    assert not leaks("sha256:" + "ab" * 32)
