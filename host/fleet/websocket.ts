/**
 * A small websocket (RFC 6455) server side for the device protocol: binary
 * messages only, lengths below 64 KiB, unmasked server frames with minimal
 * length encoding (the runtime refuses anything else). Written for this
 * service; no dependency.
 */
import { createHash } from "node:crypto"
import type { IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
/** Largest message accepted from a device (its own sends are far smaller). */
export const MAX_INCOMING = 8192

/** One accepted websocket connection. */
export interface WsConnection {
    /** The upgrade request (path, headers). */
    readonly request: IncomingMessage
    /** Binary message handler; set before messages arrive. */
    onMessage: (msg: Buffer) => void
    /** Called once when the connection ends, with a reason. */
    onClose: (reason: string) => void
    send(msg: Buffer): void
    /** Sends a close frame and ends the TCP connection. */
    close(code?: number): void
    readonly closed: boolean
}

/** Encodes one server (unmasked) frame. */
export function encodeFrame(opcode: number, payload: Buffer): Buffer {
    if (payload.length > 0xffff) throw new RangeError("frame too large")
    const head =
        payload.length <= 125
            ? Buffer.from([0x80 | opcode, payload.length])
            : Buffer.from([
                  0x80 | opcode,
                  126,
                  payload.length >> 8,
                  payload.length & 0xff,
              ])
    return Buffer.concat([head, payload])
}

/** Encodes one client (masked) frame, for protocol-level fake devices. */
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

/**
 * Completes a websocket upgrade on `socket` and returns the connection.
 * `protocol` is echoed back when given (the device ignores it).
 */
export function acceptWebSocket(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer
): WsConnection {
    const key = String(req.headers["sec-websocket-key"] ?? "")
    const accept = createHash("sha1")
        .update(key + GUID)
        .digest("base64")
    const proto = req.headers["sec-websocket-protocol"]
    socket.write(
        "HTTP/1.1 101 Switching Protocols\r\n" +
            "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
            `Sec-WebSocket-Accept: ${accept}\r\n` +
            (proto
                ? `Sec-WebSocket-Protocol: ${String(proto).split(",")[0].trim()}\r\n`
                : "") +
            "\r\n"
    )
    const decoder = new FrameDecoder(true)
    let parts: Buffer[] = []
    let closed = false
    const conn: WsConnection = {
        request: req,
        onMessage: () => {},
        onClose: () => {},
        get closed() {
            return closed
        },
        send(msg: Buffer) {
            if (!closed) socket.write(encodeFrame(0x2, msg))
        },
        close(code = 1000) {
            if (closed) return
            const p = Buffer.alloc(2)
            p.writeUInt16BE(code, 0)
            socket.end(encodeFrame(0x8, p))
            finish("closed by server")
        },
    }
    function finish(reason: string) {
        if (closed) return
        closed = true
        conn.onClose(reason)
    }
    function onData(chunk: Buffer) {
        let frames: Frame[]
        try {
            frames = decoder.push(chunk)
        } catch (e) {
            socket.destroy()
            finish(`protocol error: ${(e as Error).message}`)
            return
        }
        for (const f of frames) {
            if (closed) return
            if (f.opcode === 0x8) {
                socket.end(encodeFrame(0x8, f.payload.subarray(0, 2)))
                finish("closed by device")
            } else if (f.opcode === 0x9)
                socket.write(encodeFrame(0xa, f.payload))
            else if (f.opcode === 0xa) {
                // pong: nothing to do
            } else if (f.opcode === 0x1) {
                socket.destroy()
                finish("text frame")
            } else {
                parts.push(f.payload)
                if (f.fin) {
                    const msg = Buffer.concat(parts)
                    parts = []
                    conn.onMessage(msg)
                }
            }
        }
    }
    socket.on("data", onData)
    socket.on("error", e => finish(`socket error: ${e.message}`))
    socket.on("close", () => finish("connection lost"))
    if (head.length) queueMicrotask(() => onData(head))
    return conn
}
