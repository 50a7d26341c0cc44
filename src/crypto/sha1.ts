/**
 * SHA-1 block function (FIPS 180-4 §6.1) as one loop over its 80 rounds, for
 * the DeviceScript interpreter. The message schedule is the 16-word queue of
 * the alternate method (§6.1.3), one buffer reused for every block, so
 * nothing is allocated per block. Padding and length (§5.1.1) are the
 * caller's (see hasher.ts).
 */

/**
 * The initial hash value H(0) of §5.3.1, H0..H4, each word stored low-order
 * byte first for `getAt`: H0 = 67452301 is `01234567`.
 */
export const SHA1_IV = hex`01234567 89abcdef fedcba98 76543210 f0e1d2c3`

/**
 * W0..W15 of §6.1.3 as 32-bit words at byte 4s, shared by all hashers: a
 * block is processed without yielding, so no two blocks overlap.
 */
const W = Buffer.alloc(64)

/**
 * Processes the whole 64-byte blocks of `buf` from byte `start` (inclusive)
 * to byte `end` (exclusive) into the state `h`, H0..H4 as 32-bit
 * little-endian words (§6.1.3 steps 1-4).
 */
export function sha1Blocks(h: Buffer, buf: Buffer, start: number, end: number) {
    for (let p = start; p < end; p += 64) {
        // step 2: a = H0, b = H1, c = H2, d = H3, e = H4
        let a = h.getAt(0, "i32")
        let b = h.getAt(4, "i32")
        let c = h.getAt(8, "i32")
        let d = h.getAt(12, "i32")
        let e = h.getAt(16, "i32")
        for (let t = 0; t < 80; ++t) {
            // steps 1 and 3a: s = t AND MASK; the word W_s, read big-endian
            // from the block (getAt is little-endian only), or for t >= 16
            // W_s = ROTL1(W_(s+13) xor W_(s+8) xor W_(s+2) xor W_s)
            const s = 4 * (t & 15)
            let w: number
            if (t < 16) {
                const q = p + s
                w = (buf[q] << 24) | (buf[q + 1] << 16) | (buf[q + 2] << 8)
                w |= buf[q + 3]
            } else {
                w =
                    W.getAt((s + 52) & 63, "i32") ^
                    W.getAt((s + 32) & 63, "i32")
                w ^= W.getAt((s + 8) & 63, "i32") ^ W.getAt(s, "i32")
                w = (w << 1) | (w >>> 31)
            }
            W.setAt(s, "i32", w)
            // f_t(b, c, d) of §4.1.1 and K_t of §4.2.1 (`| 0`: kept int32)
            let f: number
            let k: number
            if (t < 20) {
                f = (b & c) ^ (~b & d) // Ch
                k = 0x5a827999
            } else if (t < 40) {
                f = b ^ c ^ d // Parity
                k = 0x6ed9eba1
            } else if (t < 60) {
                f = (b & c) ^ (b & d) ^ (c & d) // Maj
                k = 0x8f1bbcdc | 0
            } else {
                f = b ^ c ^ d // Parity
                k = 0xca62c1d6 | 0
            }
            // step 3b: T = ROTL5(a) + f + e + K + W_s; e = d; d = c;
            // c = ROTL30(b); b = a; a = T
            const temp = (((a << 5) | (a >>> 27)) + f + e + k + w) | 0
            e = d
            d = c
            c = (b << 30) | (b >>> 2)
            b = a
            a = temp
        }
        // step 4: H0 = a + H0, ..., H4 = e + H4
        h.setAt(0, "i32", (h.getAt(0, "i32") + a) | 0)
        h.setAt(4, "i32", (h.getAt(4, "i32") + b) | 0)
        h.setAt(8, "i32", (h.getAt(8, "i32") + c) | 0)
        h.setAt(12, "i32", (h.getAt(12, "i32") + d) | 0)
        h.setAt(16, "i32", (h.getAt(16, "i32") + e) | 0)
    }
}
