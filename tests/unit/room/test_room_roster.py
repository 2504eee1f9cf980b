"""The room's roster (join codes kept hashed, a guessing spree pauses joins) and the learner's
side of a join (an AWS profile added to files that keep everything else, and removed again)."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from labkit.room import joined as room
from labkit.room.roster import ALPHABET, FAILURES_PER_MINUTE, MAX_COMPANIONS, Roster


def test_codes_are_readable_kept_hashed_and_replaced_when_issued_again(tmp_path: Path) -> None:
    roster = Roster(tmp_path)
    code = roster.issue("ada", "111111111111")
    raw = code.replace("-", "")
    assert len(raw) == 10 and set(raw) <= set(ALPHABET) and code[5] == "-"
    text = (tmp_path / "room" / "roster.json").read_text()
    assert raw not in text and code not in text
    assert (tmp_path / "room" / "roster.json").stat().st_mode & 0o777 == 0o600
    assert roster.redeem(code.lower().replace("-", " ")).name == "ada"  # typed loosely
    again = roster.issue("ada", "111111111111")
    assert roster.redeem(code) is None and roster.redeem(again).account_id == "111111111111"
    assert [x.name for x in Roster(tmp_path).learners()] == ["ada"]  # read back from disk


def test_a_learners_second_accounts_are_theirs_and_survive_a_new_code(tmp_path: Path) -> None:
    roster = Roster(tmp_path)
    roster.issue("ada", "111111111111")
    roster.issue("grace", "222222222222")
    assert roster.learner_of("333333333333") is None  # nobody's (the lab's own, a stranger)
    names = [f"team{i}" for i in range(MAX_COMPANIONS)]
    for i, name in enumerate(names):
        assert roster.may_add_companion("111111111111", name)
        roster.add_companion("111111111111", name, f"90000000000{i}")
    assert not roster.may_add_companion("111111111111", "one-more")
    assert roster.may_add_companion("111111111111", names[0])  # the same one again: allowed
    assert roster.may_add_companion("222222222222", "one-more")  # grace has her own three
    assert roster.learner_of("900000000001").name == "ada"
    roster.issue("ada", "111111111111")  # a new code keeps the companions
    assert Roster(tmp_path).companions() == {f"90000000000{i}": "111111111111"
                                             for i in range(MAX_COMPANIONS)}


def test_a_guessing_spree_pauses_joins_for_a_minute(tmp_path: Path) -> None:
    now = [1000.0]
    roster = Roster(tmp_path, now=lambda: now[0])
    code = roster.issue("ada", "111111111111")
    for i in range(FAILURES_PER_MINUTE - 1):
        assert roster.redeem(f"WRONG-{i:05d}") is None
    assert not roster.paused()
    roster.redeem("WRONG-LAST0")
    assert roster.paused()
    now[0] += 61
    assert not roster.paused() and roster.redeem(code) is not None


def _aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    return config, credentials


def test_the_profile_goes_in_beside_others_and_comes_out(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    config, credentials = _aws(tmp_path, monkeypatch)
    config.write_text("[default]\nregion = eu-west-1\n")
    joined = room.Joined("ada", "111111111111", "us-east-1", "https://10.0.0.5:5400",
                         "10.0.0.5:5401", ca="/x/ca.crt")
    room.write_profile(joined, {"access_key_id": "AKIAROOM", "secret_access_key": "s3cret"})
    parsed = configparser.RawConfigParser()
    parsed.read(config)
    assert dict(parsed["profile labkit-room"]) == {
        "region": "us-east-1", "endpoint_url": "https://10.0.0.5:5400", "ca_bundle": "/x/ca.crt"}
    assert parsed["default"]["region"] == "eu-west-1"
    assert credentials.stat().st_mode & 0o777 == 0o600 and "s3cret" in credentials.read_text()
    assert "s3cret" not in repr(joined) and "s3cret" not in str(joined.env())
    assert joined.env()["AWS_PROFILE"] == "labkit-room"
    said = room.undo(joined)
    assert said == [f"removed [profile labkit-room] from {config}",
                    f"removed [labkit-room] from {credentials}"]
    parsed = configparser.RawConfigParser()
    parsed.read(config)
    assert parsed.sections() == ["default"] and "labkit-room" not in credentials.read_text()


def test_a_profile_of_that_name_it_did_not_write_is_left_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, _ = _aws(tmp_path, monkeypatch)
    config.write_text("[profile labkit-room]\nregion = ap-south-1\n")
    joined = room.Joined("ada", "1", "us-east-1", "http://h:1", "h:2")
    with pytest.raises(room.RoomError, match="which labkit did not write"):
        room.write_profile(joined, {"access_key_id": "A", "secret_access_key": "B"})
    assert config.read_text() == "[profile labkit-room]\nregion = ap-south-1\n"
