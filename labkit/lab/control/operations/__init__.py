"""ECR's operations, grouped by what they act on (moto's "models": state and rules; the wire is
control/responses.py).  Each group is a class whose public methods are the operations' names in
snake case, taking the request's members and returning the response's; `EcrBackend` (backend.py)
finds them there and dispatches every call, after one validation, the same way."""
