// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IStaking} from "./IStaking.sol";

/// @title IPoolBackingObserver
/// @notice Told by Staking when a pool's backing starts or stops covering its workers
///         (backing < minStakePerWorker * workers), so that eligibility checks read a local flag
///         instead of calling Staking. The worker registry implements it.
interface IPoolBackingObserver {
    /// @notice The pool's backing flag flipped. Only Staking may call it.
    function poolBackingChanged(uint256 poolId, bool underBacked) external;

    /// @notice The Staking contract this observer listens to (checked by Staking.setRegistry).
    function STAKING() external view returns (IStaking);

    /// @notice The backing flag as last reported for the pool.
    function isPoolUnderBacked(uint256 poolId) external view returns (bool);
}
