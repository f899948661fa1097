"""Building blocks for tests that need the whole stack: enclaves, quotes, verdicts.

Fixtures in tests/conftest.py wrap these; tests of the registry, the escrow and the relayer
share them so that a world is built the same way everywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from pha.quote.binding import report_data
from pha.quote.committee import Statement, encode_evidence, sign_statement
from pha.quote.dev import simulated_tdx_quote
from pha.quote.layout import parse_quote
from pha.quote.measurement import tdx_measurement_id
from pha.quote.tcb import TcbStatus

PHA = 10**18


@dataclass(frozen=True)
class Code:
    """A TDX code identity: the registers a measurement id is computed over."""

    mr_td: bytes
    rt_mr0: bytes
    rt_mr1: bytes
    rt_mr2: bytes

    @classmethod
    def named(cls, name: str) -> Code:
        def reg(i: int) -> bytes:
            return (keccak(f"{name}/{i}".encode()) * 2)[:48]

        return cls(reg(0), reg(1), reg(2), reg(3))

    @property
    def measurement_id(self) -> bytes:
        return tdx_measurement_id(self.mr_td, self.rt_mr0, self.rt_mr1, self.rt_mr2)


@dataclass
class Enclave:
    """A simulated enclave: its signing key and X25519 public key (bytes; only the binding matters here)."""

    code: Code
    signer: LocalAccount = field(default_factory=lambda: Account.create())
    encryption_key: bytes = field(default_factory=lambda: os.urandom(32))

    @property
    def address(self) -> str:
        return self.signer.address

    def quote(self, chain_id: int, registry: str, pool_id: int, debug: bool = False) -> bytes:
        """A simulated TDX v4 quote whose report_data binds this enclave's keys to the pool."""
        data = report_data(chain_id, registry, self.address, self.encryption_key, pool_id)
        return simulated_tdx_quote(
            mr_td=self.code.mr_td,
            rt_mr0=self.code.rt_mr0,
            rt_mr1=self.code.rt_mr1,
            rt_mr2=self.code.rt_mr2,
            report_data=data,
            debug=debug,
        )

    def rotated(self) -> Enclave:
        """The same code with fresh keys (a key rotation)."""
        return Enclave(self.code)


def quote_hash(quote: bytes) -> bytes:
    """keccak256 of the quote's header + body (what verifiers and statements name)."""
    return keccak(parse_quote(quote).signed_part)


def committee_evidence(
    quote: bytes,
    attester_keys: list[LocalAccount],
    chain_id: int,
    verifier: str,
    now: int,
    tcb_status: TcbStatus = TcbStatus.UpToDate,
    advisories: tuple[str, ...] = (),
    tcb_date: int | None = None,
    lifetime: int = 86_400,
) -> bytes:
    """Evidence for CommitteeQuoteVerifier: one statement signed by each given attester."""
    statement = Statement(
        quote_hash=quote_hash(quote),
        tcb_status=tcb_status,
        advisory_ids=list(advisories),
        tcb_date=now - 86_400 if tcb_date is None else tcb_date,
        verified_at=now,
        expires_at=now + lifetime,
    )
    signatures = [(k.address, sign_statement(statement, k.key, chain_id, verifier)) for k in attester_keys]
    return encode_evidence(statement, signatures)


def gpu_statement(
    enclave: Enclave,
    chain_id: int,
    registry: str,
    pool_id: int,
    now: int,
    device: str = "gpu-0",
    lifetime: int = 86_400,
    driver: str = "550.90.07",
    vbios: str = "96.00.9f.00.01",
    nonce: bytes | None = None,
):
    """A GpuStatement for `enclave`'s binding (its nonce), as attesters would sign it."""
    from pha.gpu.binding import gpu_nonce
    from pha.gpu.statement import GpuStatement, driver_version_code, model_bytes, vbios_version_code

    return GpuStatement(
        nonce=nonce or gpu_nonce(chain_id, registry, enclave.address, enclave.encryption_key, pool_id),
        device_id=keccak(f"device {device}".encode()),
        model=model_bytes("GH100 A01 GSP BROM"),
        driver_version=driver_version_code(driver),
        vbios_version=vbios_version_code(vbios),
        verified_at=now,
        expires_at=now + lifetime,
    )


def gpu_committee_evidence(
    statement, attester_keys: list[LocalAccount], chain_id: int, verifier: str
) -> bytes:
    """verifyGpu evidence for CommitteeQuoteVerifier: the statement signed by each given attester."""
    from pha.gpu.statement import committee_evidence, sign_statement

    return committee_evidence(
        statement, [(k.address, sign_statement(statement, k.key, chain_id, verifier)) for k in attester_keys]
    )
