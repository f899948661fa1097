"""Simulated quotes for the development verifier (DevQuoteVerifier) and the enclave-worker simulator.

A simulated quote has the real binary layout (TDX v4 / v5 or SGX v3 header + report body), QE
vendor id b"PHA-SIMULATED-QE", and signature data = one 65-byte secp256k1 signature (r || s || v)
by the development key over EIP-712 `SimulatedQuote(bytes32 quoteHash)`, domain
{name: "PHA Simulated Quote", version: "1"}, quoteHash = keccak256(header + body).

The default development key is public (derived from a fixed string): never trust it anywhere but
local chains. DevQuoteVerifier refuses non-local chains unless governance opts in.
"""

from __future__ import annotations

import struct

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from pha.quote.layout import (
    ATTESTATION_KEY_ECDSA_P256,
    SIMULATED_QE_VENDOR_ID,
    TD10_REPORT_LENGTH,
    TEE_TYPE_SGX,
    TEE_TYPE_TDX,
    V5_BODY_TD10,
)

DEV_PRIVATE_KEY = keccak(b"PHA development quote key: public, for local chains only")
DEV_ADDRESS = Account.from_key(DEV_PRIVATE_KEY).address
ZERO48 = bytes(48)
DEFAULT_XFAM = bytes.fromhex("e702060000000000")
DEFAULT_TD_ATTRIBUTES = bytes.fromhex("0000001000000000")  # SEPT_VE_DISABLE, not DEBUG
DEFAULT_SGX_ATTRIBUTES = bytes.fromhex("0500000000000000e700000000000000")  # INIT | MODE64BIT


def _fixed(name: str, value: bytes, size: int) -> bytes:
    value = bytes(value)
    if len(value) != size:
        raise ValueError(f"{name} must be {size} bytes, got {len(value)}")
    return value


def _header(version: int, tee_type: int) -> bytes:
    return (
        struct.pack("<HHI", version, ATTESTATION_KEY_ECDSA_P256, tee_type)
        + bytes(4)  # QE SVN / PCE SVN (v3) or reserved (v4/v5)
        + SIMULATED_QE_VENDOR_ID
        + bytes(20)  # user data
    )


def build_tdx_body(
    *,
    mr_td: bytes,
    rt_mr0: bytes,
    rt_mr1: bytes,
    rt_mr2: bytes,
    rt_mr3: bytes = ZERO48,
    report_data: bytes,
    debug: bool = False,
    td_attributes: bytes = DEFAULT_TD_ATTRIBUTES,
    xfam: bytes = DEFAULT_XFAM,
    mr_config_id: bytes = ZERO48,
) -> bytes:
    """A TD 1.0 report body (584 bytes)."""
    attrs = bytearray(_fixed("td_attributes", td_attributes, 8))
    attrs[0] = (attrs[0] | 0x01) if debug else (attrs[0] & ~0x01)
    body = (
        bytes(16)  # tee_tcb_svn
        + ZERO48  # mr_seam
        + ZERO48  # mr_signer_seam
        + bytes(8)  # seam_attributes
        + bytes(attrs)
        + _fixed("xfam", xfam, 8)
        + _fixed("mr_td", mr_td, 48)
        + _fixed("mr_config_id", mr_config_id, 48)
        + ZERO48  # mr_owner
        + ZERO48  # mr_owner_config
        + _fixed("rt_mr0", rt_mr0, 48)
        + _fixed("rt_mr1", rt_mr1, 48)
        + _fixed("rt_mr2", rt_mr2, 48)
        + _fixed("rt_mr3", rt_mr3, 48)
        + _fixed("report_data", report_data, 64)
    )
    assert len(body) == TD10_REPORT_LENGTH
    return body


def build_tdx_quote_body(version: int = 4, **fields: object) -> bytes:
    """Header + TD 1.0 body of a simulated TDX quote (v4, or v5 with a TD 1.0 descriptor); unsigned."""
    body = build_tdx_body(**fields)  # type: ignore[arg-type]
    if version == 4:
        return _header(4, TEE_TYPE_TDX) + body
    if version == 5:
        return _header(5, TEE_TYPE_TDX) + struct.pack("<HI", V5_BODY_TD10, len(body)) + body
    raise ValueError("simulated TDX quotes are version 4 or 5")


def build_sgx_quote_body(
    *,
    mr_enclave: bytes,
    mr_signer: bytes,
    isv_prod_id: int,
    isv_svn: int,
    report_data: bytes,
    debug: bool = False,
    attributes: bytes = DEFAULT_SGX_ATTRIBUTES,
) -> bytes:
    """Header + enclave report body of a simulated SGX v3 quote; unsigned."""
    attrs = bytearray(_fixed("attributes", attributes, 16))
    attrs[0] = (attrs[0] | 0x02) if debug else (attrs[0] & ~0x02)
    body = (
        bytes(16)  # cpu_svn
        + bytes(4)  # misc_select
        + bytes(28)
        + bytes(attrs)
        + _fixed("mr_enclave", mr_enclave, 32)
        + bytes(32)
        + _fixed("mr_signer", mr_signer, 32)
        + bytes(96)
        + struct.pack("<HH", isv_prod_id, isv_svn)
        + bytes(60)
        + _fixed("report_data", report_data, 64)
    )
    return _header(3, TEE_TYPE_SGX) + body


def simulated_quote_digest(signed_part: bytes) -> bytes:
    """The EIP-712 digest the development key signs."""
    from eth_account.messages import _hash_eip191_message

    return bytes(_hash_eip191_message(encode_typed_data(full_message=_typed(signed_part))))


def _typed(signed_part: bytes) -> dict:
    return {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"}],
            "SimulatedQuote": [{"name": "quoteHash", "type": "bytes32"}],
        },
        "primaryType": "SimulatedQuote",
        "domain": {"name": "PHA Simulated Quote", "version": "1"},
        "message": {"quoteHash": keccak(signed_part)},
    }


def sign_simulated_quote(signed_part: bytes, private_key: bytes | str = DEV_PRIVATE_KEY) -> bytes:
    """Append the signature section: u32 length 65 || r || s || v."""
    signature = bytes(
        Account.sign_message(encode_typed_data(full_message=_typed(signed_part)), private_key).signature
    )
    return bytes(signed_part) + struct.pack("<I", len(signature)) + signature


def simulated_tdx_quote(
    *,
    mr_td: bytes,
    rt_mr0: bytes,
    rt_mr1: bytes,
    rt_mr2: bytes,
    report_data: bytes,
    rt_mr3: bytes = ZERO48,
    debug: bool = False,
    version: int = 4,
    private_key: bytes | str = DEV_PRIVATE_KEY,
    mr_config_id: bytes = ZERO48,
) -> bytes:
    """A complete simulated TDX quote signed by the development key."""
    part = build_tdx_quote_body(
        version,
        mr_td=mr_td,
        rt_mr0=rt_mr0,
        rt_mr1=rt_mr1,
        rt_mr2=rt_mr2,
        rt_mr3=rt_mr3,
        report_data=report_data,
        debug=debug,
        mr_config_id=mr_config_id,
    )
    return sign_simulated_quote(part, private_key)


def simulated_sgx_quote(
    *,
    mr_enclave: bytes,
    mr_signer: bytes,
    isv_prod_id: int,
    isv_svn: int,
    report_data: bytes,
    debug: bool = False,
    private_key: bytes | str = DEV_PRIVATE_KEY,
) -> bytes:
    """A complete simulated SGX v3 quote signed by the development key."""
    part = build_sgx_quote_body(
        mr_enclave=mr_enclave,
        mr_signer=mr_signer,
        isv_prod_id=isv_prod_id,
        isv_svn=isv_svn,
        report_data=report_data,
        debug=debug,
    )
    return sign_simulated_quote(part, private_key)
