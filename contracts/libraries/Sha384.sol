// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Sha384
/// @notice SHA-384 (FIPS 180-4: the SHA-512 compression over 64-bit words, SHA-384's initial
///         value, the digest cut to 48 bytes) of a byte string of any length. TDX measurement
///         registers are SHA-384 chains, so replaying an RTMR event log on chain needs it.
/// @dev A message of n bytes takes (n + 17 + 127) / 128 blocks (111 bytes: one, 112: two).
///      Each 64-bit word sits in the low bits of an EVM word; a rotation is one shift of the word
///      times 2^64 + 1 (the word twice side by side); sums are cut to 64 bits only where a value
///      is shifted later or kept (carries above bit 63 never reach the low bits). About 41k gas a
///      block.
library Sha384 {
    /// @dev The 80 SHA-512 round constants K[0..79] (FIPS 180-4 4.2.3), 8 bytes each, big-endian.
    bytes private constant K =
        hex"428a2f98d728ae227137449123ef65cdb5c0fbcfec4d3b2fe9b5dba58189dbbc"
        hex"3956c25bf348b53859f111f1b605d019923f82a4af194f9bab1c5ed5da6d8118"
        hex"d807aa98a303024212835b0145706fbe243185be4ee4b28c550c7dc3d5ffb4e2"
        hex"72be5d74f27b896f80deb1fe3b1696b19bdc06a725c71235c19bf174cf692694"
        hex"e49b69c19ef14ad2efbe4786384f25e30fc19dc68b8cd5b5240ca1cc77ac9c65"
        hex"2de92c6f592b02754a7484aa6ea6e4835cb0a9dcbd41fbd476f988da831153b5"
        hex"983e5152ee66dfaba831c66d2db43210b00327c898fb213fbf597fc7beef0ee4"
        hex"c6e00bf33da88fc2d5a79147930aa72506ca6351e003826f142929670a0e6e70"
        hex"27b70a8546d22ffc2e1b21385c26c9264d2c6dfc5ac42aed53380d139d95b3df"
        hex"650a73548baf63de766a0abb3c77b2a881c2c92e47edaee692722c851482353b"
        hex"a2bfe8a14cf10364a81a664bbc423001c24b8b70d0f89791c76c51a30654be30"
        hex"d192e819d6ef5218d69906245565a910f40e35855771202a106aa07032bbd1b8"
        hex"19a4c116b8d2d0c81e376c085141ab532748774cdf8eeb9934b0bcb5e19b48a8"
        hex"391c0cb3c5c95a634ed8aa4ae3418acb5b9cca4f7763e373682e6ff3d6b2b8a3"
        hex"748f82ee5defb2fc78a5636f43172f6084c87814a1f0ab728cc702081a6439ec"
        hex"90befffa23631e28a4506cebde82bde9bef9a3f7b2c67915c67178f2e372532b"
        hex"ca273eceea26619cd186b8c721c0c207eada7dd6cde0eb1ef57d4f7fee6ed178"
        hex"06f067aa72176fba0a637dc5a2c898a6113f9804bef90dae1b710b35131c471b"
        hex"28db77f523047d8432caab7b40c724933c9ebe0a15c9bebc431d67c49c100d4c"
        hex"4cc5d4becb3e42b6597f299cfc657e2a5fcb6fab3ad6faec6c44198c4a475817";

    /// @notice SHA-384 of `data`: 48 bytes.
    function hash(bytes memory data) internal pure returns (bytes memory digest) {
        (bytes32 high, bytes16 low) = hashWords(data);
        digest = abi.encodePacked(high, low);
    }

    /// @notice SHA-384 of `data` as its first 32 bytes and its last 16 bytes.
    function hashWords(bytes memory data) internal pure returns (bytes32 high, bytes16 low) {
        bytes memory k = K;
        // Assembly: 64-bit arithmetic on bare stack words over a scratch area past the free memory
        // pointer (state, message schedule, padded message); checked Solidity costs several times more.
        // slither-disable-next-line assembly
        assembly ("memory-safe") {
            // Scratch past the free memory pointer, addressed from w so that only w stays on the stack:
            // w-320: the block being read, w-288: the end of the padded message, w-256: H[0..7],
            // w: W[0..79], w+2560: the padded message. One value per 32-byte slot.
            let w := add(mload(0x40), 320)
            {
                let len := mload(data)
                let blk := add(w, 2560)
                let bufLen := shl(7, div(add(len, 144), 128)) // blocks for data, 0x80, 16-byte bit length
                let bufEnd := add(blk, bufLen)
                calldatacopy(blk, calldatasize(), bufLen) // zero fill: scratch memory may be dirty
                mcopy(blk, add(data, 32), len)
                mstore8(add(blk, len), 0x80)
                mstore(sub(bufEnd, 32), or(mload(sub(bufEnd, 32)), shl(3, len)))
                mstore(sub(w, 320), blk)
                mstore(sub(w, 288), bufEnd)
            }
            mstore(sub(w, 256), 0xcbbb9d5dc1059ed8)
            mstore(sub(w, 224), 0x629a292a367cd507)
            mstore(sub(w, 192), 0x9159015a3070dd17)
            mstore(sub(w, 160), 0x152fecd8f70e5939)
            mstore(sub(w, 128), 0x67332667ffc00b31)
            mstore(sub(w, 96), 0x8eb44a8768581511)
            mstore(sub(w, 64), 0xdb0c2e0d64f98fa7)
            mstore(sub(w, 32), 0x47b5481dbefa4fa4)

            for {} lt(mload(sub(w, 320)), mload(sub(w, 288))) { mstore(sub(w, 320), add(mload(sub(w, 320)), 128)) } {
                {
                    let blk := mload(sub(w, 320))
                    for { let i := 0 } lt(i, 16) { i := add(i, 1) } {
                        mstore(add(w, shl(5, i)), shr(192, mload(add(blk, shl(3, i)))))
                    }
                }
                // W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]
                for { let p := add(w, 512) } lt(p, add(w, 2560)) { p := add(p, 32) } {
                    let x := mload(sub(p, 64))
                    let y := mload(sub(p, 480))
                    let xx := mul(x, 0x10000000000000001)
                    let yy := mul(y, 0x10000000000000001)
                    mstore(
                        p,
                        and(
                            add(
                                add(xor(xor(shr(19, xx), shr(61, xx)), shr(6, x)), mload(sub(p, 224))),
                                add(xor(xor(shr(1, yy), shr(8, yy)), shr(7, y)), mload(sub(p, 512)))
                            ),
                            0xffffffffffffffff
                        )
                    )
                }
                let a := mload(sub(w, 256))
                let b := mload(sub(w, 224))
                let c := mload(sub(w, 192))
                let d := mload(sub(w, 160))
                let e := mload(sub(w, 128))
                let f := mload(sub(w, 96))
                let g := mload(sub(w, 64))
                let h := mload(sub(w, 32))
                // Two rounds per pass. A round: t1 = h + S1(e) + Ch(e, f, g) + K[t] + W[t] (built in h),
                // d += t1 (the new e), h = t1 + S0(a) + Maj(a, b, c) (the new a); the second round
                // takes the roles one place on, then the pass moves the values back into place.
                // (More rounds per pass, or all 80 unrolled, cost more here: the via-IR code
                // generator then shuffles or spills the eight variables.)
                let kt := add(k, 32)
                let wt := w
                for {} lt(wt, add(w, 2560)) {
                    wt := add(wt, 64)
                    kt := add(kt, 16)
                } {
                    let x := mul(e, 0x10000000000000001)
                    h := add(add(add(h, xor(xor(shr(14, x), shr(18, x)), shr(41, x))), xor(g, and(e, xor(f, g)))), add(mload(wt), shr(192, mload(kt))))
                    d := and(add(d, h), 0xffffffffffffffff)
                    x := mul(a, 0x10000000000000001)
                    h := and(add(add(h, xor(xor(shr(28, x), shr(34, x)), shr(39, x))), or(and(a, b), and(c, or(a, b)))), 0xffffffffffffffff)
                    x := mul(d, 0x10000000000000001)
                    g := add(add(add(g, xor(xor(shr(14, x), shr(18, x)), shr(41, x))), xor(f, and(d, xor(e, f)))), add(mload(add(wt, 32)), shr(192, mload(add(kt, 8)))))
                    c := and(add(c, g), 0xffffffffffffffff)
                    x := mul(h, 0x10000000000000001)
                    g := and(add(add(g, xor(xor(shr(28, x), shr(34, x)), shr(39, x))), or(and(h, a), and(b, or(h, a)))), 0xffffffffffffffff)
                    // after the two rounds a..h are in g, h, a, b, c, d, e, f: move them back
                    let na := g
                    let nb := h
                    h := f
                    g := e
                    f := d
                    e := c
                    d := b
                    c := a
                    b := nb
                    a := na
                }
                // H += a..h, addressed from wt (now w + 2560): seeing the slots a..h were loaded from,
                // the optimizer would keep the loaded copies on the stack through the rounds instead.
                mstore(sub(wt, 2816), and(add(mload(sub(wt, 2816)), a), 0xffffffffffffffff))
                mstore(sub(wt, 2784), and(add(mload(sub(wt, 2784)), b), 0xffffffffffffffff))
                mstore(sub(wt, 2752), and(add(mload(sub(wt, 2752)), c), 0xffffffffffffffff))
                mstore(sub(wt, 2720), and(add(mload(sub(wt, 2720)), d), 0xffffffffffffffff))
                mstore(sub(wt, 2688), and(add(mload(sub(wt, 2688)), e), 0xffffffffffffffff))
                mstore(sub(wt, 2656), and(add(mload(sub(wt, 2656)), f), 0xffffffffffffffff))
                mstore(sub(wt, 2624), and(add(mload(sub(wt, 2624)), g), 0xffffffffffffffff))
                mstore(sub(wt, 2592), and(add(mload(sub(wt, 2592)), h), 0xffffffffffffffff))
            }
            high := or(
                or(shl(192, mload(sub(w, 256))), shl(128, mload(sub(w, 224)))),
                or(shl(64, mload(sub(w, 192))), mload(sub(w, 160)))
            )
            low := or(shl(192, mload(sub(w, 128))), shl(128, mload(sub(w, 96))))
        }
    }
}
