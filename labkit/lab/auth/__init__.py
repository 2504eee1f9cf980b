"""Who may call the lab: authorization tokens (`tokens`: GetAuthorizationToken's passwords, their
expiry) and the lab's signing key (`signing`: pre-signed blob URLs, proofs of identity)."""
