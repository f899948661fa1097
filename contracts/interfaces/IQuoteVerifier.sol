// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IQuoteVerifier
/// @notice A replaceable verifier of Intel DCAP quotes (SGX quote v3, TDX quote v4/v5). The
///         worker registry calls a governance-allow-listed implementation and gets back the fields
///         of the exact quote bytes it submitted, parsed on-chain, plus the TCB verdict.
/// @dev `verify` is declared state-changing so that verifiers which must write or pay (Automata's
///      DCAP attestation contract is `payable` and emits an event) fit the interface; the committee
///      and development verifiers implement it as `view`. Callers must treat the result as valid
///      only while `block.timestamp < expiresAt`, and must check `tcbStatus` and `debug` themselves
///      against their own policy: a verifier reports, it does not decide what is acceptable
///      (except that every verifier refuses DEBUG enclaves/TDs on non-local chains).
interface IQuoteVerifier {
    /// @notice The TEE that produced a quote. `None` is never returned by a successful verify.
    enum TeeType {
        None,
        SGX,
        TDX
    }

    /// @notice Intel's TCB status, ordered from best (0) to worst: a registry that accepts
    ///         statuses up to some bound compares with `<=`. `OutOfDateConfigurationNeeded` is
    ///         Intel's combined status; it sorts after `OutOfDate`.
    enum TcbStatus {
        UpToDate,
        SWHardeningNeeded,
        ConfigurationNeeded,
        ConfigurationAndSWHardeningNeeded,
        OutOfDate,
        OutOfDateConfigurationNeeded,
        Revoked
    }

    /// @notice What a verifier vouches for about one quote.
    /// @param teeType SGX or TDX.
    /// @param quoteVersion 3 (SGX), 4 or 5 (TDX).
    /// @param measurementId See `MeasurementId` (compose variant when `composeHash != 0`).
    /// @param quoteHash keccak256 of the quote's signed part: header (+ v5 body descriptor) + body.
    /// @param reportData The 64 report_data bytes: [0] = bytes 0..31, [1] = bytes 32..63.
    /// @param attributes SGX: ATTRIBUTES (flags || xfrm); TDX: TDATTRIBUTES || XFAM (raw bytes).
    /// @param debug The DEBUG attribute bit (SGX flags bit 1, TDX TDATTRIBUTES bit 0).
    /// @param tcbStatus The platform's (and QE's, converged) TCB status.
    /// @param advisoryIds keccak256 of each Intel advisory id string, e.g. keccak256("INTEL-SA-00615").
    /// @param tcbDate Unix time of the `tcbDate` of the matched TCB level (Intel's publication date
    ///        of that level), 0 if the verifier does not know it.
    /// @param verifiedAt Unix time at which the verdict was reached.
    /// @param expiresAt Unix time after which the verdict must not be used.
    /// @param composeHash The app's compose hash when the verifier attests one (dstack RTMR3), else 0.
    struct VerifiedQuote {
        TeeType teeType;
        uint16 quoteVersion;
        bytes32 measurementId;
        bytes32 quoteHash;
        bytes32[2] reportData;
        bytes16 attributes;
        bool debug;
        TcbStatus tcbStatus;
        bytes32[] advisoryIds;
        uint64 tcbDate;
        uint64 verifiedAt;
        uint64 expiresAt;
        bytes32 composeHash;
    }

    /// @notice The quote has the DEBUG attribute set and this is not a local chain.
    error QuoteVerifierDebugRefused(uint256 chainId);

    /// @notice Verify `quote` with verifier-specific `evidence` and return its verified fields.
    /// @dev Reverts (with the parser's or the verifier's custom errors) unless the quote is valid.
    /// @param quote The quote bytes (full quote, or header + body where the verifier allows it).
    /// @param evidence Verifier-specific proof (committee statement and signatures, ZK proof, ...).
    /// @return result The verified fields.
    function verify(bytes calldata quote, bytes calldata evidence) external returns (VerifiedQuote memory result);
}
