"""Every setting has help text and is documented in the README (datasette's test_docs habit)."""
from pathlib import Path

import pytest

import config

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_has_help():
    for s in config.SETTINGS:
        assert len(s.help) > 20, s.name


def test_every_setting_is_in_the_readme():
    missing = [s.env for s in config.SETTINGS if s.env not in README]
    assert not missing, f"document these in README.md: {missing}"


def test_environment_overrides_default():
    assert config.Settings.from_env({"PULSE_FILE_ROWS": "5"}).get_int("file_rows") == 5
    assert config.Settings.from_env({}).get_int("file_rows") == 1_000_000


@pytest.fixture
def nothing_installed():
    """No settings installed, as in a process nobody handed any (the suite's fixtures install some)."""
    before = config.installed()
    config.install(None)
    yield
    config.install(before)


def test_settings_handed_in_win_over_the_environment(monkeypatch, nothing_installed):
    monkeypatch.setenv("PULSE_FILE_ROWS", "5")  # an operator's variable, as gunicorn would see it
    assert config.get_int("file_rows") == 5  # nothing installed: the environment, read at call time
    with config.using(config.Settings.from_env(file_rows=7)):
        assert config.get_int("file_rows") == 7
    assert config.get_int("file_rows") == 5


def test_an_unknown_setting_is_refused():
    with pytest.raises(KeyError, match="no setting 'file_row'"):
        config.Settings.from_env().replace(file_row=5)


def test_a_child_process_gets_the_settings_as_its_environment():
    env = config.Settings.from_env({}, data_dir="/srv/pulse").as_env()
    assert env["PULSE_DATA_DIR"] == "/srv/pulse" and env["PULSE_FILE_ROWS"] == "1000000"
