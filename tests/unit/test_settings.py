"""Every setting has help text and is documented in the README (datasette's test_docs habit)."""
from pathlib import Path

import config

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_has_help():
    for s in config.SETTINGS:
        assert len(s.help) > 20, s.name


def test_every_setting_is_in_the_readme():
    missing = [s.env for s in config.SETTINGS if s.env not in README]
    assert not missing, f"document these in README.md: {missing}"


def test_environment_overrides_default(monkeypatch):
    monkeypatch.setenv("PULSE_FILE_ROWS", "5")
    assert config.get_int("file_rows") == 5
