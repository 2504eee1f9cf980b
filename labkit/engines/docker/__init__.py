"""The Docker Engine, driven through the docker SDK: `engine` (build, tag, login, push, pull),
`events` (docker's progress stream folded into reports), `manifest`, and `errors` (hints)."""
