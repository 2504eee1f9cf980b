"""A learner's side of a room: what `labkit classroom join` changes on the learner's machine,
kept in `LABKIT_HOME/room.json` so that `labkit lab env` uses the room and `labkit classroom
leave` undoes exactly those changes and nothing else.

What join writes:
- an AWS profile (`labkit-room`: region, endpoint_url, ca_bundle in the AWS config file; the
  learner's keys in the credentials file), so `aws --profile labkit-room ...` and boto3 reach
  the room with the learner's own identity; the keys are never printed;
- with a TLS room, the room's CA certificate (`LABKIT_HOME/room-ca.pem`), checked against the
  fingerprint in the join line before anything is sent to the room, and docker's trust for the
  learner's registry (`/etc/docker/certs.d/HOST:PORT/ca.crt`, where the learner may write it;
  otherwise the commands to run with sudo are printed, and leave prints their undoing).
"""

from __future__ import annotations

import configparser
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PROFILE = "labkit-room"
FILE = "room.json"
CA_FILE = "room-ca.crt"


class RoomError(Exception):
    """A join or leave that cannot go on, said plainly (the CLI prints it, exit 2)."""


@dataclass
class Joined:
    name: str
    account_id: str
    region: str
    endpoint_url: str
    registry: str
    ca: str | None = None  # the room CA's file (TLS rooms)
    profile: str = PROFILE
    written: list[str] = field(default_factory=list)  # files join made (leave removes them)
    sections: list[list[str]] = field(default_factory=list)  # [file, section] join added
    sudo: list[str] = field(default_factory=list)  # commands join could not run itself

    def env(self) -> dict[str, str]:
        """What `labkit lab env` exports in a room: the profile (not the keys), and where."""
        env = {"AWS_PROFILE": self.profile, "AWS_DEFAULT_REGION": self.region,
               "AWS_ENDPOINT_URL": self.endpoint_url, "LABKIT_REGISTRY": self.registry,
               "REGISTRY": self.registry, "LABKIT_ROOM": self.name}
        if self.ca:
            env["AWS_CA_BUNDLE"] = self.ca
        return env


def state_file(home: Path) -> Path:
    return home / FILE


def load(home: Path) -> Joined | None:
    """The room this home has joined, or None."""
    try:
        doc = json.loads(state_file(home).read_text())
    except (OSError, ValueError):
        return None
    return Joined(**{k: v for k, v in doc.items() if k in Joined.__dataclass_fields__})


def save(home: Path, joined: Joined) -> None:
    home.mkdir(parents=True, exist_ok=True)
    path = state_file(home)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(joined), f, indent=1)


def aws_files() -> tuple[Path, Path]:
    """The AWS CLI's config and credentials files (their env variables, else ~/.aws)."""
    home = Path.home() / ".aws"
    return (Path(os.environ.get("AWS_CONFIG_FILE") or home / "config"),
            Path(os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or home / "credentials"))


def _edit(path: Path, section: str, values: dict[str, str] | None) -> bool:
    """Set (values) or remove (None) one section of an AWS ini file; whether it existed."""
    parser = configparser.RawConfigParser()
    if path.exists():
        parser.read(path)
    existed = parser.has_section(section)
    if values is None:
        if not existed:
            return False
        parser.remove_section(section)
    else:
        if existed:
            parser.remove_section(section)
        parser.add_section(section)
        for k, v in values.items():
            parser.set(section, k, v)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        parser.write(f)
    return existed


def write_profile(joined: Joined, keys: dict[str, Any]) -> None:
    """The `labkit-room` profile; refuses to replace a profile of that name it did not make."""
    config_file, credentials = aws_files()
    section = f"profile {joined.profile}"
    for path, name in ((config_file, section), (credentials, joined.profile)):
        parser = configparser.RawConfigParser()
        if path.exists():
            parser.read(path)
        if parser.has_section(name):
            raise RoomError(f"{path} already has [{name}], which labkit did not write: "
                            f"remove it, or leave the room it belongs to first")
    values = {"region": joined.region, "endpoint_url": joined.endpoint_url}
    if joined.ca:
        values["ca_bundle"] = joined.ca
    _edit(config_file, section, values)
    joined.sections.append([str(config_file), section])
    _edit(credentials, joined.profile, {"aws_access_key_id": keys["access_key_id"],
                                        "aws_secret_access_key": keys["secret_access_key"]})
    joined.sections.append([str(credentials), joined.profile])


def undo(joined: Joined) -> list[str]:
    """Remove the profile and the files join made; the lines saying what was removed (the CA's
    certs.d copies are labkit/lab/tls/install.py's to remove)."""
    said = []
    for path, section in joined.sections:
        if _edit(Path(path), section, None):
            said.append(f"removed [{section}] from {path}")
    for written in reversed(joined.written):
        p = Path(written)
        try:
            p.unlink()
            said.append(f"removed {p}")
            if p.parent.name and not any(p.parent.iterdir()):
                p.parent.rmdir()
        except FileNotFoundError:
            pass
        except OSError as e:
            said.append(f"could not remove {p} ({e.strerror}): sudo rm {p}")
    return said
