// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAutomataDcapAttestation} from "./interfaces/IAutomataDcapAttestation.sol";
import {IAutomataQuoteVerifier} from "./interfaces/IAutomataQuoteVerifier.sol";
import {IQuoteVerifier} from "./interfaces/IQuoteVerifier.sol";
import {DstackAppLog} from "./libraries/DstackAppLog.sol";
import {QuoteParser} from "./libraries/QuoteParser.sol";
import {QuoteVerifierBase} from "./QuoteVerifierBase.sol";

/// @title AutomataQuoteVerifier
/// @notice Adapter: verifies a full quote with Automata's deployed DCAP attestation contract
///         (on-chain, or its ZK path) and maps the output to `VerifiedQuote`. The quote is still
///         parsed here; Automata's output must describe exactly this quote's version and body.
/// @dev State-changing: Automata's entry points are not `view` (they emit and may take a fee;
///      we send no value). Automata reports no collateral expiry and no TCB date: the verdict is
///      valid for `VALIDITY` seconds from the call and `tcbDate` is 0.
contract AutomataQuoteVerifier is IAutomataQuoteVerifier, QuoteVerifierBase {
    // ------------------------------------------------------------------ state

    /// @notice Automata's DCAP attestation contract on this chain.
    IAutomataDcapAttestation public immutable AUTOMATA;

    /// @notice Which output layout that deployment produces.
    OutputFormat public immutable OUTPUT_FORMAT;

    /// @notice How long a verdict stays valid.
    uint64 public immutable VALIDITY;

    // ------------------------------------------------------------------ constructor

    /// @param automata The deployed Automata DCAP attestation contract.
    /// @param format Its output layout (V1_0: bytes4 TEE type; V1_1: uint16 body type).
    /// @param validity Seconds a verdict stays valid.
    constructor(IAutomataDcapAttestation automata, OutputFormat format, uint64 validity) {
        if (address(automata) == address(0) || validity == 0) revert AutomataQuoteVerifierBadParameter();
        AUTOMATA = automata;
        OUTPUT_FORMAT = format;
        VALIDITY = validity;
    }

    // ------------------------------------------------------------------ external

    /// @inheritdoc IQuoteVerifier
    function verify(bytes calldata quote, bytes calldata evidence) external returns (VerifiedQuote memory) {
        QuoteParser.Quote memory q = QuoteParser.parse(quote);
        if (!q.hasSignatureData) revert AutomataQuoteVerifierSignatureMissing();

        bytes memory automataEvidence = evidence;
        bytes32 composeHash = bytes32(0); // no app log: no compose hash
        if (DstackAppLog.isAppLog(evidence)) {
            bytes memory digests;
            bytes[] memory preimages;
            (automataEvidence, digests, preimages) = DstackAppLog.decode(evidence);
            composeHash = DstackAppLog.composeHash(quote, q, digests, preimages);
        }

        bool ok;
        bytes memory output;
        if (automataEvidence.length == 0) {
            (ok, output) = AUTOMATA.verifyAndAttestOnChain(quote);
        } else {
            (uint8 zkCoprocessor, bytes memory zkOutput, bytes memory proof) =
                abi.decode(automataEvidence, (uint8, bytes, bytes));
            (ok, output) = AUTOMATA.verifyAndAttestWithZKProof(zkOutput, zkCoprocessor, proof);
        }
        if (!ok) revert AutomataQuoteVerifierRejected(string(output));

        (TcbStatus status, bytes32[] memory advisoryIds) = _decodeOutput(output, quote, q);
        uint64 nowTs = uint64(block.timestamp);
        return _result(quote, q, status, advisoryIds, 0, nowTs, nowTs + VALIDITY, composeHash);
    }

    // ------------------------------------------------------------------ views

    /// @notice Map Automata's TCBStatus (OK, SW_HARDENING, CONFIG_AND_SW_HARDENING, CONFIG,
    ///         OUT_OF_DATE, OUT_OF_DATE_CONFIG, REVOKED, UNRECOGNIZED) to ours.
    function mapStatus(uint8 automataStatus) public pure returns (TcbStatus) {
        if (automataStatus == 0) return TcbStatus.UpToDate;
        if (automataStatus == 1) return TcbStatus.SWHardeningNeeded;
        if (automataStatus == 2) return TcbStatus.ConfigurationAndSWHardeningNeeded;
        if (automataStatus == 3) return TcbStatus.ConfigurationNeeded;
        if (automataStatus == 4) return TcbStatus.OutOfDate;
        if (automataStatus == 5) return TcbStatus.OutOfDateConfigurationNeeded;
        if (automataStatus == 6) return TcbStatus.Revoked;
        revert AutomataQuoteVerifierUnknownStatus(automataStatus);
    }

    // ------------------------------------------------------------------ internal

    /// @dev Check that `output` describes this quote and extract status and advisory ids.
    function _decodeOutput(bytes memory output, bytes calldata quote, QuoteParser.Quote memory q)
        internal
        view
        returns (TcbStatus status, bytes32[] memory advisoryIds)
    {
        // prefix = version(2) + tee(4) | bodyType(2) + status(1) + fmspc(6)
        uint256 statusAt = OUTPUT_FORMAT == OutputFormat.V1_0 ? 6 : 4;
        uint256 prefix = statusAt + 7;
        if (output.length < prefix + q.bodyLength) revert AutomataQuoteVerifierOutputMismatch();
        uint16 version = (uint16(uint8(output[0])) << 8) | uint16(uint8(output[1]));
        bytes32 outputBodyHash;
        uint256 bodyLength = q.bodyLength;
        // keccak256 of output[prefix : prefix + bodyLength]; in bounds by the check above. (Assembly:
        // hashing a range of a memory `bytes` without copying it.)
        // slither-disable-next-line assembly
        assembly ("memory-safe") {
            outputBodyHash := keccak256(add(add(output, 32), prefix), bodyLength)
        }
        if (version != q.version || outputBodyHash != keccak256(quote[q.bodyOffset:q.signedLength])) {
            revert AutomataQuoteVerifierOutputMismatch();
        }
        status = mapStatus(uint8(output[statusAt]));

        uint256 rest = output.length - prefix - bodyLength;
        if (rest == 0) return (status, new bytes32[](0));
        bytes memory tail = new bytes(rest);
        for (uint256 i = 0; i < rest; ++i) {
            tail[i] = output[prefix + bodyLength + i];
        }
        string[] memory ids = abi.decode(tail, (string[]));
        advisoryIds = new bytes32[](ids.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            advisoryIds[i] = keccak256(bytes(ids[i]));
        }
    }
}
