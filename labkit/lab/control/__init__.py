"""The control plane: moto's ECR API with ECR's rules restored (`rules`), the state the registry
and the API share (`models`), and the wire-level adjustments (`responses`), in moto's own split."""
