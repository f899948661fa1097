// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title MeasurementId
/// @notice The bytes32 id of an enclave/TD measurement: a hash over the fields that identify the
///         code, not the machine. Computed identically by `pha.quote.measurement` in Python.
/// @dev Preimages (all fields at their exact length, integers big-endian, `||` = concatenation):
///      - SGX:          keccak256(SGX_TAG || MRENCLAVE[32] || MRSIGNER[32] || ISVPRODID[2] || ISVSVN[2])
///      - TDX:          keccak256(TDX_TAG || MRTD[48] || RTMR0[48] || RTMR1[48] || RTMR2[48])
///      - TDX+compose:  keccak256(TDX_COMPOSE_TAG || MRTD[48] || RTMR0[48] || RTMR1[48] || RTMR2[48] || COMPOSE_HASH[32])
///      where each tag is keccak256 of its ASCII name below. Distinct tags keep the three families
///      apart even if lengths ever collided.
library MeasurementId {
    /// @notice keccak256("PHA.MeasurementId.SGX.v1")
    bytes32 internal constant SGX_TAG = keccak256("PHA.MeasurementId.SGX.v1");
    /// @notice keccak256("PHA.MeasurementId.TDX.v1")
    bytes32 internal constant TDX_TAG = keccak256("PHA.MeasurementId.TDX.v1");
    /// @notice keccak256("PHA.MeasurementId.TDXCompose.v1")
    bytes32 internal constant TDX_COMPOSE_TAG = keccak256("PHA.MeasurementId.TDXCompose.v1");

    /// @notice A TDX register (MRTD or RTMRn) did not have 48 bytes.
    error MeasurementIdBadRegisterLength(uint256 length);

    /// @notice The SGX measurement id.
    function sgx(bytes32 mrEnclave, bytes32 mrSigner, uint16 isvProdId, uint16 isvSvn)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(SGX_TAG, mrEnclave, mrSigner, isvProdId, isvSvn));
    }

    /// @notice The TDX measurement id over MRTD and RTMR0..2 (48 bytes each).
    function tdx(bytes memory mrTd, bytes memory rtMr0, bytes memory rtMr1, bytes memory rtMr2)
        internal
        pure
        returns (bytes32)
    {
        _check48(mrTd, rtMr0, rtMr1, rtMr2);
        return keccak256(abi.encodePacked(TDX_TAG, mrTd, rtMr0, rtMr1, rtMr2));
    }

    /// @notice The TDX measurement id that also covers the app's compose hash.
    function tdxWithCompose(
        bytes memory mrTd,
        bytes memory rtMr0,
        bytes memory rtMr1,
        bytes memory rtMr2,
        bytes32 composeHash
    ) internal pure returns (bytes32) {
        _check48(mrTd, rtMr0, rtMr1, rtMr2);
        return keccak256(abi.encodePacked(TDX_COMPOSE_TAG, mrTd, rtMr0, rtMr1, rtMr2, composeHash));
    }

    function _check48(bytes memory a, bytes memory b, bytes memory c, bytes memory d) private pure {
        if (a.length != 48) revert MeasurementIdBadRegisterLength(a.length);
        if (b.length != 48) revert MeasurementIdBadRegisterLength(b.length);
        if (c.length != 48) revert MeasurementIdBadRegisterLength(c.length);
        if (d.length != 48) revert MeasurementIdBadRegisterLength(d.length);
    }
}
