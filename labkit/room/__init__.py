"""Rooms (classroom workshops): one lab serves the room, each learner is an account of it.

`board` derives the instructor's board (a row per learner, a column per step of the course)
from the lab's trace; `table` writes it as CSV; `page` is the board's web page. The lab serves
them under `/_labkit/board` (labkit/lab/server/board.py), for the instructor only.
"""
