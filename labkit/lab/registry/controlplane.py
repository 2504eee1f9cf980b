"""What the registry needs from the control plane (the ECR API's rules), and nothing more.

The registry's store is the one source of truth: the control plane keeps no copy of images or
tags, it only answers questions about repositories.  The lab wires in `control.EcrBackend`;
so do tests of the registry alone (tests/registry_server.py).
"""

from __future__ import annotations

from typing import Protocol

from ...oci.manifest import Manifest


class ControlPlane(Protocol):
    registry_id: str

    def repository_exists(self, name: str) -> bool:
        """Pulls and listings need an existing repository."""

    def repository_for_push(self, name: str) -> bool:
        """A push needs one too; ECR creates it only from a CREATE_ON_PUSH creation template."""

    def tag_immutable(self, name: str, tag: str) -> bool:
        """True if `tag` may not be moved (IMMUTABLE, or the *_WITH_EXCLUSION filters say so)."""

    def image_pushed(self, name: str, manifest: Manifest, tag: str | None,
                     pushed_at: float) -> None:
        """A manifest PUT succeeded (a hook: scan on push); the store already holds it."""

    def blob_mounting(self) -> bool:
        """Whether a push may mount a blob from another repository (ECR's BLOB_MOUNTING
        account setting; off unless ENABLED)."""
