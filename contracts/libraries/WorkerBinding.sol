// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title WorkerBinding
/// @notice What a worker's quote must commit to in its report_data, so that the quote cannot be
///         replayed on another chain, registry, key or pool. Python: `pha.quote.binding`.
/// @dev report_data[0:32]  = keccak256(abi.encode(BINDING_TYPEHASH, chainId, registry, signer, encryptionKey, poolId))
///      report_data[32:64] = 32 zero bytes.
///      GPU report nonce    = keccak256(abi.encode(GPU_NONCE_TYPEHASH, report_data[0:32])).
library WorkerBinding {
    /// @notice keccak256("PHA.WorkerBinding.v1")
    bytes32 internal constant BINDING_TYPEHASH = keccak256("PHA.WorkerBinding.v1");

    /// @notice The 32-byte binding (report_data[0:32]).
    function binding(uint256 chainId, address registry, address signer, bytes32 encryptionKey, uint256 poolId)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(BINDING_TYPEHASH, chainId, registry, signer, encryptionKey, poolId));
    }

    /// @notice keccak256("PHA.GpuNonce.v1")
    bytes32 internal constant GPU_NONCE_TYPEHASH = keccak256("PHA.GpuNonce.v1");

    /// @notice The SPDM requester nonce a worker's GPU report must carry: a commitment to the same
    ///         binding as its quote's report_data, under its own tag so neither passes for the
    ///         other. Python: `pha.gpu.binding.gpu_nonce`.
    function gpuNonce(bytes32 workerBinding) internal pure returns (bytes32) {
        return keccak256(abi.encode(GPU_NONCE_TYPEHASH, workerBinding));
    }

    /// @notice True when `reportData` is exactly (binding, 32 zero bytes).
    function matches(bytes32[2] memory reportData, bytes32 expected) internal pure returns (bool) {
        return reportData[0] == expected && reportData[1] == bytes32(0);
    }
}
