/**
 * Whether an HTTP upgrade request is a device connecting: the path names a
 * registered device (`/wssk/<id>`) and the runtime's client nonce is
 * offered as the subprotocol `devs-key-<32 hex>`. Anything else is refused
 * with a status and a reason, before the websocket opens. Also the HTTP
 * refusal itself, written on a socket that was never upgraded.
 */
import { STATUS_CODES, type IncomingMessage } from "node:http"
import type { Socket } from "node:net"
import type { DeviceRecord } from "./storage.ts"

/** Path prefix of device connections: `/wssk/<deviceId>`. */
export const DEVICE_PATH = "/wssk/"
/** Device ids the service accepts (and `add-device` registers). */
export const DEVICE_ID = /^[A-Za-z0-9._-]{1,64}$/

/** A device's upgrade request, or why it is refused (`log`: what the log says, when the peer is told less). */
export type DeviceUpgrade =
    | { device: DeviceRecord; clientNonce: Buffer }
    | { status: number; why: string; log?: string }

/**
 * The one answer to an unknown device id and to a request without a valid
 * client nonce: the same status and text, so that a registered id cannot
 * be told from an unknown one by a request without a nonce.
 */
export const NO_DEVICE = {
    status: 404,
    why: "unknown device, or no client nonce (devs-key-<32 hex>)",
} as const

/** Reads an upgrade request; `device` looks up a registered device by id. */
export async function readDeviceUpgrade(
    req: IncomingMessage,
    device: (id: string) => Promise<DeviceRecord | undefined>
): Promise<DeviceUpgrade> {
    const url = req.url ?? ""
    if (!url.startsWith(DEVICE_PATH))
        return { status: 404, why: "unknown path" }
    let id: string
    try {
        id = decodeURIComponent(url.slice(DEVICE_PATH.length))
    } catch {
        return { status: 400, why: "bad percent-encoding in the path" }
    }
    if (!DEVICE_ID.test(id)) return { status: 404, why: "unknown device" }
    // read the header before the lookup awaits
    const proto = /^devs-key-([0-9a-f]{32})$/i.exec(
        String(req.headers["sec-websocket-protocol"] ?? "")
    )
    if (!proto) return { ...NO_DEVICE, log: `${id}: no client nonce` }
    const found = await device(id)
    if (!found) return { ...NO_DEVICE, log: `${id}: unknown device` }
    return { device: found, clientNonce: Buffer.from(proto[1], "hex") }
}

/** Writes an HTTP refusal on a socket that has not been upgraded, and ends it. */
export function refuseHttp(socket: Socket, status: number, why: string) {
    if (socket.destroyed || !socket.writable) return
    const body = why + "\n"
    socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n` +
            `Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    )
    setTimeout(() => socket.destroy(), 1000).unref()
}
