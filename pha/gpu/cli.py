"""`pha-quote gpu verify` / `gpu nonce`: NVIDIA GPU evidence, offline.

One-line errors; exit 0 verified, 1 refused or unreadable input, 2 usage error."""

from __future__ import annotations

import json
from pathlib import Path

import click

ROOTS = Path(__file__).with_name("roots")


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise click.ClickException(f"cannot read {path}: {error.strerror or error}") from None


@click.group("gpu")
def gpu_group() -> None:
    """NVIDIA confidential-GPU evidence (SPDM report + device chain + RIMs)."""


@gpu_group.command("verify")
@click.argument("report_file")
@click.option("--certs", "certs_file", required=True, help="Device certificate chain (PEM, leaf first).")
@click.option("--rim", "rim_dir", required=True, help="Directory with one driver and one VBIOS .swidtag RIM.")
@click.option(
    "--root",
    "root_file",
    default=str(ROOTS / "nvidia_device_root.pem"),
    show_default=False,
    help="Trusted device root (PEM; default: NVIDIA Device Identity CA).",
)
@click.option(
    "--rim-root",
    "rim_root_file",
    default=str(ROOTS / "nvidia_rim_root.pem"),
    show_default=False,
    help="Trusted RIM root (PEM; default: NVIDIA CoRIM signing Root CA).",
)
@click.option(
    "--revoked",
    "revoked_file",
    help='JSON {"revoked_serials": ["0x..", ...]} (else: revocation not checked).',
)
@click.option("--nonce", "nonce_hex", help="Expected 32-byte requester nonce (hex), e.g. from `gpu nonce`.")
@click.option("--at", "at_text", help="Verification time: Unix seconds or ISO 8601 (default: now).")
@click.option(
    "--dev-chain-id", type=int, help="Accept the project's simulated GPU root for this development chain."
)
@click.option(
    "--no-measurements", is_flag=True, help="Skip the RIM golden-value comparison (reported as not checked)."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def verify_cmd(
    report_file: str,
    certs_file: str,
    rim_dir: str,
    root_file: str,
    rim_root_file: str,
    revoked_file: str | None,
    nonce_hex: str | None,
    at_text: str | None,
    dev_chain_id: int | None,
    no_measurements: bool,
    as_json: bool,
) -> None:
    """Verify REPORT_FILE (hex or raw) offline; print what was and was not verified.

    Exit 1 with the reason if refused."""
    from pha.gpu.certs import RevocationList, load_pem_chain, parse_time
    from pha.gpu.rim import pick_rims
    from pha.gpu.spdm import read_report
    from pha.gpu.verify import verify_gpu_evidence

    nonce = None
    if nonce_hex is not None:
        try:
            nonce = bytes.fromhex(nonce_hex.removeprefix("0x"))
        except ValueError:
            raise click.ClickException("--nonce is not hex") from None
        if len(nonce) != 32:
            raise click.ClickException(f"--nonce must be 32 bytes, got {len(nonce)}")
    if not Path(rim_dir).is_dir():
        raise click.ClickException(f"--rim {rim_dir} is not a directory")
    driver, vbios = pick_rims(Path(rim_dir))
    verdict = verify_gpu_evidence(
        read_report(_read(report_file)),
        load_pem_chain(_read(certs_file), certs_file),
        driver,
        vbios,
        load_pem_chain(_read(root_file), root_file)[0],
        load_pem_chain(_read(rim_root_file), rim_root_file)[0],
        expected_nonce=nonce,
        revoked=None if revoked_file is None else RevocationList.from_json(_read(revoked_file), revoked_file),
        at=None if at_text is None else parse_time(at_text),
        dev_chain_id=dev_chain_id,
        check_rim_measurements=not no_measurements,
    )
    data = verdict.as_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    data["not_checked"] = ", ".join(verdict.not_checked) or "-"
    width = max(map(len, data))
    for key, value in data.items():
        click.echo(f"{key:<{width}}  {'-' if value is None else value}")


@gpu_group.command("nonce")
@click.option("--chain-id", type=int, required=True)
@click.option("--registry", required=True)
@click.option("--worker", required=True, help="The worker's signer address.")
@click.option("--encryption-key", required=True, help="32-byte key (hex).")
@click.option("--pool-id", type=int, required=True)
def nonce_cmd(chain_id: int, registry: str, worker: str, encryption_key: str, pool_id: int) -> None:
    """Print the GPU evidence nonce binding a worker (see pha.gpu.binding)."""
    from pha.gpu.binding import gpu_nonce

    try:
        key = bytes.fromhex(encryption_key.removeprefix("0x"))
        click.echo("0x" + gpu_nonce(chain_id, registry, worker, key, pool_id).hex())
    except ValueError as error:
        raise click.ClickException(str(error).splitlines()[0]) from None
