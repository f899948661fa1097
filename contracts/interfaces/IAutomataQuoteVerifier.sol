// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IQuoteVerifier} from "./IQuoteVerifier.sol";

/// @title IAutomataQuoteVerifier
/// @notice Adapter from Automata's on-chain DCAP verifier to `IQuoteVerifier`.
/// @dev evidence: empty for full on-chain verification, or abi.encode(uint8 zkCoprocessor,
///      bytes output, bytes proof) for Automata's ZK path (the output must describe this quote).
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
