// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {IDevQuoteVerifier} from "./interfaces/IDevQuoteVerifier.sol";
import {IGpuVerifier} from "./interfaces/IGpuVerifier.sol";
import {IQuoteVerifier} from "./interfaces/IQuoteVerifier.sol";
import {DstackAppLog} from "./libraries/DstackAppLog.sol";
import {QuoteParser} from "./libraries/QuoteParser.sol";
import {QuoteVerifierBase} from "./QuoteVerifierBase.sol";

/// @title DevQuoteVerifier
/// @notice Development verifier: accepts simulated quotes (same binary layout as real ones) signed
///         by a development key whose private key is public (in the repository). Works on the
///         local chain ids only (31337, 1337 and the project devnet 20350: `_isLocalChain`), and
///         there is no opt-in: it cannot be deployed on any other chain id, and `verify` checks the
///         chain id again on every call, so a fork or a chain-id change cannot enable it either.
/// @dev `verify` is `view`. Verdict: UpToDate, no advisories, valid for `VALIDITY` seconds.
contract DevQuoteVerifier is IDevQuoteVerifier, QuoteVerifierBase, Ownable2Step {
    // ------------------------------------------------------------------ state

    /// @notice QE vendor id that marks a simulated quote ("PHA-SIMULATED-QE").
    bytes16 public constant SIMULATED_QE_VENDOR_ID = bytes16("PHA-SIMULATED-QE");

    /// @notice EIP-712 type signed by the development key.
    bytes32 public constant SIMULATED_QUOTE_TYPEHASH = keccak256("SimulatedQuote(bytes32 quoteHash)");

    /// @notice EIP-712 domain separator {name: "PHA Simulated Quote", version: "1"}.
    bytes32 public constant DOMAIN_SEPARATOR = keccak256(
        abi.encode(
            keccak256("EIP712Domain(string name,string version)"), keccak256("PHA Simulated Quote"), keccak256("1")
        )
    );

    /// @notice EIP-712 type of a simulated GPU verdict signed by the development key (the committee's
    ///         GpuStatement type, in this contract's own domain: see `gpuDomainSeparator`).
    bytes32 public constant GPU_STATEMENT_TYPEHASH = keccak256(
        "GpuStatement(bytes32 nonce,bytes32 deviceId,bytes32 model,uint32 driverVersion,uint64 vbiosVersion,uint64 verifiedAt,uint64 expiresAt)"
    );

    /// @notice How long a verdict stays valid.
    uint64 public immutable VALIDITY;

    /// @notice Address of the development key.
    address public devSigner;

    // ------------------------------------------------------------------ constructor

    /// @param governance Owner.
    /// @param signer The development key's address.
    /// @param validity Seconds a verdict stays valid.
    constructor(address governance, address signer, uint64 validity) Ownable(governance) {
        // Forgeable evidence has no place on a chain anyone else uses: refuse to exist there.
        if (!_isLocalChain()) revert DevQuoteVerifierChainNotAllowed(block.chainid);
        if (signer == address(0) || validity == 0) revert DevQuoteVerifierBadParameter();
        VALIDITY = validity;
        devSigner = signer;
        emit DevSignerChanged(address(0), signer);
    }

    // ------------------------------------------------------------------ external

    /// @inheritdoc IQuoteVerifier
    /// @dev The signature is inside the quote. `evidence` is ignored unless it is in the app-log form
    ///      (see IDevQuoteVerifier), which adds the dstack app's compose hash.
    function verify(bytes calldata quote, bytes calldata evidence) external view returns (VerifiedQuote memory) {
        if (!_isLocalChain()) revert DevQuoteVerifierChainNotAllowed(block.chainid);
        QuoteParser.Quote memory q = QuoteParser.parse(quote);
        if (!q.hasSignatureData || q.signatureDataLength != 65 || bytes16(quote[12:28]) != SIMULATED_QE_VENDOR_ID) {
            revert DevQuoteVerifierNotSimulated();
        }
        bytes32 quoteHash = keccak256(quote[:q.signedLength]);
        bytes32 digest = keccak256(
            abi.encodePacked("\x19\x01", DOMAIN_SEPARATOR, keccak256(abi.encode(SIMULATED_QUOTE_TYPEHASH, quoteHash)))
        );
        uint256 sig = q.signedLength + 4;
        // A failed recovery returns address(0), which the check below rejects: the error values add nothing.
        // slither-disable-next-line unused-return
        (address recovered,,) = ECDSA.tryRecover(
            digest, uint8(quote[sig + 64]), bytes32(quote[sig:sig + 32]), bytes32(quote[sig + 32:sig + 64])
        );
        if (recovered != devSigner || recovered == address(0)) revert DevQuoteVerifierBadSignature(recovered);
        bytes32 composeHash = bytes32(0); // no app log: no compose hash
        if (DstackAppLog.isAppLog(evidence)) {
            (bytes memory inner, bytes memory digests, bytes[] memory preimages) = DstackAppLog.decode(evidence);
            if (inner.length != 0) revert DevQuoteVerifierBadEvidence();
            composeHash = DstackAppLog.composeHash(quote, q, digests, preimages);
        }
        uint64 nowTs = uint64(block.timestamp);
        return _result(quote, q, TcbStatus.UpToDate, new bytes32[](0), 0, nowTs, nowTs + VALIDITY, composeHash);
    }

    /// @inheritdoc IGpuVerifier
    /// @dev gpuEvidence = abi.encode(VerifiedGpu statement, bytes signature): the development key's
    ///      65-byte signature over the statement (EIP-712, `gpuDomainSeparator`). Local chains only,
    ///      like `verify`: the key is public, so the statement is only as true as the simulator.
    function verifyGpu(bytes calldata gpuEvidence) external view returns (VerifiedGpu memory s) {
        if (!_isLocalChain()) revert DevQuoteVerifierChainNotAllowed(block.chainid);
        bytes memory signature;
        (s, signature) = abi.decode(gpuEvidence, (VerifiedGpu, bytes));
        if (s.verifiedAt > block.timestamp + 5 minutes || s.expiresAt <= block.timestamp) {
            revert DevQuoteVerifierBadEvidence();
        }
        bytes32 structHash = keccak256(
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
        );
        // A failed recovery returns address(0), which the check below rejects.
        // slither-disable-next-line unused-return
        (address recovered,,) =
            ECDSA.tryRecover(keccak256(abi.encodePacked("\x19\x01", gpuDomainSeparator(), structHash)), signature);
        if (recovered != devSigner || recovered == address(0)) revert DevQuoteVerifierBadSignature(recovered);
    }

    /// @notice EIP-712 domain of simulated GPU verdicts: {name: "PHA DevQuoteVerifier", version: "1",
    ///         chainId, verifyingContract: this}.
    function gpuDomainSeparator() public view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("PHA DevQuoteVerifier"),
                keccak256("1"),
                block.chainid,
                address(this)
            )
        );
    }

    // ------------------------------------------------------------------ restricted

    /// @inheritdoc IDevQuoteVerifier
    function setDevSigner(address signer) external onlyOwner {
        if (signer == address(0)) revert DevQuoteVerifierBadParameter();
        emit DevSignerChanged(devSigner, signer);
        devSigner = signer;
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IDevQuoteVerifier
    function enabledOnThisChain() external view returns (bool) {
        return _isLocalChain();
    }
}
