"""The keys of the lab's own account's learner: public on a laptop, private in a room.

A laptop's lab answers only its owner (it listens on 127.0.0.1), so its default keys are the
kit's published constants (config.LAB_ACCESS_KEY): every tool works with no set-up, and a
learner who reads them learns nothing secret. A room's lab is reached by thirty people, and
with published keys any of them would be the administrator of the lab's own account. So
`labkit classroom up` makes a pair of random keys for that home (`lab-keys.json`, mode 0600,
beside `secret.key`): the lab takes them in place of the constants, and only the instructor,
who can read the home, gets them (`labkit lab env --home ROOM`).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from ... import config

FILE = "lab-keys.json"
KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def load(home: Path) -> tuple[str, str]:
    """(access key id, secret key) of the lab's own learner in this home."""
    try:
        doc = json.loads((Path(home) / FILE).read_text())
        return str(doc["access_key_id"]), str(doc["secret_access_key"])
    except (OSError, ValueError, KeyError, TypeError):
        return config.LAB_ACCESS_KEY, config.LAB_SECRET_KEY


def make_private(home: Path) -> tuple[str, str]:
    """Random keys for this home's lab, made once (a room restarted keeps them); the lab reads
    them when it starts, so make them before it does."""
    path = Path(home) / FILE
    if path.exists():
        return load(home)
    key_id = "AKIA" + "".join(secrets.choice(KEY_ALPHABET) for _ in range(16))
    secret = secrets.token_urlsafe(30)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"access_key_id": key_id, "secret_access_key": secret}, f)
    return key_id, secret
