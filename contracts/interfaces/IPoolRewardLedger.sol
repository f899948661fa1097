// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IStaking} from "./IStaking.sol";
import {IWorkerRegistry} from "./IWorkerRegistry.sol";

/// @title IPoolRewardLedger
/// @notice A contract that holds pool rewards before they reach Staking (the JobEscrow's pool
///         ledgers). Staking takes a pool's ledger before anything that would change who the
///         reward belongs to or what commission it pays: a delegation, an undelegation, a slash,
///         a commission change, the pool's last worker leaving.
interface IPoolRewardLedger {
    /// @notice Empties the pool's ledger. Only Staking. The holder has approved Staking for at
    ///         least `reward` PHA, which Staking then pulls; the holder books any fee it kept.
    /// @return reward The pool's share waiting (zero when the ledger is empty).
    /// @return earnedAt When the ledger opened: every entry was earned in that reward epoch.
    function takePoolLedger(uint256 poolId) external returns (uint256 reward, uint256 earnedAt);

    /// @notice The Staking contract the holder pays.
    function STAKING() external view returns (IStaking);

    /// @notice The worker registry whose workers earn into the holder's ledgers.
    function REGISTRY() external view returns (IWorkerRegistry);
}
