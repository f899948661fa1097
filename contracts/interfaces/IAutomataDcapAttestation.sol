// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IAutomataDcapAttestation
/// @notice The entry points of Automata's deployed DCAP attestation contract that we call
///         (automata-network/automata-dcap-attestation, `AutomataDcapAttestationFee`). Both are
///         `payable` there (an optional fee); we call them without value.
/// @dev On success `output` is Automata's serialized Output:
///      v1.0: quoteVersion u16 BE || tee bytes4 || tcbStatus u8 || fmspc bytes6 || quoteBody || abi.encode(string[] advisoryIDs)?
///      v1.1: quoteVersion u16 BE || quoteBodyType u16 BE || tcbStatus u8 || fmspc bytes6 || quoteBody || abi.encode(string[])?
///      (the advisory part is absent when there are none). On failure `output` is a UTF-8 reason.
interface IAutomataDcapAttestation {
    /// @notice Full on-chain verification of a raw quote (≈ 4–5M gas).
    function verifyAndAttestOnChain(bytes calldata rawQuote) external returns (bool success, bytes memory output);

    /// @notice Verification of a ZK proof of the off-chain verification (≈ 0.5M gas).
    function verifyAndAttestWithZKProof(bytes calldata output, uint8 zkCoprocessor, bytes calldata proofBytes)
        external
        returns (bool success, bytes memory verifiedOutput);
}
