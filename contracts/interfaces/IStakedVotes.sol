// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IStakedVotes
/// @notice Voting power of staked PHA, kept by the Staking contract as ERC-5805 style checkpoints on
///         the token's clock (block numbers). A staker's staked votes are the PHA value of its active
///         pool positions as of each position's last update; they count once the staker names a
///         delegate for them (`delegateStakedVotes`), as ERC20Votes counts tokens once delegated.
///         Queued (undelegated) stake does not vote. A slash or reward changes a position's votes
///         when the position is next touched, or when anyone calls `syncVotes` for it.
interface IStakedVotes {
    /// @notice `staker` moved its staked votes from `fromDelegate` to `toDelegate`.
    event StakedVotesDelegated(address indexed staker, address indexed fromDelegate, address indexed toDelegate);
    /// @notice `delegate`'s staked votes changed from `previousVotes` to `newVotes`.
    event StakedVotesChanged(address indexed delegate, uint256 previousVotes, uint256 newVotes);

    /// @notice A past-votes lookup at `timepoint`, which is not before the current clock `clock`.
    error StakingVotesFutureLookup(uint256 timepoint, uint48 clock);

    /// @notice Names `delegatee` (the staker itself, another account, or zero to stop voting) as the
    ///         holder of the caller's staked votes, and counts the caller's positions in `poolIds`
    ///         (positions staked before the caller first delegated; later ones count by themselves).
    ///         At most MAX_SYNC_BATCH pools.
    function delegateStakedVotes(address delegatee, uint256[] calldata poolIds) external;

    /// @notice Re-values `staker`'s position in `poolId` at the pool's current price (after a slash
    ///         or rewards). Anyone may call it; it only ever brings the votes to the position's value.
    function syncVotes(uint256 poolId, address staker) external;

    /// @notice Who holds `staker`'s staked votes (zero: nobody, they do not count).
    function stakedVotesDelegate(address staker) external view returns (address);

    /// @notice `staker`'s counted staked PHA (the sum of its counted positions' votes).
    function stakedVoteUnits(address staker) external view returns (uint256);

    /// @notice The votes recorded for `staker`'s position in `poolId`, and whether they are counted.
    function positionVotes(uint256 poolId, address staker) external view returns (uint256 votes, bool counted);

    /// @notice Staked votes currently delegated to `account`.
    function getStakedVotes(address account) external view returns (uint256);

    /// @notice Staked votes delegated to `account` at `timepoint` (a past block number).
    function getPastStakedVotes(address account, uint256 timepoint) external view returns (uint256);

    /// @notice The clock of the checkpoints: the block number, as PHAToken's ERC20Votes.
    function clock() external view returns (uint48);

    /// @notice ERC-6372 description of `clock`.
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() external view returns (string memory);
}
