"""What the course's commands do (the `labkit` command's parsers live in `labkit.cli`):
`runner` (`course run`: every notebook headless, in a private lab), `open` + `workspace`
(`course open`: the learner's copy in JupyterLab), `doctor` (is this machine ready),
`figures` (images/ from a real run), `solutions` (`course run --solutions`) and `permissions`
(the IAM actions the course really uses). Notebooks import none of these."""
