"""The ECR control plane, in moto's models / responses split but on the registry's one store:
`backend` (state and ECR's rules for every operation, with `layers`, `images`, `mutability`,
`settings`), `validation` (input checked against botocore's ECR model), `responses` (the JSON
wire) and `services` (STS GetCallerIdentity through moto; any other service refused)."""
