// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC5805} from "@openzeppelin/contracts/interfaces/IERC5805.sol";
import {IERC6372} from "@openzeppelin/contracts/interfaces/IERC6372.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";

import {IStakedVotes} from "./interfaces/IStakedVotes.sol";

/// @title PHAVotes
/// @notice The voting power the PHA governor reads: an account's PHAToken votes (ERC20Votes) plus
///         the staked votes delegated to it in Staking. Holds nothing and keeps no state.
/// @dev No double counting: PHA held by the Staking contract would count as token votes only if
///      Staking delegated them, and it has no code that does; a staker's PHA in a pool therefore
///      votes once, through Staking's checkpoints. The total supply is the token's: staked PHA is
///      part of it, so the quorum fraction is of all PHA. Both sources must share one clock: the
///      constructor checks their CLOCK_MODE. Delegation happens at the sources (`PHAToken.delegate`,
///      `Staking.delegateStakedVotes`): `delegate` and `delegateBySig` here revert.
contract PHAVotes is IERC5805 {
    /// @notice The PHA token (ERC20Votes).
    IERC5805 public immutable TOKEN;
    /// @notice The Staking contract (staked votes).
    IStakedVotes public immutable STAKING;

    /// @notice The token and the staking contract do not count time on the same clock.
    error PHAVotesClockMismatch();
    /// @notice Votes are delegated on the token or on Staking, not here.
    error PHAVotesDelegateAtSource();
    /// @notice A zero address was given.
    error PHAVotesZeroAddress();

    constructor(IERC5805 token, IStakedVotes staking) {
        if (address(token) == address(0) || address(staking) == address(0)) revert PHAVotesZeroAddress();
        if (keccak256(bytes(token.CLOCK_MODE())) != keccak256(bytes(staking.CLOCK_MODE()))) {
            revert PHAVotesClockMismatch();
        }
        TOKEN = token;
        STAKING = staking;
    }

    /// @inheritdoc IERC6372
    function clock() external view returns (uint48) {
        return TOKEN.clock();
    }

    /// @inheritdoc IERC6372
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() external view returns (string memory) {
        return TOKEN.CLOCK_MODE();
    }

    /// @inheritdoc IVotes
    function getVotes(address account) external view returns (uint256) {
        return TOKEN.getVotes(account) + STAKING.getStakedVotes(account);
    }

    /// @inheritdoc IVotes
    function getPastVotes(address account, uint256 timepoint) external view returns (uint256) {
        return TOKEN.getPastVotes(account, timepoint) + STAKING.getPastStakedVotes(account, timepoint);
    }

    /// @inheritdoc IVotes
    function getPastTotalSupply(uint256 timepoint) external view returns (uint256) {
        return TOKEN.getPastTotalSupply(timepoint);
    }

    /// @inheritdoc IVotes
    /// @dev The token delegate; staked votes have their own (`Staking.stakedVotesDelegate`).
    function delegates(address account) external view returns (address) {
        return TOKEN.delegates(account);
    }

    /// @inheritdoc IVotes
    function delegate(address) external pure {
        revert PHAVotesDelegateAtSource();
    }

    /// @inheritdoc IVotes
    function delegateBySig(address, uint256, uint256, uint8, bytes32, bytes32) external pure {
        revert PHAVotesDelegateAtSource();
    }
}
