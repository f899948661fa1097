// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {ICommitteeQuoteVerifier} from "./interfaces/ICommitteeQuoteVerifier.sol";
import {IGpuVerifier} from "./interfaces/IGpuVerifier.sol";
import {IQuoteVerifier} from "./interfaces/IQuoteVerifier.sol";
import {QuoteParser} from "./libraries/QuoteParser.sol";
import {QuoteVerifierBase} from "./QuoteVerifierBase.sol";

/// @title CommitteeQuoteVerifier
/// @notice M-of-N attesters vouch (EIP-712) for dcap-qvl's verdict on a quote; the quote's header
///         and body are parsed here, so the measurement and report_data come from the exact bytes.
///         The same committee vouches for NVIDIA GPU evidence it verified with `pha.gpu`
///         (`verifyGpu`, EIP-712 type GpuStatement in the same domain).
/// @dev `verify` is `view`: a statement is a fact about bytes, bound by EIP-712 to this chain and
///      this contract, so re-using it for the same quote is harmless and needs no replay storage.
///      Invariants: 1 <= threshold <= attester count; a removed attester's signatures stop counting
///      immediately; a statement is accepted only with verifiedAt <= now < expiresAt and
///      expiresAt - verifiedAt <= maxStatementLifetime.
contract CommitteeQuoteVerifier is ICommitteeQuoteVerifier, QuoteVerifierBase, EIP712, Ownable2Step {
    using EnumerableSet for EnumerableSet.AddressSet;

    // ------------------------------------------------------------------ state

    /// @notice EIP-712 type of what attesters sign.
    bytes32 public constant STATEMENT_TYPEHASH = keccak256(
        "QuoteStatement(bytes32 quoteHash,uint8 tcbStatus,bytes32[] advisoryIds,uint64 tcbDate,uint64 verifiedAt,uint64 expiresAt,bytes32 composeHash)"
    );

    /// @notice EIP-712 type of what attesters sign about one GPU report (IGpuVerifier.VerifiedGpu).
    bytes32 public constant GPU_STATEMENT_TYPEHASH = keccak256(
        "GpuStatement(bytes32 nonce,bytes32 deviceId,bytes32 model,uint32 driverVersion,uint64 vbiosVersion,uint64 verifiedAt,uint64 expiresAt)"
    );

    /// @notice Hard bound on the statement lifetime governance may allow.
    uint64 public constant MAX_LIFETIME_CAP = 90 days;

    /// @notice Clock skew tolerated between an attester and the chain.
    uint64 public constant MAX_CLOCK_SKEW = 5 minutes;

    EnumerableSet.AddressSet private _attesters;

    /// @notice Signatures required.
    uint256 public threshold;

    /// @notice Longest `expiresAt - verifiedAt` accepted.
    uint64 public maxStatementLifetime;

    // ------------------------------------------------------------------ constructor

    /// @param governance Owner (timelock / multisig; the deployer on a local chain).
    /// @param initialAttesters The first attesters (non-zero, distinct).
    /// @param initialThreshold 1 <= threshold <= initialAttesters.length.
    /// @param maxLifetime Longest statement lifetime, in seconds, at most MAX_LIFETIME_CAP.
    constructor(address governance, address[] memory initialAttesters, uint256 initialThreshold, uint64 maxLifetime)
        EIP712("PHA CommitteeQuoteVerifier", "1")
        Ownable(governance)
    {
        for (uint256 i = 0; i < initialAttesters.length; ++i) {
            _addAttester(initialAttesters[i]);
        }
        _setThreshold(initialThreshold);
        _setMaxStatementLifetime(maxLifetime);
    }

    // ------------------------------------------------------------------ external

    /// @inheritdoc IQuoteVerifier
    /// @dev Accepts the full quote or exactly its signed part; only the signed part is hashed.
    function verify(bytes calldata quote, bytes calldata evidence) external view returns (VerifiedQuote memory) {
        QuoteParser.Quote memory q = QuoteParser.parse(quote);
        (Statement memory s, bytes memory signatures) = abi.decode(evidence, (Statement, bytes));

        bytes32 quoteHash = keccak256(quote[:q.signedLength]);
        if (s.quoteHash != quoteHash) revert CommitteeQuoteVerifierQuoteHashMismatch(quoteHash, s.quoteHash);
        _checkTimes(s.verifiedAt, s.expiresAt);
        if (s.composeHash != bytes32(0) && q.teeType != TeeType.TDX) revert CommitteeQuoteVerifierComposeHashNotTdx();

        _checkSignatures(_statementDigest(s), signatures);
        return _result(quote, q, s.tcbStatus, s.advisoryIds, s.tcbDate, s.verifiedAt, s.expiresAt, s.composeHash);
    }

    /// @inheritdoc IGpuVerifier
    /// @dev gpuEvidence = abi.encode(VerifiedGpu statement, bytes signatures), signatures as for
    ///      `verify` (the same attesters and threshold, the same EIP-712 domain, type GpuStatement).
    function verifyGpu(bytes calldata gpuEvidence) external view returns (VerifiedGpu memory s) {
        bytes memory signatures;
        (s, signatures) = abi.decode(gpuEvidence, (VerifiedGpu, bytes));
        _checkTimes(s.verifiedAt, s.expiresAt);
        _checkSignatures(_gpuStatementDigest(s), signatures);
    }

    // ------------------------------------------------------------------ restricted

    /// @inheritdoc ICommitteeQuoteVerifier
    function addAttester(address attester) external onlyOwner {
        _addAttester(attester);
    }

    /// @inheritdoc ICommitteeQuoteVerifier
    function removeAttester(address attester) external onlyOwner {
        if (!_attesters.remove(attester)) revert CommitteeQuoteVerifierBadAttester(attester);
        if (_attesters.length() < threshold) revert CommitteeQuoteVerifierBadThreshold(threshold, _attesters.length());
        emit AttesterRemoved(attester);
    }

    /// @inheritdoc ICommitteeQuoteVerifier
    function setThreshold(uint256 newThreshold) external onlyOwner {
        _setThreshold(newThreshold);
    }

    /// @inheritdoc ICommitteeQuoteVerifier
    function setMaxStatementLifetime(uint64 maxLifetime) external onlyOwner {
        _setMaxStatementLifetime(maxLifetime);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ICommitteeQuoteVerifier
    function attesters() external view returns (address[] memory) {
        return _attesters.values();
    }

    /// @inheritdoc ICommitteeQuoteVerifier
    function isAttester(address account) external view returns (bool) {
        return _attesters.contains(account);
    }

    /// @inheritdoc ICommitteeQuoteVerifier
    function statementDigest(Statement calldata statement) external view returns (bytes32) {
        return _statementDigest(statement);
    }

    /// @inheritdoc ICommitteeQuoteVerifier
    function gpuStatementDigest(VerifiedGpu calldata statement) external view returns (bytes32) {
        return _gpuStatementDigest(statement);
    }

    // ------------------------------------------------------------------ internal

    /// @dev A statement is usable with verifiedAt <= now + skew, now < expiresAt, verifiedAt <
    ///      expiresAt and a lifetime within the governance maximum.
    function _checkTimes(uint64 verifiedAt, uint64 expiresAt) internal view {
        if (verifiedAt > block.timestamp + MAX_CLOCK_SKEW) {
            revert CommitteeQuoteVerifierStatementFromFuture(verifiedAt, block.timestamp);
        }
        if (expiresAt <= block.timestamp || expiresAt <= verifiedAt) {
            revert CommitteeQuoteVerifierStatementExpired(expiresAt, block.timestamp);
        }
        if (expiresAt - verifiedAt > maxStatementLifetime) {
            revert CommitteeQuoteVerifierLifetimeTooLong(expiresAt - verifiedAt, maxStatementLifetime);
        }
    }

    function _gpuStatementDigest(VerifiedGpu memory s) internal view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    GPU_STATEMENT_TYPEHASH,
                    s.nonce,
                    s.deviceId,
                    s.model,
                    s.driverVersion,
                    s.vbiosVersion,
                    s.verifiedAt,
                    s.expiresAt
                )
            )
        );
    }

    function _statementDigest(Statement memory s) internal view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    STATEMENT_TYPEHASH,
                    s.quoteHash,
                    uint8(s.tcbStatus),
                    keccak256(abi.encodePacked(s.advisoryIds)),
                    s.tcbDate,
                    s.verifiedAt,
                    s.expiresAt,
                    s.composeHash
                )
            )
        );
    }

    /// @dev Every signature must be a current attester's, signers strictly increasing.
    function _checkSignatures(bytes32 digest, bytes memory signatures) internal view {
        if (signatures.length % 65 != 0) revert CommitteeQuoteVerifierBadSignaturesLength(signatures.length);
        uint256 count = signatures.length / 65;
        if (count < threshold) revert CommitteeQuoteVerifierBelowThreshold(count, threshold);
        address previous = address(0);
        for (uint256 i = 0; i < count; ++i) {
            bytes32 r;
            bytes32 s;
            uint8 v;
            // Read the i-th 65-byte (r, s, v) entry; offsets stay inside `signatures` since
            // (i + 1) * 65 <= signatures.length. (Assembly: Solidity cannot slice a memory `bytes`.)
            // slither-disable-next-line assembly
            assembly ("memory-safe") {
                let p := add(add(signatures, 32), mul(i, 65))
                r := mload(p)
                s := mload(add(p, 32))
                v := byte(0, mload(add(p, 64)))
            }
            // The third value (the error's argument) only details a failure rejected just below.
            // slither-disable-next-line unused-return
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, v, r, s);
            if (err != ECDSA.RecoverError.NoError) revert CommitteeQuoteVerifierInvalidSignature(i);
            if (signer <= previous) revert CommitteeQuoteVerifierSignersNotSorted(previous, signer);
            if (!_attesters.contains(signer)) revert CommitteeQuoteVerifierNotAttester(signer);
            previous = signer;
        }
    }

    function _addAttester(address attester) internal {
        if (attester == address(0) || !_attesters.add(attester)) revert CommitteeQuoteVerifierBadAttester(attester);
        emit AttesterAdded(attester);
    }

    function _setThreshold(uint256 newThreshold) internal {
        if (newThreshold == 0 || newThreshold > _attesters.length()) {
            revert CommitteeQuoteVerifierBadThreshold(newThreshold, _attesters.length());
        }
        emit ThresholdChanged(threshold, newThreshold);
        threshold = newThreshold;
    }

    function _setMaxStatementLifetime(uint64 maxLifetime) internal {
        if (maxLifetime == 0 || maxLifetime > MAX_LIFETIME_CAP) revert CommitteeQuoteVerifierBadMaxLifetime(maxLifetime);
        emit MaxStatementLifetimeChanged(maxStatementLifetime, maxLifetime);
        maxStatementLifetime = maxLifetime;
    }
}
