"""Pieces of the ECR target (`labkit.ecr`): sessions, errors, and the objects it returns."""
