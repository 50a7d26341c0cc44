// A websocket (RFC 6455) frame codec for raw hostile peers: the tests that
// send the fleet service frames no well-behaved client (the `ws` package
// the host tools use) would write, and read the close codes it answers.

/** Largest frame the decoder accepts. */
export const MAX_INCOMING = 8192

/** Encodes one client (masked) frame; the mask is fixed unless given. */
export function encodeMaskedFrame(
    opcode: number,
    payload: Buffer,
    mask = Buffer.from([0x12, 0x34, 0x56, 0x78])
): Buffer {
    const len = payload.length
    const head =
        len <= 125
            ? Buffer.from([0x80 | opcode, 0x80 | len])
            : Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff])
    const body = Buffer.alloc(len)
    for (let i = 0; i < len; i++) body[i] = payload[i] ^ mask[i & 3]
    return Buffer.concat([head, mask, body])
}

/** A decoded frame. */
export interface Frame {
    fin: boolean
    opcode: number
    payload: Buffer
}

/**
 * Incremental frame decoder. `push` returns complete frames; throws on
 * frames this protocol never uses (64-bit lengths, oversized).
 */
export class FrameDecoder {
    private buf = Buffer.alloc(0)
    constructor(readonly expectMasked: boolean) {}
    push(chunk: Buffer): Frame[] {
        this.buf = Buffer.concat([this.buf, chunk])
        const out: Frame[] = []
        for (;;) {
            const b = this.buf
            if (b.length < 2) break
            const masked = (b[1] & 0x80) !== 0
            if (masked !== this.expectMasked)
                throw new Error(
                    masked ? "masked server frame" : "unmasked client frame"
                )
            let len = b[1] & 0x7f
            let off = 2
            if (len === 127) throw new Error("64-bit frame length")
            if (len === 126) {
                if (b.length < 4) break
                len = b.readUInt16BE(2)
                off = 4
            }
            if (len > MAX_INCOMING) throw new Error(`frame of ${len} bytes`)
            const maskOff = off
            if (masked) off += 4
            if (b.length < off + len) break
            const payload = Buffer.from(b.subarray(off, off + len))
            if (masked)
                for (let i = 0; i < len; i++) payload[i] ^= b[maskOff + (i & 3)]
            out.push({ fin: (b[0] & 0x80) !== 0, opcode: b[0] & 0x0f, payload })
            this.buf = b.subarray(off + len)
        }
        return out
    }
}
