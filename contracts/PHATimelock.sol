// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title PHATimelock
/// @notice The admin of every contract of the stack: OpenZeppelin's TimelockController, unchanged.
///         PHAGovernor is its proposer and canceller, anyone may execute a ready operation, and an
///         optional guardian may cancel queued ones. The deploy gives it every admin role and then
///         renounces the deployer's (docs/governance.md).
contract PHATimelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
