// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Sha384} from "../libraries/Sha384.sol";

/// @title TestSha384
/// @notice TEST FIXTURE ONLY (never deployed by pha.deploy): exposes the Sha384 library.
contract TestSha384 {
    /// @notice Sha384.hash.
    function hash(bytes memory data) external pure returns (bytes memory) {
        return Sha384.hash(data);
    }

    /// @notice Sha384.hash and the gas it took (the library call alone).
    function hashGas(bytes memory data) external view returns (bytes memory digest, uint256 gasUsed) {
        uint256 before = gasleft();
        digest = Sha384.hash(data);
        gasUsed = before - gasleft();
    }
}
