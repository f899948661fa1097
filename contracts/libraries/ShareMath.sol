// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title ShareMath
/// @notice ERC-4626-style conversion between assets and shares with a virtual offset.
/// @dev A pool behaves as if `VIRTUAL_SHARES` shares backed by `VIRTUAL_ASSETS` wei always
///      existed (OpenZeppelin ERC4626 `_decimalsOffset` = 3). An attacker who inflates the
///      price of a nearly empty pool then donates to the virtual shares too, and every share
///      is worth at most `(assets + 1) / (shares + 1e3)`, so rounding losses of later
///      delegators are bounded by the price of one share. Both directions round down, which
///      always favours the pool: delegating mints at most the fair number of shares, and
///      undelegating pays at most the fair number of assets.
library ShareMath {
    /// @notice Shares that always exist, held by nobody (10 ** decimals offset).
    uint256 internal constant VIRTUAL_SHARES = 1e3;
    /// @notice Assets that always back the virtual shares.
    uint256 internal constant VIRTUAL_ASSETS = 1;

    /// @notice Shares that `assets` buy in a pool with `totalAssets` and `totalShares` (round down).
    function toShares(uint256 assets, uint256 totalAssets, uint256 totalShares) internal pure returns (uint256) {
        return Math.mulDiv(assets, totalShares + VIRTUAL_SHARES, totalAssets + VIRTUAL_ASSETS);
    }

    /// @notice Assets that `shares` are worth in a pool with `totalAssets` and `totalShares` (round down).
    function toAssets(uint256 shares, uint256 totalAssets, uint256 totalShares) internal pure returns (uint256) {
        return Math.mulDiv(shares, totalAssets + VIRTUAL_ASSETS, totalShares + VIRTUAL_SHARES);
    }

    /// @notice What `shares` cost in a pool with `totalAssets` and `totalShares` (round up): a
    ///         delegation pays this for the shares `toShares` gave it, never more than it offered.
    function toAssetsUp(uint256 shares, uint256 totalAssets, uint256 totalShares) internal pure returns (uint256) {
        uint256 a = totalAssets + VIRTUAL_ASSETS;
        uint256 s = totalShares + VIRTUAL_SHARES;
        uint256 floor = Math.mulDiv(shares, a, s);
        // Rounding up is one more wei when the division leaves a remainder (cheaper in code than
        // Math.mulDiv's Ceil variant, same result).
        return mulmod(shares, a, s) == 0 ? floor : floor + 1;
    }

    /// @notice Queue shares for `assets` entering a queue holding `queuedAssets` for
    ///         `queuedShares` (round down). An empty queue mints at the initial rate.
    /// @dev No virtual offset is needed: the queue's rate only falls by slashes and the
    ///      contract keeps `queuedAssets > 0` whenever `queuedShares > 0` (slashes round
    ///      down and never take the whole queue; withdrawals round down).
    function toQueueShares(uint256 assets, uint256 queuedAssets, uint256 queuedShares)
        internal
        pure
        returns (uint256)
    {
        if (queuedShares == 0) return assets * VIRTUAL_SHARES;
        return Math.mulDiv(assets, queuedShares, queuedAssets);
    }

    /// @notice Assets behind `shares` of a queue holding `queuedAssets` for `queuedShares` (round down).
    function toQueueAssets(uint256 shares, uint256 queuedAssets, uint256 queuedShares)
        internal
        pure
        returns (uint256)
    {
        if (queuedShares == 0) return 0;
        return Math.mulDiv(shares, queuedAssets, queuedShares);
    }
}
