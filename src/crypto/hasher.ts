import * as ds from "@devicescript/core"
import { MD5_IV, md5Blocks } from "./md5"
import { SHA1_IV, sha1Blocks } from "./sha1"

/** Hash algorithms implemented in bytecode (the runtime only has SHA-256). */
export type BytecodeHashAlgorithm = "md5" | "sha1"

/** Bytes and strings (hashed as UTF-8) are both accepted. */
export type Binary = Buffer | string

/** Size of an MD5 or SHA-1 block in bytes. */
export const BLOCK_SIZE = 64

/**
 * Blocks processed between two yields to the scheduler. The VM kills a
 * program that runs 128K bytecode steps without yielding: one call that runs
 * 14 SHA-1 or 23 MD5 blocks trips it (`npm run bench`), about 10K and 6K
 * steps a block. 4 blocks use under a third of that budget and leave the
 * rest to the caller's own code between yields.
 */
const BLOCKS_PER_YIELD = 4

/**
 * Blocks compressed since the last yield, by any hasher: a caller that hashes
 * many short messages in a row never suspends otherwise.
 */
let blocksSinceYield = 0

/** Bytes and strings as bytes; strings are UTF-8. */
export function toBuffer(data: Binary): Buffer {
    return typeof data === "string" ? Buffer.from(data) : data
}

/**
 * Incremental MD5 or SHA-1. Whole blocks are compressed straight from the
 * caller's buffer; only a partial block is copied, into one 64-byte buffer,
 * so memory use does not grow with the input.
 */
export class Hasher {
    /** The chaining words, 32-bit little-endian (see md5.ts, sha1.ts). */
    private readonly state: Buffer
    private readonly compress: (
        h: Buffer,
        buf: Buffer,
        start: number,
        end: number
    ) => void
    private readonly pending = Buffer.alloc(BLOCK_SIZE)
    private pendingLength = 0
    private totalLength = 0
    private finished = false

    constructor(readonly algo: BytecodeHashAlgorithm) {
        let iv: Buffer
        if (algo === "md5") {
            iv = MD5_IV
            this.compress = md5Blocks
        } else if (algo === "sha1") {
            iv = SHA1_IV
            this.compress = sha1Blocks
        } else throw new TypeError(`unknown hash algorithm: ${algo}`)
        this.state = Buffer.from(iv)
    }

    private async run(buf: Buffer, start: number, end: number) {
        while (start < end) {
            let room = BLOCKS_PER_YIELD - blocksSinceYield
            if (room <= 0) {
                await ds.sleep(0)
                blocksSinceYield = 0
                room = BLOCKS_PER_YIELD
            }
            const stop = Math.min(end, start + room * BLOCK_SIZE)
            this.compress(this.state, buf, start, stop)
            blocksSinceYield += (stop - start) >> 6
            start = stop
        }
    }

    /** Adds `data` to the message. */
    async update(data: Binary) {
        if (this.finished) throw new Error("hash already finished")
        const buf = toBuffer(data)
        const length = buf.length
        this.totalLength += length
        let offset = 0
        if (this.pendingLength > 0) {
            offset = Math.min(BLOCK_SIZE - this.pendingLength, length)
            this.pending.blitAt(this.pendingLength, buf, 0, offset)
            this.pendingLength += offset
            if (this.pendingLength < BLOCK_SIZE) return
            await this.run(this.pending, 0, BLOCK_SIZE)
            this.pendingLength = 0
        }
        const wholeEnd = offset + ((length - offset) & ~(BLOCK_SIZE - 1))
        await this.run(buf, offset, wholeEnd)
        if (wholeEnd < length) {
            this.pendingLength = length - wholeEnd
            this.pending.blitAt(0, buf, wholeEnd, this.pendingLength)
        }
    }

    /** Pads the message, and returns the 16-byte (MD5) or 20-byte (SHA-1) digest. */
    async digest(): Promise<Buffer> {
        // byte i of a little-endian number is byte i ^ swap in the digest's
        // order: MD5 is little-endian (swap 0), SHA-1 big-endian (i ^ 7
        // reverses 8 bytes, i ^ 3 each 4-byte word)
        const swap = this.algo === "sha1" ? 7 : 0
        // RFC 1321 §3.1-3.2, FIPS 180-4 §5.1.1: 0x80, zeros up to 56 mod 64
        // bytes, and the length in bits as an 8-byte number
        const zeros = (55 - this.totalLength) & 63
        const tail = Buffer.alloc(zeros + 9)
        tail[0] = 0x80
        let bits = this.totalLength * 8
        for (let i = 0; i < 8; ++i) {
            tail[zeros + 1 + (i ^ swap)] = bits & 0xff
            bits = Math.floor(bits / 256)
        }
        await this.update(tail)
        this.finished = true
        // the state words (see md5.ts, sha1.ts) in the digest's byte order
        const out = Buffer.alloc(this.state.length)
        for (let i = 0; i < out.length; ++i) out[i] = this.state[i ^ (swap & 3)]
        return out
    }
}

/** Hashes `data` in one go. */
export async function hashBytecode(
    algo: BytecodeHashAlgorithm,
    data: Binary
): Promise<Buffer> {
    const hasher = new Hasher(algo)
    await hasher.update(data)
    return await hasher.digest()
}
