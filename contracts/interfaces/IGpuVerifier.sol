// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IGpuVerifier
/// @notice A verifier of NVIDIA confidential-GPU evidence (SPDM measurement report, device
///         certificate chain, driver/VBIOS RIMs: checked off-chain by `pha.gpu`). The worker
///         registry calls the same allow-listed verifier that admitted the worker's CPU quote and
///         gets back what that verifier vouches for about one GPU report.
/// @dev `verifyGpu` is `view` in both implementations (committee, development); callers must
///      treat the result as valid only while `block.timestamp < expiresAt` and must check the
///      nonce against the worker's binding themselves (`WorkerRegistry` does).
interface IGpuVerifier {
    /// @notice What a verifier vouches for about one GPU report (also the committee's EIP-712
    ///         `GpuStatement`, field for field).
    /// @param nonce The report's SPDM requester nonce (the registry requires
    ///        keccak256(abi.encode(keccak256("PHA.GpuNonce.v1"), workerBinding))).
    /// @param deviceId keccak256 of the device identity certificate's public key (stable across
    ///        firmware updates): one GPU.
    /// @param model The device identity certificate's common name, ASCII, zero-padded to 32 bytes.
    /// @param driverVersion The report's driver version as major * 10^6 + minor * 10^3 + patch
    ///        (550.90.07 -> 550090007).
    /// @param vbiosVersion The report's five VBIOS version bytes, big-endian (96.00.9f.00.01 ->
    ///        0x96009f0001).
    /// @param verifiedAt Unix time at which the evidence was verified (the report has no time of its own).
    /// @param expiresAt Unix time after which the verdict must not be used.
    struct VerifiedGpu {
        bytes32 nonce;
        bytes32 deviceId;
        bytes32 model;
        uint32 driverVersion;
        uint64 vbiosVersion;
        uint64 verifiedAt;
        uint64 expiresAt;
    }

    /// @notice Verify GPU evidence (verifier-specific encoding) and return what it vouches for.
    function verifyGpu(bytes calldata gpuEvidence) external view returns (VerifiedGpu memory);
}
