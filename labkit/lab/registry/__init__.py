"""The registry data plane (OCI Distribution with ECR's rules).

`handlers` speaks HTTP, `storage` keeps blobs, uploads, manifests and tags on disk, `errors`
names each spec error; the control plane is reached only through `controlplane.ControlPlane`.
"""
