"""Settings from file + environment, and the CLI's one-line errors."""

from __future__ import annotations

import json
import re
import tomllib

import pytest
from click.testing import CliRunner

from pha.paths import ROOT
from relayer.cli import main
from relayer.settings import RelayerSettings, SettingsError, WatchTarget, load_settings

ESCROW = "0x" + "ab" * 20
REGISTRY = "0x" + "12" * 20


def write(tmp_path, text, name="relayer.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_toml_file__environment_overrides_it(tmp_path, monkeypatch):
    path = write(
        tmp_path, f'rpc_urls = ["http://a"]\nescrow = "{ESCROW}"\nregistry = "{REGISTRY}"\nbatch_size = 7\n'
    )
    monkeypatch.setenv("PHA_RELAYER_BATCH_SIZE", "9")
    monkeypatch.setenv("PHA_RELAYER_WORKERS", '["http://w1", "http://w2"]')
    s = load_settings(path)
    assert s.batch_size == 9 and s.workers == ["http://w1", "http://w2"]
    assert s.db_path == tmp_path / "relayer.db" or s.db_path.name == "relayer.db"


def test_json_file__accepted(tmp_path):
    path = write(
        tmp_path, json.dumps({"rpc_urls": ["http://a"], "escrow": ESCROW, "registry": REGISTRY}), "r.json"
    )
    assert load_settings(path).escrow.lower() == ESCROW


def test_private_key_in_file__refused(tmp_path):
    path = write(
        tmp_path,
        f'rpc_urls = ["http://a"]\nescrow = "{ESCROW}"\nregistry = "{REGISTRY}"\nprivate_key = "0x01"\n',
    )
    with pytest.raises(SettingsError, match="PRIVATE_KEY"):
        load_settings(path)


def test_missing_addresses__one_line_error(tmp_path):
    path = write(tmp_path, 'rpc_urls = ["http://a"]\n')
    with pytest.raises(SettingsError, match="manifest"):
        load_settings(path)


def test_cli_check__unreachable_rpc__one_line_and_exit_1(tmp_path, monkeypatch):
    path = write(
        tmp_path,
        f'rpc_urls = ["http://127.0.0.1:1"]\nescrow = "{ESCROW}"\nregistry = "{REGISTRY}"\nrpc_timeout = 1\n',
    )
    monkeypatch.setenv("PHA_RELAYER_PRIVATE_KEY", "0x" + "11" * 32)
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    assert result.exit_code == 1 and "no RPC endpoint answered" in result.output
    assert "Traceback" not in result.output
    as_json = CliRunner(mix_stderr=False).invoke(main, ["check", "--config", str(path), "--json"])
    assert as_json.exit_code == 1 and "no RPC endpoint answered" in as_json.stderr
    report = json.loads(as_json.stdout)  # the same verdict, one document on stdout
    assert report["ok"] is False and report["rpc"] is None and report["workers"] == []
    assert len(report["problems"]) == 1 and "no RPC endpoint answered" in report["problems"][0]


def test_cli_status__no_database__one_line(tmp_path):
    path = write(
        tmp_path, f'rpc_urls = ["http://a"]\nescrow = "{ESCROW}"\nregistry = "{REGISTRY}"\ndb_path = "x.db"\n'
    )
    result = CliRunner().invoke(main, ["status", "--config", str(path)])
    assert result.exit_code == 1 and "no database" in result.output


EXAMPLE = ROOT / "relayer.example.toml"
SECRETS = {"private_key", "operator_key"}  # environment only, refused in files


def example_keys(text: str) -> tuple[set[str], set[str]]:
    """(keys set in the example, keys shown only in comments: `# key = ...`, `# [[table]]`)."""
    active, commented = set(), set()
    for line in text.splitlines():
        match = re.match(r"^(#\s*)?([a-z_]+)\s*=", line) or re.match(r"^(#\s*)?\[\[([a-z_]+)\]\]$", line)
        if match:
            (commented if match.group(1) else active).add(match.group(2))
    return active, commented


def test_example_config__names_every_setting_and_every_watched_worker_field():
    text = EXAMPLE.read_text()
    active, commented = example_keys(text)
    settings = set(RelayerSettings.model_fields) - SECRETS
    watch_target = set(WatchTarget.model_fields)
    assert (active | commented) == settings | watch_target, "relayer.example.toml is out of date"
    for secret in SECRETS:
        assert f"PHA_RELAYER_{secret.upper()}" in text  # named, as an environment variable
    # Each key has its own comment just above it (or shares its paragraph's).
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^[a-z_]+\s*=", line):
            above = next(line for line in reversed(lines[:i]) if not re.match(r"^[a-z_]+\s*=", line))
            assert above.startswith("#"), f"no comment above {line!r}"


def test_example_config__loads_and_its_values_are_the_defaults(tmp_path):
    settings = load_settings(EXAMPLE)
    assert settings.manifest == ROOT / "deployments" / "base-devnet.json"
    assert settings.db_path == ROOT / "relayer.db"
    data = tomllib.loads(EXAMPLE.read_text())
    edited = {"rpc_urls", "manifest", "workers", "db_path"}  # set for the devnet, or made absolute
    for key in data.keys() - edited:
        default = RelayerSettings.model_fields[key].get_default(call_default_factory=True)
        assert getattr(settings, key) == default, key
