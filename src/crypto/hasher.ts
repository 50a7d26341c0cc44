import * as ds from "@devicescript/core"
import { md5Blocks, md5Init } from "./md5"
import { sha1Blocks, sha1Init } from "./sha1"

/** Hash algorithms implemented in bytecode (the runtime only has SHA-256). */
export type BytecodeHashAlgorithm = "md5" | "sha1"

/** Bytes and strings (hashed as UTF-8) are both accepted. */
export type Binary = Buffer | string

/** Size of an MD5 or SHA-1 block in bytes. */
export const BLOCK_SIZE = 64

/**
 * Blocks compressed between two yields to the scheduler. One unrolled block
 * is a few thousand bytecode steps; the VM kills a program that runs about
 * 128K steps without awaiting.
 */
const BLOCKS_PER_YIELD = 8

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
 * caller's buffer; only a partial block is copied, into one 64-byte buffer
 * that also holds the final padding, so memory use does not grow with the
 * input.
 */
export class Hasher {
    private readonly state: number[]
    private readonly compress: (
        h: number[],
        buf: Buffer,
        start: number,
        end: number
    ) => void
    private readonly pending = Buffer.alloc(BLOCK_SIZE)
    private pendingLength = 0
    private totalLength = 0
    private finished = false

    constructor(readonly algo: BytecodeHashAlgorithm) {
        if (algo === "md5") {
            this.state = md5Init()
            this.compress = md5Blocks
        } else if (algo === "sha1") {
            this.state = sha1Init()
            this.compress = sha1Blocks
        } else throw new TypeError(`unknown hash algorithm: ${algo}`)
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
        if (this.finished) throw new Error("hash already finished")
        this.finished = true
        const md5 = this.algo === "md5"
        const block = this.pending
        let used = this.pendingLength
        block[used++] = 0x80
        if (used > BLOCK_SIZE - 8) {
            block.fillAt(used, BLOCK_SIZE - used, 0)
            await this.run(block, 0, BLOCK_SIZE)
            used = 0
        }
        block.fillAt(used, BLOCK_SIZE - 8 - used, 0)
        // message length in bits as a 64-bit integer (the VM computes % in
        // int32, so 2^32 cannot be a divisor)
        const low = this.totalLength << 3
        const high = Math.floor(this.totalLength / 0x20000000) | 0
        if (md5) {
            block.setAt(56, "i32", low)
            block.setAt(60, "i32", high)
        } else {
            writeWordBigEndian(block, 56, high)
            writeWordBigEndian(block, 60, low)
        }
        await this.run(block, 0, BLOCK_SIZE)
        const words = this.state
        const out = Buffer.alloc(words.length * 4)
        for (let i = 0; i < words.length; ++i) {
            if (md5) out.setAt(i * 4, "i32", words[i])
            else writeWordBigEndian(out, i * 4, words[i])
        }
        return out
    }
}

function writeWordBigEndian(buf: Buffer, offset: number, word: number) {
    buf[offset] = (word >>> 24) & 0xff
    buf[offset + 1] = (word >>> 16) & 0xff
    buf[offset + 2] = (word >>> 8) & 0xff
    buf[offset + 3] = word & 0xff
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
