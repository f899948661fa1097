// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

/// @title IOptimismMintableERC20
/// @notice The interface the OP-stack standard bridge (L2StandardBridge) expects of a token it
///         mints on deposit and burns on withdrawal. ERC-165 id: 0xec4fc8e3.
interface IOptimismMintableERC20 is IERC165 {
    /// @notice The token on L1 this token represents.
    function remoteToken() external view returns (address);

    /// @notice The only address allowed to call `mint` and `burn`.
    function bridge() external returns (address);

    /// @notice Mints `amount` to `to` (bridge deposits).
    function mint(address to, uint256 amount) external;

    /// @notice Burns `amount` from `from` (bridge withdrawals).
    function burn(address from, uint256 amount) external;
}

/// @title ILegacyMintableERC20
/// @notice The pre-Bedrock mintable-token interface that older bridges still query.
///         ERC-165 id: 0x1d1d8b63.
interface ILegacyMintableERC20 is IERC165 {
    /// @notice The token on L1 this token represents.
    function l1Token() external view returns (address);

    /// @notice Mints `amount` to `to` (bridge deposits).
    function mint(address to, uint256 amount) external;

    /// @notice Burns `amount` from `from` (bridge withdrawals).
    function burn(address from, uint256 amount) external;
}
