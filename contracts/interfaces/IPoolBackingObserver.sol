// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IPoolBackingObserver
/// @notice Told by Staking when a pool's backing starts or stops covering its workers
///         (backing < minStakePerWorker * workers), so that eligibility checks read a local flag
///         instead of calling Staking. The worker registry implements it.
interface IPoolBackingObserver {
    /// @notice The pool's backing flag flipped. Only Staking may call it.
    function poolBackingChanged(uint256 poolId, bool underBacked) external;
}
