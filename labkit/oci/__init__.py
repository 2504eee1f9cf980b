"""OCI primitives shared by the lab, both engines and the reports: digests, media types, manifests.

Kept in one place so that the registry and the clients agree byte for byte on what a digest is.
"""
