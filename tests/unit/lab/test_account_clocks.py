"""Each account's clock is the lab's plus its own offset (housekeeping/account_clocks.py): a
learner in a room moves theirs, nobody else's; the instructor's lab clock moves everyone's."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.lab.housekeeping.account_clocks import AccountClocks
from labkit.lab.housekeeping.clock import TOKEN_FILE, ClockError

LAB, ADA, GRACE = "123456789012", "200000000001", "200000000002"


def test_a_learners_move_is_theirs_and_the_labs_is_everyones(tmp_path: Path) -> None:
    wall = [1_000_000.0]
    clocks = AccountClocks(tmp_path, LAB, wall=lambda: wall[0])  # fixed, for the arithmetic

    clocks.of(ADA).advance(13 * 3600)
    assert clocks.now(ADA) == wall[0] + 13 * 3600
    assert clocks.now(GRACE) == clocks.now(LAB) == clocks.now() == wall[0]
    assert (tmp_path / "accounts" / ADA / "clock.json").is_file()

    clocks.of(LAB).advance(86400)  # the lab's own account: the lab's clock, everyone's
    assert clocks.now(GRACE) == wall[0] + 86400
    assert clocks.now(ADA) == wall[0] + 86400 + 13 * 3600
    assert clocks.of(ADA).status()["offset_text"] == "1d 13h"

    clocks.of(ADA).reset()  # undoes ada's own move only
    assert clocks.now(ADA) == wall[0] + 86400
    # another process (the CLI, a restarted lab) reads the same files
    again = AccountClocks(tmp_path, LAB)
    assert again.of(GRACE).offset == 86400 and again.of(ADA).offset == 86400


def test_token_clocks_are_their_own_files(tmp_path: Path) -> None:
    tokens, lab = AccountClocks(tmp_path, LAB, TOKEN_FILE), AccountClocks(tmp_path, LAB)
    tokens.of(ADA).advance(60)
    assert tokens.of(ADA).offset == 60 and lab.of(ADA).offset == 0
    assert (tmp_path / "accounts" / ADA / TOKEN_FILE).is_file()


@pytest.mark.parametrize("account", ["../../etc", "12345", "abcdefghijkl", ""])
def test_only_account_ids_name_a_clock(tmp_path: Path, account: str) -> None:
    with pytest.raises(ClockError, match="not an account id"):
        AccountClocks(tmp_path, LAB).of(account)
    assert not (tmp_path / "accounts").exists()


def test_a_clock_moves_forward_only(tmp_path: Path) -> None:
    with pytest.raises(ClockError):
        AccountClocks(tmp_path, LAB).of(ADA).advance(-1)
