// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IPHAMinter
/// @notice The part of PHAToken a minter (the migrator) calls.
/// @dev Not announced through ERC-165 (PHAToken announces IERC165, IAccessControl and the two
///      OP-stack bridge interfaces only). Its id is 0xc3fcd0bb
///      (`minterMint(address,uint256)` ^ `minterMintBatch(address[],uint256[])`).
interface IPHAMinter {
    /// @notice A batch mint's recipient and amount lists differ in length.
    error PHATokenBatchLengthMismatch(uint256 recipients, uint256 amounts);

    /// @notice A batch mint held no recipient, or more than the token's `MAX_MINT_BATCH`.
    error PHATokenBadBatchLength(uint256 length, uint256 max);

    /// @notice Mints `amount` wei of PHA to `to`; only holders of the token's MINTER_ROLE.
    /// @param to The recipient (not the zero address).
    /// @param amount The amount in wei.
    function minterMint(address to, uint256 amount) external;

    /// @notice Mints `amounts[i]` wei of PHA to `to[i]` for each i, as that many `minterMint`
    ///         calls would (balances, `Transfer` events, delegate votes), but checks the supply
    ///         cap and writes the total-supply vote checkpoint once for the whole batch.
    /// @dev Only holders of the token's MINTER_ROLE. 1 to `MAX_MINT_BATCH` recipients; a
    ///      recipient may repeat. All or nothing: any failure (cap, zero address) mints nothing.
    /// @param to The recipients (none the zero address).
    /// @param amounts The amounts in wei, one per recipient.
    function minterMintBatch(address[] calldata to, uint256[] calldata amounts) external;
}
