// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IPHAMinter
/// @notice The part of PHAToken a minter (the migrator) calls.
interface IPHAMinter {
    /// @notice Mints `amount` wei of PHA to `to`; only holders of the token's MINTER_ROLE.
    function minterMint(address to, uint256 amount) external;
}
