// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IQuoteVerifier} from "./IQuoteVerifier.sol";

/// @title IAutomataQuoteVerifier
/// @notice Adapter from Automata's on-chain DCAP verifier to `IQuoteVerifier`.
/// @dev evidence, one of:
///      - empty: full on-chain verification by Automata;
///      - abi.encode(uint8 zkCoprocessor, bytes output, bytes proof): Automata's ZK path (the
///        output must describe this quote);
///      - app-log form, for a dstack app: bytes.concat(DstackAppLog.EVIDENCE_TAG (0x6bee45e8),
///        abi.encode(bytes inner, bytes digests, bytes[] preimages)), `inner` being one of the two
///        forms above. RTMR3 is replayed from `digests` and the compose hash read from the
///        compose-hash event (see `DstackAppLog`); the result then has that `composeHash` and the
///        TDXCompose measurement id. Its refusals are DstackAppLog's errors.
interface IAutomataQuoteVerifier is IQuoteVerifier {
    /// @notice Automata's output layout (differs between its releases).
    enum OutputFormat {
        V1_0,
        V1_1
    }

    /// @notice Automata refused the quote; `reason` is its UTF-8 message.
    error AutomataQuoteVerifierRejected(string reason);
    /// @notice The quote has no signature section (Automata needs the full quote).
    error AutomataQuoteVerifierSignatureMissing();
    /// @notice Automata's output does not describe this quote (version or body differs, or too short).
    error AutomataQuoteVerifierOutputMismatch();
    /// @notice Automata reported a status we do not know (TCB_UNRECOGNIZED or newer).
    error AutomataQuoteVerifierUnknownStatus(uint8 status);
    /// @notice Zero address or zero validity in the constructor.
    error AutomataQuoteVerifierBadParameter();
}
