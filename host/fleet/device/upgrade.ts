/**
 * Whether an HTTP upgrade request is a device connecting: the path names a
 * device (`/wssk/<id>`) and the runtime's client nonce is offered as the
 * subprotocol `devs-key-<32 hex>`. A malformed path is refused with a
 * status and a reason, before the websocket opens; an unknown id or a
 * missing nonce is answered as a wrong key is (the websocket opens, the
 * key is never proved), so ids cannot be enumerated. Also the HTTP
 * refusal itself, written on a socket that was never upgraded.
 */
import { STATUS_CODES, type IncomingMessage } from "node:http"
import type { Socket } from "node:net"
import { randomBytes } from "node:crypto"
import { CLIENT_NONCE_BYTES } from "./protocol.ts"
import type { DeviceRecord } from "../store/types.ts"

/** Path prefix of device connections: `/wssk/<deviceId>`. */
export const DEVICE_PATH = "/wssk/"
/** Device ids the service accepts (and `add-device` registers). */
export const DEVICE_ID = /^[A-Za-z0-9._-]{1,64}$/

/**
 * A device's upgrade request, or why it is refused. An unknown id or a
 * missing nonce goes on as a device whose key never matches (see
 * {@link decoyDevice}).
 */
export type DeviceUpgrade =
    | { device: DeviceRecord; clientNonce: Buffer }
    | { status: number; why: string }

const decoys = new WeakMap<DeviceRecord, string>()

/**
 * A stand-in for an unknown device, with a random key: its handshake ends
 * exactly as a wrong key's does (the hello, then close 1008
 * "authentication failed"), so the answers tell a registered id from an
 * unknown one no more than a wrong key does. Nothing is recorded about it.
 */
function decoyDevice(id: string, why: string): DeviceRecord {
    const d: DeviceRecord = {
        id,
        key: randomBytes(32).toString("hex"),
        groups: [],
        platformId: "",
        createdAt: 0,
    }
    decoys.set(d, why)
    return d
}

/**
 * Why `d` stands in for a device ("unknown device", "no client nonce"),
 * or undefined for a registered device. Nothing is recorded about a decoy.
 */
export function decoyReason(d: DeviceRecord): string | undefined {
    return decoys.get(d)
}

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
    const found = await device(id)
    // one answer for an unknown id, a missing nonce and a wrong key
    const decoy = !found ? "unknown device" : !proto ? "no client nonce" : ""
    return {
        device: decoy ? decoyDevice(id, decoy) : found!,
        clientNonce: proto
            ? Buffer.from(proto[1], "hex")
            : randomBytes(CLIENT_NONCE_BYTES),
    }
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
