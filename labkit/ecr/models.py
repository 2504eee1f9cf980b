"""What the target returns: repositories, image tables, logins; each readable in a notebook."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..engines.report import human_bytes
from ..oci.digest import short

COURSE_TAG = ("labkit:course", "true")  # marks what the course created, so cleanup() finds it


@dataclass(frozen=True)
class Repository:
    """One ECR repository; `created` is False when it already existed (idempotent create)."""

    name: str
    uri: str
    arn: str
    registry_id: str
    immutable: bool = False
    scan_on_push: bool = False
    created_at: datetime | None = None
    created: bool = False
    note: str = ""  # what create_repository reconciled or noticed

    @classmethod
    def from_api(cls, d: dict[str, Any], created: bool = False, note: str = "") -> Repository:
        scan = d.get("imageScanningConfiguration", {}).get("scanOnPush", False)
        return cls(name=d["repositoryName"], uri=d["repositoryUri"], arn=d["repositoryArn"],
                   registry_id=d.get("registryId", ""),
                   immutable=d.get("imageTagMutability") == "IMMUTABLE",
                   scan_on_push=bool(scan), created_at=d.get("createdAt"),
                   created=created, note=note)

    @property
    def mutability(self) -> str:
        return "IMMUTABLE" if self.immutable else "MUTABLE"

    def __str__(self) -> str:
        state = "created" if self.created else "already there"
        out = f"{self.name} ({state}, {self.mutability}, scan on push: {self.scan_on_push})\n"
        out += f"  uri: {self.uri}"
        return out + (f"\n  note: {self.note}" if self.note else "")

    def _repr_html_(self) -> str:
        state = "created" if self.created else "already there"
        note = f"<br><i>{html.escape(self.note)}</i>" if self.note else ""
        return (f"<b>{html.escape(self.name)}</b> ({state}, {self.mutability}, scan on push: "
                f"{self.scan_on_push})<br>uri: <code>{html.escape(self.uri)}</code>{note}")


@dataclass(frozen=True)
class ImageRow:
    tags: tuple[str, ...]
    digest: str
    size: int
    pushed_at: datetime | None
    media_type: str = ""

    @classmethod
    def from_api(cls, d: dict[str, Any]) -> ImageRow:
        return cls(tags=tuple(sorted(d.get("imageTags", []))), digest=d["imageDigest"],
                   size=int(d.get("imageSizeInBytes", 0)), pushed_at=d.get("imagePushedAt"),
                   media_type=d.get("imageManifestMediaType", ""))

    def cells(self) -> list[str]:
        when = self.pushed_at.strftime("%Y-%m-%d %H:%M:%S") if self.pushed_at else "-"
        return [", ".join(self.tags) or "<untagged>", f"sha256:{short(self.digest)}",
                human_bytes(self.size), when]


_HEADERS = ["tags", "digest", "size", "pushed at"]


@dataclass
class ImageTable:
    """The images of one repository, oldest push first (DescribeImages, readably)."""

    repository: str
    rows: list[ImageRow] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rows.sort(key=lambda r: (r.pushed_at.timestamp() if r.pushed_at else float("-inf"),
                                      r.digest))

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[ImageRow]:
        return iter(self.rows)

    def tagged(self, tag: str) -> ImageRow | None:
        return next((r for r in self.rows if tag in r.tags), None)

    def __str__(self) -> str:
        table = [_HEADERS, *(r.cells() for r in self.rows)]
        widths = [max(len(row[i]) for row in table) for i in range(len(_HEADERS))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                 for row in table]
        if not self.rows:
            lines.append(f"(no images in {self.repository} yet)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in _HEADERS)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r.cells())
                       + "</tr>" for r in self.rows)
        empty = "" if self.rows else f"<p>(no images in {html.escape(self.repository)} yet)</p>"
        return (f"<p>images in <code>{html.escape(self.repository)}</code></p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{empty}")


@dataclass(frozen=True)
class Login:
    """A registry login; the password is kept for the engine but never shown."""

    registry: str
    username: str
    expires_at: datetime | None
    password: str = field(repr=False)
    message: str = ""  # what the engine answered ("Login Succeeded")

    def __repr__(self) -> str:
        return (f"Login(registry={self.registry!r}, username={self.username!r}, "
                f"password='***', expires_at={self.expires_at!r})")

    def __str__(self) -> str:
        until = f", expires {self.expires_at:%Y-%m-%d %H:%M:%S %Z}" if self.expires_at else ""
        said = f"{self.message}: " if self.message else ""
        return f"{said}{self.username}@{self.registry} (password ***{until})"

    def _repr_html_(self) -> str:
        return html.escape(str(self))


@dataclass(frozen=True)
class LoginCommand:
    """The seed's login line, for bash/zsh and for PowerShell (for display, not execution)."""

    shell: str
    powershell: str

    def __str__(self) -> str:
        return f"{self.shell}\n# PowerShell:\n{self.powershell}"
