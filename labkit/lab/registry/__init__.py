"""The registry data plane (OCI Distribution with ECR's rules).

`handlers` speaks HTTP; `storage.Storage` is one registry's store on disk, composed of the
parts in `store/` (files, blobs, links, uploads, manifests, records, garbage); `manifest_rules`
says what a push may store and what a pull is served (ECR's translation between Docker schema 2
and OCI); `referrers` lists the manifests that refer to another; `errors` names each refusal and
writes the sentences ECR says on both paths once.  The control plane is reached only through
`controlplane.ControlPlane`.
"""
