/**
 * A Jacdac connection over the dev tools TCP port (8082 by default): frames
 * length-prefixed on the stream, packets sent and awaited. Serves the
 * simulator harness's deploy and the settings writer.
 */
import { connect, type Socket } from "node:net"
import { decodeFrame, encodeFrame, type Packet } from "./frame.ts"

/** A Jacdac TCP connection to dev tools: send frames, wait for packets. */
export interface JacdacLink {
    send(p: Packet): Buffer
    next(match: (p: Packet) => boolean, ms: number): Promise<Packet | undefined>
    close(): void
}

/** A frame as it goes on the TCP stream: its length first. */
export function lengthPrefixed(frame: Buffer): Buffer {
    return Buffer.concat([Buffer.from([frame.length]), frame])
}

/** Splits the length-prefixed TCP stream into frames; feed it every chunk. */
export function frameReader(onFrame: (frame: Buffer) => void) {
    let acc = Buffer.alloc(0)
    return (data: Buffer) => {
        acc = Buffer.concat([acc, data])
        while (acc.length) {
            let off = 1
            let end = acc[0] + 1
            if (acc[0] === 0xff) {
                if (acc.length < 3) break
                off = 3
                end = 3 + acc.readUInt16LE(1)
            }
            if (acc.length < end) break
            onFrame(acc.subarray(off, end))
            acc = acc.subarray(end)
        }
    }
}

/**
 * Ends the connection from our side first: dev tools may still be relaying
 * a frame to us, and a reset socket makes it log an EPIPE stack trace.
 */
function closeGently(sock: Socket) {
    sock.end()
    setTimeout(() => sock.destroy(), 1000).unref()
}

/** Connects to a dev tools Jacdac TCP port; rejects when nothing listens. */
export function openJacdacLink(
    port: number,
    host = "127.0.0.1"
): Promise<JacdacLink> {
    return new Promise((resolve, reject) => {
        const sock: Socket = connect({ host, port })
        const waiters = new Set<(p: Packet) => boolean>()
        sock.on(
            "data",
            frameReader(frame => {
                for (const p of decodeFrame(frame))
                    for (const w of [...waiters]) if (w(p)) waiters.delete(w)
            })
        )
        sock.once("error", reject)
        sock.once("connect", () => {
            sock.off("error", reject)
            sock.on("error", () => {})
            resolve({
                send(p) {
                    const f = encodeFrame(p)
                    sock.write(lengthPrefixed(f))
                    return f
                },
                next(match, ms) {
                    return new Promise(res => {
                        const w = (p: Packet) => {
                            if (!match(p)) return false
                            clearTimeout(t)
                            res(p)
                            return true
                        }
                        const t = setTimeout(
                            () => {
                                waiters.delete(w)
                                res(undefined)
                            },
                            Math.max(ms, 0)
                        )
                        waiters.add(w)
                    })
                },
                close: () => closeGently(sock),
            })
        })
    })
}
