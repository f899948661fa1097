"""Measurement ids, computed exactly as contracts/libraries/MeasurementId.sol does.

    SGX:         keccak256(SGX_TAG || MRENCLAVE[32] || MRSIGNER[32] || ISVPRODID u16 BE || ISVSVN u16 BE)
    TDX:         keccak256(TDX_TAG || MRTD[48] || RTMR0[48] || RTMR1[48] || RTMR2[48])
    TDX+compose: keccak256(TDX_COMPOSE_TAG || MRTD || RTMR0 || RTMR1 || RTMR2 || COMPOSE_HASH[32])

Each tag is keccak256 of its ASCII name ("PHA.MeasurementId.SGX.v1", ...).
"""

from __future__ import annotations

from eth_utils import keccak

SGX_TAG = keccak(b"PHA.MeasurementId.SGX.v1")
TDX_TAG = keccak(b"PHA.MeasurementId.TDX.v1")
TDX_COMPOSE_TAG = keccak(b"PHA.MeasurementId.TDXCompose.v1")


def _exact(name: str, value: bytes, size: int) -> bytes:
    value = bytes(value)
    if len(value) != size:
        raise ValueError(f"{name} must be exactly {size} bytes, got {len(value)}")
    return value


def sgx_measurement_id(mr_enclave: bytes, mr_signer: bytes, isv_prod_id: int, isv_svn: int) -> bytes:
    """The SGX measurement id (32 bytes)."""
    for name, value in (("isv_prod_id", isv_prod_id), ("isv_svn", isv_svn)):
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"{name} must fit in 16 bits")
    return keccak(
        SGX_TAG
        + _exact("mr_enclave", mr_enclave, 32)
        + _exact("mr_signer", mr_signer, 32)
        + isv_prod_id.to_bytes(2, "big")
        + isv_svn.to_bytes(2, "big")
    )


def tdx_measurement_id(
    mr_td: bytes, rt_mr0: bytes, rt_mr1: bytes, rt_mr2: bytes, compose_hash: bytes | None = None
) -> bytes:
    """The TDX measurement id (32 bytes); with a non-zero compose hash, the compose variant."""
    regs = b"".join(
        _exact(n, v, 48)
        for n, v in (("mr_td", mr_td), ("rt_mr0", rt_mr0), ("rt_mr1", rt_mr1), ("rt_mr2", rt_mr2))
    )
    if compose_hash is None or bytes(compose_hash) == bytes(32):
        return keccak(TDX_TAG + regs)
    return keccak(TDX_COMPOSE_TAG + regs + _exact("compose_hash", compose_hash, 32))


def measurement_id(
    tee: str,
    *,
    mr_enclave: bytes | None = None,
    mr_signer: bytes | None = None,
    isv_prod_id: int = 0,
    isv_svn: int = 0,
    mr_td: bytes | None = None,
    rt_mr0: bytes | None = None,
    rt_mr1: bytes | None = None,
    rt_mr2: bytes | None = None,
    compose_hash: bytes | None = None,
) -> bytes:
    """Measurement id by TEE name ("sgx" or "tdx") and its fields."""
    if tee.lower() == "sgx":
        if mr_enclave is None or mr_signer is None:
            raise ValueError("SGX needs mr_enclave and mr_signer")
        return sgx_measurement_id(mr_enclave, mr_signer, isv_prod_id, isv_svn)
    if tee.lower() == "tdx":
        if mr_td is None or rt_mr0 is None or rt_mr1 is None or rt_mr2 is None:
            raise ValueError("TDX needs mr_td and rt_mr0..rt_mr2")
        return tdx_measurement_id(mr_td, rt_mr0, rt_mr1, rt_mr2, compose_hash)
    raise ValueError(f"unknown TEE type {tee!r} (sgx or tdx)")
