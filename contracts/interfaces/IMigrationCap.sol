// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IMigrationCap
/// @notice The token's bound on minting through MINTER_ROLE, as a Migrator reads it.
interface IMigrationCap {
    /// @notice Most wei MINTER_ROLE may ever mint in total; 0 while unset.
    /// @return The cap in wei.
    function migrationCap() external view returns (uint256);
}
