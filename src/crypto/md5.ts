/**
 * MD5 compression function (RFC 1321), written for the DeviceScript
 * interpreter: the 64 steps are unrolled, the state and the 16 message words
 * live in locals, and nothing is allocated per block. The sine table is
 * hard-coded (the runtime has no Math.sin) as signed 32-bit literals so the
 * VM stays on its int32 fast path.
 */

/** Initial MD5 state A, B, C, D (signed 32-bit). */
export function md5Init(): number[] {
    return [0x67452301, -271733879, -1732584194, 0x10325476]
}

/**
 * Runs the MD5 compression over the whole 64-byte blocks of `buf` from byte
 * `start` (inclusive) to byte `end` (exclusive), updating `h` in place.
 */
export function md5Blocks(
    h: number[],
    buf: Buffer,
    start: number,
    end: number
) {
    let a = h[0]
    let b = h[1]
    let c = h[2]
    let d = h[3]
    for (let p = start; p < end; p += 64) {
        const a0 = a
        const b0 = b
        const c0 = c
        const d0 = d
        const x0 = buf.getAt(p, "i32")
        const x1 = buf.getAt(p + 4, "i32")
        const x2 = buf.getAt(p + 8, "i32")
        const x3 = buf.getAt(p + 12, "i32")
        const x4 = buf.getAt(p + 16, "i32")
        const x5 = buf.getAt(p + 20, "i32")
        const x6 = buf.getAt(p + 24, "i32")
        const x7 = buf.getAt(p + 28, "i32")
        const x8 = buf.getAt(p + 32, "i32")
        const x9 = buf.getAt(p + 36, "i32")
        const x10 = buf.getAt(p + 40, "i32")
        const x11 = buf.getAt(p + 44, "i32")
        const x12 = buf.getAt(p + 48, "i32")
        const x13 = buf.getAt(p + 52, "i32")
        const x14 = buf.getAt(p + 56, "i32")
        const x15 = buf.getAt(p + 60, "i32")
        // round 1
        a = (a + (d ^ (b & (c ^ d))) + x0 - 680876936) | 0
        a = (((a << 7) | (a >>> 25)) + b) | 0
        d = (d + (c ^ (a & (b ^ c))) + x1 - 389564586) | 0
        d = (((d << 12) | (d >>> 20)) + a) | 0
        c = (c + (b ^ (d & (a ^ b))) + x2 + 606105819) | 0
        c = (((c << 17) | (c >>> 15)) + d) | 0
        b = (b + (a ^ (c & (d ^ a))) + x3 - 1044525330) | 0
        b = (((b << 22) | (b >>> 10)) + c) | 0
        a = (a + (d ^ (b & (c ^ d))) + x4 - 176418897) | 0
        a = (((a << 7) | (a >>> 25)) + b) | 0
        d = (d + (c ^ (a & (b ^ c))) + x5 + 1200080426) | 0
        d = (((d << 12) | (d >>> 20)) + a) | 0
        c = (c + (b ^ (d & (a ^ b))) + x6 - 1473231341) | 0
        c = (((c << 17) | (c >>> 15)) + d) | 0
        b = (b + (a ^ (c & (d ^ a))) + x7 - 45705983) | 0
        b = (((b << 22) | (b >>> 10)) + c) | 0
        a = (a + (d ^ (b & (c ^ d))) + x8 + 1770035416) | 0
        a = (((a << 7) | (a >>> 25)) + b) | 0
        d = (d + (c ^ (a & (b ^ c))) + x9 - 1958414417) | 0
        d = (((d << 12) | (d >>> 20)) + a) | 0
        c = (c + (b ^ (d & (a ^ b))) + x10 - 42063) | 0
        c = (((c << 17) | (c >>> 15)) + d) | 0
        b = (b + (a ^ (c & (d ^ a))) + x11 - 1990404162) | 0
        b = (((b << 22) | (b >>> 10)) + c) | 0
        a = (a + (d ^ (b & (c ^ d))) + x12 + 1804603682) | 0
        a = (((a << 7) | (a >>> 25)) + b) | 0
        d = (d + (c ^ (a & (b ^ c))) + x13 - 40341101) | 0
        d = (((d << 12) | (d >>> 20)) + a) | 0
        c = (c + (b ^ (d & (a ^ b))) + x14 - 1502002290) | 0
        c = (((c << 17) | (c >>> 15)) + d) | 0
        b = (b + (a ^ (c & (d ^ a))) + x15 + 1236535329) | 0
        b = (((b << 22) | (b >>> 10)) + c) | 0
        // round 2
        a = (a + (c ^ (d & (b ^ c))) + x1 - 165796510) | 0
        a = (((a << 5) | (a >>> 27)) + b) | 0
        d = (d + (b ^ (c & (a ^ b))) + x6 - 1069501632) | 0
        d = (((d << 9) | (d >>> 23)) + a) | 0
        c = (c + (a ^ (b & (d ^ a))) + x11 + 643717713) | 0
        c = (((c << 14) | (c >>> 18)) + d) | 0
        b = (b + (d ^ (a & (c ^ d))) + x0 - 373897302) | 0
        b = (((b << 20) | (b >>> 12)) + c) | 0
        a = (a + (c ^ (d & (b ^ c))) + x5 - 701558691) | 0
        a = (((a << 5) | (a >>> 27)) + b) | 0
        d = (d + (b ^ (c & (a ^ b))) + x10 + 38016083) | 0
        d = (((d << 9) | (d >>> 23)) + a) | 0
        c = (c + (a ^ (b & (d ^ a))) + x15 - 660478335) | 0
        c = (((c << 14) | (c >>> 18)) + d) | 0
        b = (b + (d ^ (a & (c ^ d))) + x4 - 405537848) | 0
        b = (((b << 20) | (b >>> 12)) + c) | 0
        a = (a + (c ^ (d & (b ^ c))) + x9 + 568446438) | 0
        a = (((a << 5) | (a >>> 27)) + b) | 0
        d = (d + (b ^ (c & (a ^ b))) + x14 - 1019803690) | 0
        d = (((d << 9) | (d >>> 23)) + a) | 0
        c = (c + (a ^ (b & (d ^ a))) + x3 - 187363961) | 0
        c = (((c << 14) | (c >>> 18)) + d) | 0
        b = (b + (d ^ (a & (c ^ d))) + x8 + 1163531501) | 0
        b = (((b << 20) | (b >>> 12)) + c) | 0
        a = (a + (c ^ (d & (b ^ c))) + x13 - 1444681467) | 0
        a = (((a << 5) | (a >>> 27)) + b) | 0
        d = (d + (b ^ (c & (a ^ b))) + x2 - 51403784) | 0
        d = (((d << 9) | (d >>> 23)) + a) | 0
        c = (c + (a ^ (b & (d ^ a))) + x7 + 1735328473) | 0
        c = (((c << 14) | (c >>> 18)) + d) | 0
        b = (b + (d ^ (a & (c ^ d))) + x12 - 1926607734) | 0
        b = (((b << 20) | (b >>> 12)) + c) | 0
        // round 3
        a = (a + (b ^ c ^ d) + x5 - 378558) | 0
        a = (((a << 4) | (a >>> 28)) + b) | 0
        d = (d + (a ^ b ^ c) + x8 - 2022574463) | 0
        d = (((d << 11) | (d >>> 21)) + a) | 0
        c = (c + (d ^ a ^ b) + x11 + 1839030562) | 0
        c = (((c << 16) | (c >>> 16)) + d) | 0
        b = (b + (c ^ d ^ a) + x14 - 35309556) | 0
        b = (((b << 23) | (b >>> 9)) + c) | 0
        a = (a + (b ^ c ^ d) + x1 - 1530992060) | 0
        a = (((a << 4) | (a >>> 28)) + b) | 0
        d = (d + (a ^ b ^ c) + x4 + 1272893353) | 0
        d = (((d << 11) | (d >>> 21)) + a) | 0
        c = (c + (d ^ a ^ b) + x7 - 155497632) | 0
        c = (((c << 16) | (c >>> 16)) + d) | 0
        b = (b + (c ^ d ^ a) + x10 - 1094730640) | 0
        b = (((b << 23) | (b >>> 9)) + c) | 0
        a = (a + (b ^ c ^ d) + x13 + 681279174) | 0
        a = (((a << 4) | (a >>> 28)) + b) | 0
        d = (d + (a ^ b ^ c) + x0 - 358537222) | 0
        d = (((d << 11) | (d >>> 21)) + a) | 0
        c = (c + (d ^ a ^ b) + x3 - 722521979) | 0
        c = (((c << 16) | (c >>> 16)) + d) | 0
        b = (b + (c ^ d ^ a) + x6 + 76029189) | 0
        b = (((b << 23) | (b >>> 9)) + c) | 0
        a = (a + (b ^ c ^ d) + x9 - 640364487) | 0
        a = (((a << 4) | (a >>> 28)) + b) | 0
        d = (d + (a ^ b ^ c) + x12 - 421815835) | 0
        d = (((d << 11) | (d >>> 21)) + a) | 0
        c = (c + (d ^ a ^ b) + x15 + 530742520) | 0
        c = (((c << 16) | (c >>> 16)) + d) | 0
        b = (b + (c ^ d ^ a) + x2 - 995338651) | 0
        b = (((b << 23) | (b >>> 9)) + c) | 0
        // round 4
        a = (a + (c ^ (b | ~d)) + x0 - 198630844) | 0
        a = (((a << 6) | (a >>> 26)) + b) | 0
        d = (d + (b ^ (a | ~c)) + x7 + 1126891415) | 0
        d = (((d << 10) | (d >>> 22)) + a) | 0
        c = (c + (a ^ (d | ~b)) + x14 - 1416354905) | 0
        c = (((c << 15) | (c >>> 17)) + d) | 0
        b = (b + (d ^ (c | ~a)) + x5 - 57434055) | 0
        b = (((b << 21) | (b >>> 11)) + c) | 0
        a = (a + (c ^ (b | ~d)) + x12 + 1700485571) | 0
        a = (((a << 6) | (a >>> 26)) + b) | 0
        d = (d + (b ^ (a | ~c)) + x3 - 1894986606) | 0
        d = (((d << 10) | (d >>> 22)) + a) | 0
        c = (c + (a ^ (d | ~b)) + x10 - 1051523) | 0
        c = (((c << 15) | (c >>> 17)) + d) | 0
        b = (b + (d ^ (c | ~a)) + x1 - 2054922799) | 0
        b = (((b << 21) | (b >>> 11)) + c) | 0
        a = (a + (c ^ (b | ~d)) + x8 + 1873313359) | 0
        a = (((a << 6) | (a >>> 26)) + b) | 0
        d = (d + (b ^ (a | ~c)) + x15 - 30611744) | 0
        d = (((d << 10) | (d >>> 22)) + a) | 0
        c = (c + (a ^ (d | ~b)) + x6 - 1560198380) | 0
        c = (((c << 15) | (c >>> 17)) + d) | 0
        b = (b + (d ^ (c | ~a)) + x13 + 1309151649) | 0
        b = (((b << 21) | (b >>> 11)) + c) | 0
        a = (a + (c ^ (b | ~d)) + x4 - 145523070) | 0
        a = (((a << 6) | (a >>> 26)) + b) | 0
        d = (d + (b ^ (a | ~c)) + x11 - 1120210379) | 0
        d = (((d << 10) | (d >>> 22)) + a) | 0
        c = (c + (a ^ (d | ~b)) + x2 + 718787259) | 0
        c = (((c << 15) | (c >>> 17)) + d) | 0
        b = (b + (d ^ (c | ~a)) + x9 - 343485551) | 0
        b = (((b << 21) | (b >>> 11)) + c) | 0
        a = (a + a0) | 0
        b = (b + b0) | 0
        c = (c + c0) | 0
        d = (d + d0) | 0
    }
    h[0] = a
    h[1] = b
    h[2] = c
    h[3] = d
}
