/**
 * A minimal WebSocket client (RFC 6455), just enough to talk to the
 * DeviceScript dev tools server's side channel on ws://127.0.0.1:8081:
 * masked text frames out, text frames in (binary Jacdac frames, pings and
 * fragments are consumed and ignored). Node 20 has no global WebSocket
 * without a flag, and the CLI's bundled polyfill is not importable.
 */
import { request } from "node:http"
import { randomBytes } from "node:crypto"
import type { Socket } from "node:net"

export interface MiniWebSocket {
    /** Sends one text message. */
    send(text: string): void
    /** Sends a normal close frame and ends the connection. */
    close(): void
}

/**
 * Opens `ws://HOST:PORT/`, calling `onText` for every text message the
 * server sends and `onClose` once when the connection ends.
 */
export function connectWebSocket(
    host: string,
    port: number,
    onText: (text: string) => void,
    onClose: () => void = () => {}
): Promise<MiniWebSocket> {
    return new Promise((resolve, reject) => {
        const req = request({
            host,
            port,
            path: "/",
            headers: {
                Connection: "Upgrade",
                Upgrade: "websocket",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": randomBytes(16).toString("base64"),
            },
        })
        req.on("error", reject)
        req.on("response", res => {
            res.resume()
            reject(new Error(`websocket upgrade refused: ${res.statusCode}`))
        })
        req.on("upgrade", (_res, socket: Socket, head: Buffer) => {
            let acc = head
            let closed = false
            let fragments: Buffer[] = []
            let fragmentOpcode = 0
            const finish = () => {
                if (closed) return
                closed = true
                onClose()
            }
            socket.on("close", finish)
            socket.on("error", finish)
            const write = (opcode: number, payload: Buffer) => {
                if (socket.destroyed) return
                const mask = randomBytes(4)
                const len = payload.length
                const hdr =
                    len < 126
                        ? Buffer.from([0x80 | opcode, 0x80 | len])
                        : len < 65536
                          ? Buffer.from([
                                0x80 | opcode,
                                0x80 | 126,
                                len >> 8,
                                len & 0xff,
                            ])
                          : Buffer.concat([
                                Buffer.from([0x80 | opcode, 0x80 | 127]),
                                (() => {
                                    const b = Buffer.alloc(8)
                                    b.writeBigUInt64BE(BigInt(len))
                                    return b
                                })(),
                            ])
                const body = Buffer.from(payload)
                for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3]
                socket.write(Buffer.concat([hdr, mask, body]))
            }
            socket.on("data", (d: Buffer) => {
                acc = acc.length ? Buffer.concat([acc, d]) : d
                for (;;) {
                    if (acc.length < 2) return
                    const acc0 = acc[0]
                    const opcode = acc[0] & 0x0f
                    const masked = (acc[1] & 0x80) !== 0
                    let len = acc[1] & 0x7f
                    let off = 2
                    if (len === 126) {
                        if (acc.length < 4) return
                        len = acc.readUInt16BE(2)
                        off = 4
                    } else if (len === 127) {
                        if (acc.length < 10) return
                        len = Number(acc.readBigUInt64BE(2))
                        off = 10
                    }
                    const maskKey = masked ? acc.subarray(off, off + 4) : null
                    if (masked) off += 4
                    if (acc.length < off + len) return
                    const payload = Buffer.from(acc.subarray(off, off + len))
                    acc = acc.subarray(off + len)
                    if (maskKey)
                        for (let i = 0; i < payload.length; i++)
                            payload[i] ^= maskKey[i & 3]
                    const fin = (acc0 & 0x80) !== 0
                    if (opcode === 1 || opcode === 2 || opcode === 0) {
                        if (opcode !== 0) {
                            fragments = []
                            fragmentOpcode = opcode
                        }
                        fragments.push(payload)
                        if (!fin) continue
                        const message = Buffer.concat(fragments)
                        fragments = []
                        if (fragmentOpcode === 1)
                            onText(message.toString("utf8"))
                    } else if (opcode === 8) {
                        socket.end()
                        finish()
                    } else if (opcode === 9) write(10, payload)
                }
            })
            resolve({
                send: text => write(1, Buffer.from(text, "utf8")),
                close: () => {
                    write(8, Buffer.from([0x03, 0xe8])) // 1000: normal
                    socket.end()
                },
            })
        })
        req.end()
    })
}
