// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IGpuVerifier} from "./IGpuVerifier.sol";
import {IQuoteVerifier} from "./IQuoteVerifier.sol";

/// @title IDevQuoteVerifier
/// @notice Accepts simulated quotes (real SGX v3 / TDX v4 / v5 binary layout, QE vendor id
///         "PHA-SIMULATED-QE", signature data = one 65-byte secp256k1 signature by the development
///         key) on local chains only (31337, 1337, the project devnet 20350). There is no opt-in:
///         deployment reverts on any other chain id and so does every `verify` there.
/// @dev The dev key signs EIP-712 `SimulatedQuote(bytes32 quoteHash)` in the domain
///      {name: "PHA Simulated Quote", version: "1"} (no chain id or contract: like a hardware
///      quote, a simulated quote is not tied to a chain; its report_data binding is).
///      evidence: ignored (any bytes), except the app-log form for a simulated dstack app:
///      bytes.concat(DstackAppLog.EVIDENCE_TAG (0x6bee45e8), abi.encode(bytes inner, bytes digests,
///      bytes[] preimages)) with `inner` empty. RTMR3 is then replayed and the compose hash read as
///      the on-chain Automata path does (see `DstackAppLog`); the result carries that `composeHash`
///      and the TDXCompose measurement id.
///      GPU: `verifyGpu` takes a GpuStatement signed by the development key (what `pha.gpu`
///      verified of simulated GPU evidence, labelled as such), also on local chains only.
interface IDevQuoteVerifier is IQuoteVerifier, IGpuVerifier {
    /// @notice This chain is not local (deployment and verification refused).
    error DevQuoteVerifierChainNotAllowed(uint256 chainId);
    /// @notice The quote is not a simulated quote (QE vendor id) or has no 65-byte dev signature.
    error DevQuoteVerifierNotSimulated();
    /// @notice The signature is not the development key's.
    error DevQuoteVerifierBadSignature(address recovered);
    /// @notice App-log evidence with a non-empty `inner` part (this verifier takes none), or a
    ///         simulated GPU statement dated in the future or expired.
    error DevQuoteVerifierBadEvidence();
    /// @notice Zero address or zero validity.
    error DevQuoteVerifierBadParameter();

    /// @notice The development signer changed.
    // Indexing would move the address from data to topics and change how every consumer decodes
    // the event; governance events are rare and read by scanning the contract's logs anyway.
    // slither-disable-next-line unindexed-event-address
    event DevSignerChanged(address previous, address signer);

    /// @notice Replace the development key's address (governance).
    function setDevSigner(address signer) external;

    /// @notice Whether verify works on this chain right now.
    function enabledOnThisChain() external view returns (bool);
}
