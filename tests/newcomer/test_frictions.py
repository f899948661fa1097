"""Issue 18 item 6, as a newcomer meets it: a mistyped number, address or port is one line naming
the mistake, with a non-zero exit and no traceback, before anything is sent or started."""

import socket
from collections.abc import Iterator

import pytest

from tests.scripts import load_script, refused

WRONG_CASE = "0xf39fd6e51aad88F6F4ce6aB8827279cffFb92266"  # test account 0 with one letter's case flipped
MEASUREMENT = "0x" + "11" * 32
JOB = '{"handler":"echo","data":"hi"}'


@pytest.mark.parametrize(
    ("script", "args", "fragment"),
    [
        # negative and zero amounts reach the amount parser (not click's "No such option: -5")
        ("stake", ["delegate", "1", "-5"], "the amount must be positive: '-5'"),
        ("stake", ["delegate", "1", "0"], "the amount must be positive: '0'"),
        ("stake", ["delegate", "1", "ten"], "not an amount of PHA: 'ten'"),
        ("stake", ["undelegate", "1", "-2"], "the amount must be positive: '-2'"),
        ("stake", ["delegate", "-1", "5"], "'POOL_ID': -1 is not in the range x>=0"),
        ("stake", ["set-commission", "1", "-3"], "'COMMISSION_BPS': -3 is not in the range 0<=x<=10000"),
        ("stake", ["open-pool", "--commission-bps", "10001"], "10001 is not in the range 0<=x<=10000"),
        ("client", ["status", "-4"], "'JOB_ID': -4 is not in the range x>=0"),
        ("client", ["post", "--measurement", MEASUREMENT, "--input", JOB, "--payment", "0"], "above 0 PHA"),
        ("client", ["post", "--measurement", MEASUREMENT, "--input", JOB, "--payment", "-1"], "non-negative"),
        # a mistyped option is still refused (as an extra argument), not silently ignored
        ("stake", ["delegate", "1", "5", "--permt"], "--permt"),
        # addresses: wrong EIP-55 checksum, too short, not hex — on every kind of address option
        ("stake", ["pool-status", "1", "--delegator", WRONG_CASE], "wrong EIP-55 checksum"),
        ("stake", ["claim-commission", "1", "--to", "0x12"], "not an address: '0x12'"),
        ("operator", ["worker-status", "--worker", WRONG_CASE], "wrong EIP-55 checksum"),
        ("operator", ["authorise-relayer", "--pool", "1", "--relayer", "relayer"], "not an address"),
        ("governance", ["set-verifier", WRONG_CASE], "wrong EIP-55 checksum"),
        (
            "client",
            ["post", "--measurement", MEASUREMENT, "--input", JOB, "--payment", "1", "--worker", WRONG_CASE],
            "EIP-55",
        ),
        ("deploy", ["--admin", WRONG_CASE], "wrong EIP-55 checksum"),
        ("client", ["chat", "--pool", "1", "--max-tokens", "10000", "hi"], "max_tokens must be an integer"),
        ("client", ["chat", "--pool", "1", "x" * 9000], "bytes, at most 7680"),
        ("client", ["chat", "--pool", "1", "--model-digest", "0x12", "hi"], "model digest must be 32 bytes"),
    ],
)
def test_bad_input__one_line_before_anything_is_sent(script, args, fragment):
    command = load_script(script)
    line = refused(command, args, fragment)
    assert "No such option: -" not in line


@pytest.fixture
def held_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_worker_port_in_use__names_the_port_and_the_option(held_port):
    from worker.cli import main

    args = ["serve", "--simulate", "--port", str(held_port), "--chain-id", "31337", "--pool-id", "1"]
    args += ["--registry", "0x" + "11" * 20, "--escrow", "0x" + "22" * 20]
    line = refused(main, args, f"port {held_port} on 127.0.0.1 is already in use")
    assert "--port (PHA_WORKER_PORT)" in line


def test_relayer_metrics_port_in_use__names_the_port_and_the_key(held_port, tmp_path, monkeypatch):
    from relayer.cli import main

    monkeypatch.setenv("PHA_RELAYER_PRIVATE_KEY", "0x" + "33" * 32)
    config = _relayer_config(tmp_path, held_port)
    line = refused(main, ["run", "--config", str(config)], f"port {held_port} on 127.0.0.1 is already in use")
    assert "metrics_port (PHA_RELAYER_METRICS_PORT)" in line


def _relayer_config(tmp_path, metrics_port: int = 0):
    config = tmp_path / "relayer.toml"
    config.write_text(
        'rpc_urls = ["http://127.0.0.1:1"]\n'
        f'escrow = "0x{"11" * 20}"\nregistry = "0x{"22" * 20}"\n'
        'workers = ["http://127.0.0.1:2"]\n'
        f"metrics_port = {metrics_port}\n"
    )
    return config


def test_relayer_bad_key__named_and_not_echoed(tmp_path, monkeypatch):
    from relayer.cli import main

    monkeypatch.setenv("PHA_RELAYER_PRIVATE_KEY", "0x1234")
    line = refused(main, ["check", "--config", str(_relayer_config(tmp_path))], "is not a private key")
    assert "PHA_RELAYER_PRIVATE_KEY" in line and "1234" not in line


def test_relayer_check_without_rpc__one_line_naming_the_url(tmp_path, monkeypatch):
    """`run` waits for its node (a service outlives a node restart); `check` says what is wrong."""
    from relayer.cli import main

    monkeypatch.setenv("PHA_RELAYER_PRIVATE_KEY", "0x" + "33" * 32)
    line = refused(main, ["check", "--config", str(_relayer_config(tmp_path))], "no RPC endpoint answered")
    assert "(http://127.0.0.1:1): connection refused" in line
