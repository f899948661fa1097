// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title RewardEpoch
/// @notice The hour grid that Staking and the JobEscrow share so that a reward waiting in an
///         escrow pool ledger is always charged the commission in force when it was earned.
/// @dev Two rules meet on this grid:
///      - a scheduled commission increase takes effect at the start of an epoch (Staking rounds
///        its effective time up to the grid), so a rate changes by time only on a boundary;
///      - an escrow pool ledger holds settlements of one epoch only (a single settlement in a
///        later epoch pays the ledger first).
///      So every entry of a ledger was earned under one rate, the rate in force at the ledger's
///      opening time, and Staking can charge it from that time alone. A commission change made
///      by a transaction (a decrease, or a new schedule) first takes every ledger of the pool.
library RewardEpoch {
    /// @notice Length of an epoch.
    uint256 internal constant LENGTH = 1 hours;

    /// @notice The epoch number of time `t`.
    function index(uint256 t) internal pure returns (uint256) {
        return t / LENGTH;
    }

    /// @notice The first epoch start at or after `t`.
    function ceil(uint256 t) internal pure returns (uint256) {
        // Rounding to the grid is the point: divide, then multiply back.
        // slither-disable-next-line divide-before-multiply
        return (t + LENGTH - 1) / LENGTH * LENGTH;
    }
}
