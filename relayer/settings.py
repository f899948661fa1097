"""Relayer configuration: a TOML or JSON file, overridden by PHA_RELAYER_* environment variables.

The private key is read from the environment only (`PHA_RELAYER_PRIVATE_KEY`): a file holding it
is refused, so that keys never end up in config repositories. Contract addresses come from a
deployment manifest (`manifest`) or are given directly (`escrow`, `registry`).
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "PHA_RELAYER_"


class SettingsError(ValueError):
    """The configuration is unreadable or invalid (one line for the operator)."""


class WatchTarget(BaseModel):
    """A worker the operator watch follows: its registered address, its URL (needed to renew), or both."""

    model_config = {"extra": "forbid"}

    url: str | None = None
    address: str | None = None
    """The registered signing address (default: what the worker's /attestation says)."""
    renew: bool = False
    """Renew its attestation before it ends (needs PHA_RELAYER_OPERATOR_KEY and `url`)."""
    collateral: str | None = None
    """The DCAP collateral JSON its renewals are verified with (e.g. refreshed daily from a PCCS):
    the watch warns before its oldest part passes the attesters' maximum age (7 days)."""

    @model_validator(mode="after")
    def _known(self) -> WatchTarget:
        if self.url is None and self.address is None:
            raise ValueError("a watched worker needs `url` or `address`")
        if self.renew and self.url is None:
            raise ValueError("renew needs the worker's `url` (its fresh quote)")
        if self.address is not None:
            from eth_utils import is_address, to_checksum_address

            if not is_address(self.address):
                raise ValueError(f"not an address: {self.address!r}")
            self.address = to_checksum_address(self.address)
        return self


class RelayerSettings(BaseSettings):
    """Everything the relayer needs; env var = PHA_RELAYER_<FIELD NAME IN CAPITALS> (lists as JSON)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    # --- chain
    rpc_urls: list[str] = Field(min_length=1)
    """JSON-RPC endpoints, tried in order; the next one is used while one fails."""
    chain_id: int | None = None
    """Expected chain id (checked at start); None: whatever the RPC says."""
    private_key: SecretStr | None = None
    """The relayer's key: from PHA_RELAYER_PRIVATE_KEY only."""
    manifest: Path | None = None
    escrow: str | None = None
    registry: str | None = None
    start_block: int | None = None
    """First block to scan when there is no checkpoint (default: the manifest's deploy block, else 0)."""
    confirmations: int = Field(2, ge=0)
    poll_interval: float = Field(0.5, gt=0)
    log_chunk: int = Field(2_000, ge=1)
    rpc_timeout: float = Field(10.0, gt=0)

    # --- workers
    workers: list[str] = Field(default_factory=list)
    worker_timeout: float = Field(15.0, gt=0)
    worker_concurrency: int = Field(32, ge=1)
    """In-flight jobs per worker."""
    dispatch_batch: int = Field(50, ge=1, le=1_000)
    """Jobs per POST /jobs/batch request (one worker; a worker without it gets one /jobs each)."""
    max_attempts: int = Field(3, ge=1)
    """Workers tried per job before it is left to expire."""
    quarantine_s: float = Field(30.0, ge=0)
    """A worker that timed out or returned a bad result gets no jobs for this long."""
    eligibility_ttl_s: float = Field(30.0, ge=0)

    # --- settlement
    batch_size: int = Field(50, ge=1, le=500)
    """B: a batch is sent as soon as B results of one worker are ready..."""
    batch_wait: float = Field(2.0, ge=0)
    """T: ...or when the oldest ready result has waited this long (seconds)."""
    min_time_left_s: int = Field(10, ge=0)
    """Do not start a job whose deadline is closer than this (it would not settle in time)."""
    expire_jobs: bool = True
    """Call expire() for jobs past their deadline that nobody ended (refund the client)."""
    gas_margin_pct: int = Field(25, ge=0)
    priority_fee_wei: int = Field(1_000_000, ge=0)
    max_fee_cap_wei: int = Field(200 * 10**9, ge=1)
    """Never pay more than this per gas, even when replacing a stuck transaction."""
    base_fee_multiplier: float = Field(2.0, ge=1.0)
    fee_bump_pct: int = Field(20, ge=10)
    """Replacement fee increase (nodes require at least 10%)."""
    race_jitter_s: float = Field(0.3, ge=0)
    """Random delay (up to this) before a flush or batch that other relayers may race for."""
    stuck_after_s: float = Field(20.0, gt=0)
    """A sent transaction with no receipt after this long is replaced with higher fees."""
    max_pending_txs: int = Field(8, ge=1)

    # --- pool ledgers (single settlements; docs/relayer.md "Pool ledgers")
    flush_interval_s: float = Field(60.0, ge=0)
    """Longest a pool ledger our single settlements entered may stay unpaid (chain seconds from the
    first such settlement) before we send flushPoolRewards; 0: the service never flushes."""
    flush_min_reward_wei: int = Field(0, ge=0)
    """Flush a pool earlier once its owed reward reaches this (0: by time only)."""
    balance_interval_s: float = Field(60.0, gt=0)
    """How often the relayer key's balance is read (pha_relayer_balance_wei)."""
    min_balance_wei: int = Field(10**16, ge=0)
    """Below this balance a warning is logged at every balance check (fund the key)."""

    # --- operator watch (relayer/watch.py; docs/relayer.md "Operator watch")
    watch_workers: list[WatchTarget] | None = None
    """Workers to watch; None: the relayer's `workers` (no renewal); []: no watch in `run`."""
    watch_interval_s: float = Field(60.0, ge=0)
    """Watch cadence inside `pha-relayer run` (0: off)."""
    watch_expiry_warn_hours: float = Field(24.0, ge=0)
    watch_grace_warn_hours: float = Field(168.0, ge=0)
    watch_renew_before_hours: float = Field(12.0, ge=0)
    watch_renew_retry_s: float = Field(600.0, ge=0)
    watch_verifier: str = "dev"
    """Verifier for renewals: dev, committee, automata (from the manifest) or an address."""
    watch_attester_urls: list[str] = Field(default_factory=list)
    operator_key: SecretStr | None = None
    """The pool operator's key, for renewals: from PHA_RELAYER_OPERATOR_KEY only."""

    # --- process
    db_path: Path = Path("relayer.db")
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(9400, ge=0, le=65535)
    """/health and /metrics; None disables the server, 0 picks a free port."""
    log_level: str = "INFO"
    log_json: bool = False

    @field_validator("escrow", "registry")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from eth_utils import is_address, to_checksum_address

        if not is_address(value):
            raise ValueError(f"not an address: {value!r}")
        return to_checksum_address(value)

    @model_validator(mode="after")
    def _addresses_known(self) -> RelayerSettings:
        if self.manifest is None and (self.escrow is None or self.registry is None):
            raise ValueError("give `manifest`, or both `escrow` and `registry`")
        return self

    @field_validator("private_key", "operator_key")
    @classmethod
    def _is_key(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        """A private key is 32 bytes of hex: refuse anything else here, by name (never echoing it)."""
        if value is None:
            return None
        text = value.get_secret_value().strip().removeprefix("0x")
        if len(text) != 64 or any(c not in "0123456789abcdefABCDEF" for c in text):
            name = f"{ENV_PREFIX}{str(info.field_name).upper()}"
            raise ValueError(f"{name} is not a private key (32 bytes as 64 hex digits, 0x optional)")
        return value

    def key(self) -> str:
        if self.private_key is None:
            raise SettingsError(
                f"set {ENV_PREFIX}PRIVATE_KEY (the relayer's key is read from the environment only)"
            )
        return self.private_key.get_secret_value()

    def resolved_addresses(self) -> tuple[str, str, int]:
        """(escrow, registry, first block to scan) from the settings, else from the manifest."""
        escrow, registry, start = self.escrow, self.registry, self.start_block
        if self.manifest is not None and (escrow is None or registry is None or start is None):
            from pha.manifest import ManifestError, load_manifest

            try:
                manifest = load_manifest(self.manifest)
                escrow = escrow or manifest.address("JobEscrow")
                registry = registry or manifest.address("WorkerRegistry")
            except (ManifestError, OSError) as error:
                raise SettingsError(f"manifest {self.manifest}: {error}") from None
            if start is None:
                start = manifest.contracts["JobEscrow"].block
        assert escrow is not None and registry is not None
        return escrow, registry, start or 0


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings in a TOML (`.toml`) or JSON file; a `[relayer]` table is accepted in TOML."""
    try:
        text = path.read_text()
    except OSError as error:
        raise SettingsError(f"cannot read {path}: {error.strerror}") from None
    try:
        data = tomllib.loads(text) if path.suffix != ".json" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise SettingsError(f"{path}: {error}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a table of settings")
    data = data.get("relayer", data)
    for secret in ("private_key", "operator_key"):
        if secret in data:
            raise SettingsError(f"{path}: {secret} is not read from files; set {ENV_PREFIX}{secret.upper()}")
    return data


def load_settings(path: Path | None = None, **overrides: Any) -> RelayerSettings:
    """File values, then environment variables over them, then `overrides` over both."""
    values = read_config_file(path) if path is not None else {}
    # pydantic-settings ranks init values above the environment: drop file values the
    # environment sets, so that the environment wins over the file.
    values = {k: v for k, v in values.items() if f"{ENV_PREFIX}{k.upper()}" not in os.environ}
    if path is not None:
        base = path.resolve().parent
        for name in ("db_path", "manifest"):
            if name in values and not Path(values[name]).is_absolute():
                values[name] = str(base / values[name])
        for target in values.get("watch_workers") or []:
            if isinstance(target, dict) and isinstance(target.get("collateral"), str):
                target["collateral"] = str(base / target["collateral"])
    values.update(overrides)
    try:
        return RelayerSettings(**values)
    except ValueError as error:  # pydantic.ValidationError is a ValueError
        raise SettingsError(_one_line(error)) from None


def _one_line(error: ValueError) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        parts = []
        for e in errors():
            where = ".".join(str(x) for x in e.get("loc", ())) or "settings"
            parts.append(f"{where}: {str(e.get('msg')).removeprefix('Value error, ')}")
        return "invalid settings: " + "; ".join(parts)
    return str(error)
