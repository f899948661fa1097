// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAutomataDcapAttestation} from "../interfaces/IAutomataDcapAttestation.sol";

/// @title MockAutomataDcapAttestation
/// @notice TEST FIXTURE ONLY: stands in for Automata's deployed DCAP attestation contract (not
///         reachable from this machine). Returns whatever (success, output) the test configured
///         and records what it was asked, so the adapter's mapping can be tested.
contract MockAutomataDcapAttestation is IAutomataDcapAttestation {
    bool public success;
    bytes public output;
    bytes32 public lastQuoteHash;
    uint8 public lastZkCoprocessor;
    uint256 public calls;

    /// @notice Configure the next answers.
    function setResult(bool success_, bytes calldata output_) external {
        success = success_;
        output = output_;
    }

    /// @notice Returns the configured answer.
    function verifyAndAttestOnChain(bytes calldata rawQuote) external returns (bool, bytes memory) {
        lastQuoteHash = keccak256(rawQuote);
        calls += 1;
        return (success, output);
    }

    /// @notice Returns the configured answer.
    function verifyAndAttestWithZKProof(bytes calldata zkOutput, uint8 zkCoprocessor, bytes calldata)
        external
        returns (bool, bytes memory)
    {
        lastQuoteHash = keccak256(zkOutput);
        lastZkCoprocessor = zkCoprocessor;
        calls += 1;
        return (success, output);
    }
}
