"""TLS for the lab (issue 20, a workshop room): a certificate authority made per lab home, the
server certificate it signs for the hosts the lab serves, and the places clients look for it.

- `layout`: where the files live, and the lab's persisted choice (TLS on, extra host names);
  no cryptography imported, so a plain lab's start does not pay for it.
- `authority`: make, reuse and renew the CA and the server certificate (`ensure`).
- `install`: put the CA where the Docker Engine and podman/skopeo/buildah look
  (`/etc/docker/certs.d/HOST:PORT/ca.crt`, `/etc/containers/certs.d/...`), recorded, undoable.

Clients find the CA through `labkit.engines.trust` (the built-in engine), `Lab.ca_file` (labkit's
own admin and boto3 clients) and `AWS_CA_BUNDLE` (`labkit lab env`, for the AWS CLI and boto3).
"""
