// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IGpuVerifier} from "./IGpuVerifier.sol";
import {IQuoteVerifier} from "./IQuoteVerifier.sol";

/// @title ICommitteeQuoteVerifier
/// @notice M-of-N attesters, each having verified a quote off-chain with dcap-qvl (signature
///         chain, QE identity, TCB status against Intel collateral), sign an EIP-712 `QuoteStatement`
///         over the hash of the quote's header + body. Only those bytes (632 for TDX v4, 432 for
///         SGX v3) and the signatures go on-chain.
/// @dev evidence = abi.encode(Statement statement, bytes signatures), signatures = 65-byte (r, s, v)
///      entries concatenated, ordered by strictly increasing signer address.
interface ICommitteeQuoteVerifier is IQuoteVerifier, IGpuVerifier {
    /// @notice The attested verdict (EIP-712 type `QuoteStatement`, see STATEMENT_TYPEHASH).
    struct Statement {
        bytes32 quoteHash;
        TcbStatus tcbStatus;
        bytes32[] advisoryIds;
        uint64 tcbDate;
        uint64 verifiedAt;
        uint64 expiresAt;
        bytes32 composeHash;
    }

    /// @notice The statement is for other bytes than the quote given.
    error CommitteeQuoteVerifierQuoteHashMismatch(bytes32 expected, bytes32 statementHash);
    /// @notice The statement has expired (or expiresAt <= verifiedAt).
    error CommitteeQuoteVerifierStatementExpired(uint64 expiresAt, uint256 now_);
    /// @notice The statement claims a verification time in the future.
    error CommitteeQuoteVerifierStatementFromFuture(uint64 verifiedAt, uint256 now_);
    /// @notice The statement's lifetime exceeds the governance maximum.
    error CommitteeQuoteVerifierLifetimeTooLong(uint64 lifetime, uint64 maxLifetime);
    /// @notice A compose hash was attested for a non-TDX quote.
    error CommitteeQuoteVerifierComposeHashNotTdx();
    /// @notice The signatures blob is not a whole number of 65-byte signatures.
    error CommitteeQuoteVerifierBadSignaturesLength(uint256 length);
    /// @notice Fewer signatures than the threshold.
    error CommitteeQuoteVerifierBelowThreshold(uint256 signatures, uint256 threshold);
    /// @notice A signature did not recover to an address.
    error CommitteeQuoteVerifierInvalidSignature(uint256 index);
    /// @notice Signers must be strictly increasing (sorted, no duplicates).
    error CommitteeQuoteVerifierSignersNotSorted(address previous, address signer);
    /// @notice A signer is not a current attester.
    error CommitteeQuoteVerifierNotAttester(address signer);
    /// @notice Threshold must satisfy 1 <= threshold <= attester count.
    error CommitteeQuoteVerifierBadThreshold(uint256 threshold, uint256 attesters);
    /// @notice The address is already an attester / is not one / is zero.
    error CommitteeQuoteVerifierBadAttester(address attester);
    /// @notice Maximum statement lifetime outside (0, MAX_LIFETIME_CAP].
    error CommitteeQuoteVerifierBadMaxLifetime(uint64 maxLifetime);

    /// @notice An attester was added by governance.
    event AttesterAdded(address indexed attester);
    /// @notice An attester was removed by governance (its signatures stop counting at once).
    event AttesterRemoved(address indexed attester);
    /// @notice The number of attester signatures required changed.
    event ThresholdChanged(uint256 previous, uint256 threshold);
    /// @notice The maximum statement lifetime changed.
    event MaxStatementLifetimeChanged(uint64 previous, uint64 maxLifetime);

    /// @notice Add an attester (governance). Rotation: add the new one, then remove the old one.
    function addAttester(address attester) external;

    /// @notice Remove an attester (governance); the count may not fall below the threshold.
    function removeAttester(address attester) external;

    /// @notice Set the number of signatures required (governance), 1 <= threshold <= attesters.
    function setThreshold(uint256 threshold) external;

    /// @notice Set the maximum `expiresAt - verifiedAt` accepted (governance).
    function setMaxStatementLifetime(uint64 maxLifetime) external;

    /// @notice The current attesters, in insertion order.
    function attesters() external view returns (address[] memory);

    /// @notice Whether `account` is a current attester.
    function isAttester(address account) external view returns (bool);

    /// @notice The EIP-712 digest attesters sign for `statement`.
    function statementDigest(Statement calldata statement) external view returns (bytes32);

    /// @notice The EIP-712 digest attesters sign for a GPU statement (type GpuStatement).
    function gpuStatementDigest(VerifiedGpu calldata statement) external view returns (bytes32);
}
