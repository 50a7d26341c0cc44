/**
 * Just enough Jacdac framing to give a DeviceScript device its cloud
 * connection string: the runtime reads it raw from its own flash key
 * `wssk_connstr`, which the Settings service cannot write (that service
 * prefixes every key with `:`), so it must arrive as the CloudConfiguration
 * service's `set_connection_string` command, over the device's Jacdac link
 * (USB serial on a board, the dev tools bus in the simulator).
 */
import { connect, type Socket } from "node:net"
import { randomBytes } from "node:crypto"
import {
    encodeFrame,
    FLAG_BROADCAST,
    FLAG_COMMAND,
} from "../provision/jacdac.ts"
import { encodeMaskedFrame, FrameDecoder } from "./websocket.ts"

/** Jacdac service class of CloudConfiguration. */
export const SRV_CLOUD_CONFIGURATION = 0x1462eefc
/** CloudConfiguration commands. */
export const CloudConfigurationCmd = {
    Connect: 0x81,
    Disconnect: 0x82,
    SetConnectionString: 0x86,
} as const

const SERVICE_INDEX_BROADCAST = 0x3d
/** The high half of a broadcast frame's device id (the low half is the class). */
const BROADCAST_MARK_HI = 0xaaaaaaaa

/**
 * A command frame broadcast to every service of `serviceClass` on the bus.
 * @param data the packet payload, at most 236 bytes
 */
export function broadcastCommandFrame(
    serviceClass: number,
    command: number,
    data: Buffer
): Buffer {
    const id = Buffer.alloc(8)
    id.writeUInt32LE(serviceClass >>> 0, 0)
    id.writeUInt32LE(BROADCAST_MARK_HI, 4)
    return encodeFrame({
        deviceId: id.toString("hex"),
        flags: FLAG_COMMAND | FLAG_BROADCAST,
        serviceIndex: SERVICE_INDEX_BROADCAST,
        command,
        payload: data,
    })
}

/** The `set_connection_string` command frame (empty string clears it). */
export function setConnectionStringFrame(connStr: string): Buffer {
    return broadcastCommandFrame(
        SRV_CLOUD_CONFIGURATION,
        CloudConfigurationCmd.SetConnectionString,
        Buffer.from(connStr, "utf8")
    )
}

/**
 * Sends Jacdac frames to the simulator's bus through the dev tools
 * websocket (ws://127.0.0.1:8081 of a running `startSim` session), which
 * relays them to the simulated device. Resolves once written.
 */
export async function sendFramesToSimBus(
    frames: Buffer[],
    port = 8081
): Promise<void> {
    const sock: Socket = connect({ host: "127.0.0.1", port })
    await new Promise<void>((resolve, reject) => {
        sock.once("connect", resolve)
        sock.once("error", reject)
    })
    const key = randomBytes(16).toString("base64")
    sock.write(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
            `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`
    )
    await new Promise<void>((resolve, reject) => {
        let acc = Buffer.alloc(0)
        const onData = (d: Buffer) => {
            acc = Buffer.concat([acc, d])
            const end = acc.indexOf("\r\n\r\n")
            if (end < 0) return
            sock.off("data", onData)
            if (!acc.subarray(0, 12).toString().startsWith("HTTP/1.1 101"))
                reject(new Error("dev tools refused the websocket"))
            else resolve()
        }
        sock.on("data", onData)
        sock.once("error", reject)
    })
    // frames from the bus are read and dropped (the decoder checks framing)
    const dec = new FrameDecoder(false)
    sock.on("data", d => {
        try {
            dec.push(d)
        } catch {}
    })
    for (const f of frames)
        sock.write(encodeMaskedFrame(0x2, f, randomBytes(4)))
    await new Promise<void>(r =>
        sock.end(encodeMaskedFrame(0x8, Buffer.from([0x03, 0xe8])), r)
    )
    sock.destroy()
}
