// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Sha384
/// @notice SHA-384 (FIPS 180-4: the SHA-512 compression over 64-bit words, SHA-384's initial
///         value, the digest cut to 48 bytes) of a byte string of any length. TDX measurement
///         registers are SHA-384 chains, so replaying an RTMR event log on chain needs it.
/// @dev A message of n bytes takes (n + 17 + 127) / 128 blocks (111 bytes: one, 112: two).
///      Each 64-bit word sits in the low bits of an EVM word; a rotation is one shift of the word
///      times 2^64 + 1 (the word twice side by side); sums are cut to 64 bits only where a value
///      is shifted later or kept (carries above bit 63 never reach the low bits). The message
///      schedule is computed two words at a time in two 64-bit lanes of one EVM word, 64 bits
///      apart. About 33k gas a block (41k one word at a time).
library Sha384 {
    /// @dev The 80 SHA-512 round constants K[0..79] (FIPS 180-4 4.2.3), big-endian, each in the low
    ///      8 bytes of a 16-byte lane (the layout of the message schedule below).
    // 64-bit words and lane masks are long hex literals by nature (FIPS 180-4 constants).
    // slither-disable-next-line too-many-digits
    bytes private constant K =
        hex"0000000000000000428a2f98d728ae2200000000000000007137449123ef65cd"
        hex"0000000000000000b5c0fbcfec4d3b2f0000000000000000e9b5dba58189dbbc"
        hex"00000000000000003956c25bf348b538000000000000000059f111f1b605d019"
        hex"0000000000000000923f82a4af194f9b0000000000000000ab1c5ed5da6d8118"
        hex"0000000000000000d807aa98a3030242000000000000000012835b0145706fbe"
        hex"0000000000000000243185be4ee4b28c0000000000000000550c7dc3d5ffb4e2"
        hex"000000000000000072be5d74f27b896f000000000000000080deb1fe3b1696b1"
        hex"00000000000000009bdc06a725c712350000000000000000c19bf174cf692694"
        hex"0000000000000000e49b69c19ef14ad20000000000000000efbe4786384f25e3"
        hex"00000000000000000fc19dc68b8cd5b50000000000000000240ca1cc77ac9c65"
        hex"00000000000000002de92c6f592b027500000000000000004a7484aa6ea6e483"
        hex"00000000000000005cb0a9dcbd41fbd4000000000000000076f988da831153b5"
        hex"0000000000000000983e5152ee66dfab0000000000000000a831c66d2db43210"
        hex"0000000000000000b00327c898fb213f0000000000000000bf597fc7beef0ee4"
        hex"0000000000000000c6e00bf33da88fc20000000000000000d5a79147930aa725"
        hex"000000000000000006ca6351e003826f0000000000000000142929670a0e6e70"
        hex"000000000000000027b70a8546d22ffc00000000000000002e1b21385c26c926"
        hex"00000000000000004d2c6dfc5ac42aed000000000000000053380d139d95b3df"
        hex"0000000000000000650a73548baf63de0000000000000000766a0abb3c77b2a8"
        hex"000000000000000081c2c92e47edaee6000000000000000092722c851482353b"
        hex"0000000000000000a2bfe8a14cf103640000000000000000a81a664bbc423001"
        hex"0000000000000000c24b8b70d0f897910000000000000000c76c51a30654be30"
        hex"0000000000000000d192e819d6ef52180000000000000000d69906245565a910"
        hex"0000000000000000f40e35855771202a0000000000000000106aa07032bbd1b8"
        hex"000000000000000019a4c116b8d2d0c800000000000000001e376c085141ab53"
        hex"00000000000000002748774cdf8eeb99000000000000000034b0bcb5e19b48a8"
        hex"0000000000000000391c0cb3c5c95a6300000000000000004ed8aa4ae3418acb"
        hex"00000000000000005b9cca4f7763e3730000000000000000682e6ff3d6b2b8a3"
        hex"0000000000000000748f82ee5defb2fc000000000000000078a5636f43172f60"
        hex"000000000000000084c87814a1f0ab7200000000000000008cc702081a6439ec"
        hex"000000000000000090befffa23631e280000000000000000a4506cebde82bde9"
        hex"0000000000000000bef9a3f7b2c679150000000000000000c67178f2e372532b"
        hex"0000000000000000ca273eceea26619c0000000000000000d186b8c721c0c207"
        hex"0000000000000000eada7dd6cde0eb1e0000000000000000f57d4f7fee6ed178"
        hex"000000000000000006f067aa72176fba00000000000000000a637dc5a2c898a6"
        hex"0000000000000000113f9804bef90dae00000000000000001b710b35131c471b"
        hex"000000000000000028db77f523047d84000000000000000032caab7b40c72493"
        hex"00000000000000003c9ebe0a15c9bebc0000000000000000431d67c49c100d4c"
        hex"00000000000000004cc5d4becb3e42b60000000000000000597f299cfc657e2a"
        hex"00000000000000005fcb6fab3ad6faec00000000000000006c44198c4a475817";

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
        // slither-disable-start too-many-digits
        // slither-disable-next-line assembly
        assembly ("memory-safe") {
            // Scratch past the free memory pointer, addressed from w so that only w stays on the stack:
            // w-320: the block being read, w-288: the end of the padded message, w-256: H[0..7] (one
            // per 32-byte slot), w: W[0..79] (16-byte lanes: W[t] in the low 8 bytes of w + 16t),
            // w+1280: the padded message.
            let w := add(mload(0x40), 320)
            {
                let len := mload(data)
                let blk := add(w, 1280)
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
                    // W[2i], W[2i+1] (16 bytes of the block) into the lanes of one 32-byte slot
                    let blk := mload(sub(w, 320))
                    for { let i := 0 } lt(i, 8) { i := add(i, 1) } {
                        let v := mload(add(blk, shl(4, i)))
                        mstore(add(w, shl(5, i)), or(shl(128, shr(192, v)), and(shr(128, v), 0xffffffffffffffff)))
                    }
                }
                // W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], two at a time: one 32-byte read
                // at w + 16(t - j) holds W[t-j] in its upper lane and W[t-j+1] in its lower, and the
                // lanes are 64 bits apart, so one shift rotates both (after doubling each lane by a
                // multiplication) and masks keep the sums of one lane out of the other.
                for { let p := add(w, 256) } lt(p, add(w, 1280)) { p := add(p, 32) } {
                    let x := mload(sub(p, 32))
                    let y := mload(sub(p, 240))
                    let xx := mul(x, 0x10000000000000001)
                    let yy := mul(y, 0x10000000000000001)
                    mstore(
                        p,
                        and(
                            add(
                                add(
                                    and(xor(xor(shr(19, xx), shr(61, xx)), shr(6, x)), 0xffffffffffffffff0000000000000000ffffffffffffffff),
                                    mload(sub(p, 112))
                                ),
                                add(
                                    and(xor(xor(shr(1, yy), shr(8, yy)), shr(7, y)), 0xffffffffffffffff0000000000000000ffffffffffffffff),
                                    mload(sub(p, 256))
                                )
                            ),
                            0xffffffffffffffff0000000000000000ffffffffffffffff
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
                // W and K share a layout, so one addition gives W[t] + K[t] (upper lane) and
                // W[t+1] + K[t+1] (lower lane; what lies above it in t1 is masked off before use).
                // (More rounds per pass, or all 80 unrolled, cost more here: the via-IR code
                // generator then shuffles or spills the eight variables.)
                let kt := add(k, 32)
                let wt := w
                for {} lt(wt, add(w, 1280)) {
                    wt := add(wt, 32)
                    kt := add(kt, 32)
                } {
                    let wk := add(mload(wt), mload(kt))
                    let x := mul(e, 0x10000000000000001)
                    h := add(add(add(h, xor(xor(shr(14, x), shr(18, x)), shr(41, x))), xor(g, and(e, xor(f, g)))), shr(128, wk))
                    d := and(add(d, h), 0xffffffffffffffff)
                    x := mul(a, 0x10000000000000001)
                    h := and(add(add(h, xor(xor(shr(28, x), shr(34, x)), shr(39, x))), or(and(a, b), and(c, or(a, b)))), 0xffffffffffffffff)
                    x := mul(d, 0x10000000000000001)
                    g := add(add(add(g, xor(xor(shr(14, x), shr(18, x)), shr(41, x))), xor(f, and(d, xor(e, f)))), wk)
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
                // H += a..h, addressed from wt (now w + 1280): seeing the slots a..h were loaded from,
                // the optimizer would keep the loaded copies on the stack through the rounds instead.
                mstore(sub(wt, 1536), and(add(mload(sub(wt, 1536)), a), 0xffffffffffffffff))
                mstore(sub(wt, 1504), and(add(mload(sub(wt, 1504)), b), 0xffffffffffffffff))
                mstore(sub(wt, 1472), and(add(mload(sub(wt, 1472)), c), 0xffffffffffffffff))
                mstore(sub(wt, 1440), and(add(mload(sub(wt, 1440)), d), 0xffffffffffffffff))
                mstore(sub(wt, 1408), and(add(mload(sub(wt, 1408)), e), 0xffffffffffffffff))
                mstore(sub(wt, 1376), and(add(mload(sub(wt, 1376)), f), 0xffffffffffffffff))
                mstore(sub(wt, 1344), and(add(mload(sub(wt, 1344)), g), 0xffffffffffffffff))
                mstore(sub(wt, 1312), and(add(mload(sub(wt, 1312)), h), 0xffffffffffffffff))
            }
            high := or(
                or(shl(192, mload(sub(w, 256))), shl(128, mload(sub(w, 224)))),
                or(shl(64, mload(sub(w, 192))), mload(sub(w, 160)))
            )
            low := or(shl(192, mload(sub(w, 128))), shl(128, mload(sub(w, 96))))
        }
        // slither-disable-end too-many-digits
    }
}
