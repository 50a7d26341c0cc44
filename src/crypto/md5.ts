/**
 * MD5 block function (RFC 1321 §3.4) as one loop over its 64 steps, for the
 * DeviceScript interpreter. The message words are read in place (MD5 is
 * little-endian, like `Buffer.getAt`), so nothing is allocated per block.
 * Padding and length (§3.1, §3.2) are the caller's (see hasher.ts).
 */

/**
 * The initial buffer of §3.3, words A, B, C, D low-order bytes first, as
 * listed there. The state is kept in this form (see `md5Blocks`).
 */
export const MD5_IV = hex`01234567 89abcdef fedcba98 76543210`

/**
 * The table T[1..64] of §3.4, T[i] = floor(4294967296 * abs(sin(i))),
 * hard-coded (the runtime has no Math.sin) and stored little-endian so that
 * `getAt(.., "i32")` reads it: T[1] = 0xd76aa478 is `78a46ad7`.
 */
const T = hex`
    78a46ad7 56b7c7e8 db702024 eecebdc1 af0f7cf5 2ac68747 134630a8 019546fd
    d8988069 aff7448b b15bffff bed75c89 2211906b 937198fd 8e4379a6 2108b449
    62251ef6 40b340c0 515a5e26 aac7b6e9 5d102fd6 53144402 81e6a1d8 c8fbd3e7
    e6cde121 d60737c3 870dd5f4 ed145a45 05e9e3a9 f8a3effc d9026f67 8a4c2a8d
    4239faff 81f67187 22619d6d 0c38e5fd 44eabea4 a9cfde4b 604bbbf6 70bcbfbe
    c67e9b28 fa27a1ea 8530efd4 051d8804 39d0d4d9 e599dbe6 f87ca21f 6556acc4
    442229f4 97ff2a43 a72394ab 39a093fc c3595b65 92cc0c8f 7df4efff d15d8485
    4f7ea86f e0e62cfe 144301a3 a111084e 827e53f7 35f23abd bbd2d72a 91d386eb
`

/** Rotation amounts s of §3.4: step i of round r uses S[4r + i mod 4]. */
const S = hex`070c1116 05090e14 040b1017 060a0f15`

/**
 * Processes the whole 64-byte blocks of `buf` from byte `start` (inclusive)
 * to byte `end` (exclusive) into the state `h`: A, B, C, D as 32-bit
 * little-endian words, which is also the digest (§3.5).
 */
export function md5Blocks(h: Buffer, buf: Buffer, start: number, end: number) {
    for (let p = start; p < end; p += 64) {
        // "Save A as AA, B as BB, C as CC, and D as DD."
        let a = h.getAt(0, "i32")
        let b = h.getAt(4, "i32")
        let c = h.getAt(8, "i32")
        let d = h.getAt(12, "i32")
        for (let i = 0; i < 64; ++i) {
            // §3.4 rounds 1-4: the auxiliary function of the round on
            // (b, c, d), and k, the index of the message word X[k] it uses
            let f: number
            let k: number
            if (i < 16) {
                f = (b & c) | (~b & d) // F(X,Y,Z) = XY v not(X) Z
                k = i
            } else if (i < 32) {
                f = (b & d) | (c & ~d) // G(X,Y,Z) = XZ v Y not(Z)
                k = (5 * i + 1) & 15
            } else if (i < 48) {
                f = b ^ c ^ d // H(X,Y,Z) = X xor Y xor Z
                k = (3 * i + 5) & 15
            } else {
                f = c ^ (b | ~d) // I(X,Y,Z) = Y xor (X v not(Z))
                k = (7 * i) & 15
            }
            // [abcd k s i]: a = b + ((a + f(b,c,d) + X[k] + T[i]) <<< s),
            // then the next step names (d, a, b, c) as (a, b, c, d)
            f =
                (a + f + buf.getAt(p + 4 * k, "i32") + T.getAt(4 * i, "i32")) |
                0
            const s = S[((i >> 4) << 2) | (i & 3)]
            a = d
            d = c
            c = b
            b = (b + ((f << s) | (f >>> (32 - s)))) | 0
        }
        // "A = A + AA, B = B + BB, C = C + CC, D = D + DD"
        h.setAt(0, "i32", (h.getAt(0, "i32") + a) | 0)
        h.setAt(4, "i32", (h.getAt(4, "i32") + b) | 0)
        h.setAt(8, "i32", (h.getAt(8, "i32") + c) | 0)
        h.setAt(12, "i32", (h.getAt(12, "i32") + d) | 0)
    }
}
