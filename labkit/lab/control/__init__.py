"""The ECR API, in moto's models / responses split, on the registry's one store.

`backend.EcrBackend` is the one door: `call(action, params)` checks the input against botocore's
model (`validation`, `model`) and runs the operation, found in `operations/` (one class per kind
of thing: repositories, images, layers, lifecycle policies, scanning, the registry's settings,
creation templates, tokens, features not in the lab).  `ecr_registry.EcrRegistry` holds one
registry's state (store, settings, templates, scans).  The rules operations share live beside
them: `lifecycle` (policies: ECR's schema and evaluation), `lifecycle_runner`, `mutability`,
`repository_rules` (encryption, resource tags), `templates`, `images` (how ECR describes an
image), `scanning` (no invented findings), `settings`.  `errors` has one type per ECR exception;
`responses` is the JSON wire; `services` answers STS GetCallerIdentity (moto) and refuses other
services.
"""
