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
import { encodeMaskedFrame, FrameDecoder } from "./websocket.ts"

/** Jacdac service class of CloudConfiguration. */
export const SRV_CLOUD_CONFIGURATION = 0x1462eefc
/** CloudConfiguration commands. */
export const CloudConfigurationCmd = {
    Connect: 0x81,
    Disconnect: 0x82,
    SetConnectionString: 0x86,
} as const

const FLAG_COMMAND = 0x01
const FLAG_BROADCAST = 0x04
const SERVICE_INDEX_BROADCAST = 0x3d
const BROADCAST_MARK_HI = 0xaaaaaaaa

/** Jacdac CRC-16 (CCITT, initial 0xffff). */
export function jdCrc16(data: Buffer): number {
    let crc = 0xffff
    for (const b of data) {
        let x = ((crc >> 8) ^ b) & 0xff
        x ^= x >> 4
        crc = ((crc << 8) ^ (x << 12) ^ (x << 5) ^ x) & 0xffff
    }
    return crc
}

/**
 * A command frame broadcast to every service of `serviceClass` on the bus.
 * @param data the packet payload, at most 236 bytes
 */
export function broadcastCommandFrame(
    serviceClass: number,
    command: number,
    data: Buffer
): Buffer {
    if (data.length > 236) throw new RangeError("jacdac packet payload > 236")
    const padded = (data.length + 4 + 3) & ~3
    const f = Buffer.alloc(12 + padded)
    f[2] = padded
    f[3] = FLAG_COMMAND | FLAG_BROADCAST
    f.writeUInt32LE(serviceClass >>> 0, 4)
    f.writeUInt32LE(BROADCAST_MARK_HI, 8)
    f[12] = data.length
    f[13] = SERVICE_INDEX_BROADCAST
    f.writeUInt16LE(command, 14)
    data.copy(f, 16)
    f.writeUInt16LE(jdCrc16(f.subarray(2, 12 + padded)), 0)
    return f
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
