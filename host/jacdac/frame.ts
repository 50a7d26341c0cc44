/**
 * Jacdac framing (the packet protocol the DeviceScript runtime speaks over
 * USB serial, and the dev tools bus relays): frames with CRC-16, packets,
 * announce parsing, broadcast addressing. Pure.
 *
 * Frame: crc16 u16 (CCITT, init 0xffff, over the rest), size u8 (bytes
 * after the 12-byte header), flags u8, device id (8 bytes), then packets
 * of: payload size u8, service index u8, command u16, payload, padded to 4.
 */

export const FLAG_COMMAND = 0x01
export const FLAG_ACK_REQUESTED = 0x02
export const FLAG_BROADCAST = 0x04
export const SERVICE_INDEX_CRC_ACK = 0x3f
export const SERVICE_INDEX_BROADCAST = 0x3d
/** Largest packet payload. */
export const MAX_PAYLOAD = 236
/** The high half of a broadcast frame's device id (the low half is the class). */
const BROADCAST_MARK_HI = 0xaaaaaaaa

/** jacdac-c's `jd_crc16`. */
export function crc16(data: Uint8Array): number {
    let crc = 0xffff
    for (const b of data) {
        let x = ((crc >> 8) ^ b) & 0xff
        x ^= x >> 4
        crc = ((crc << 8) ^ (x << 12) ^ (x << 5) ^ x) & 0xffff
    }
    return crc
}

/** One packet of a frame. */
export interface Packet {
    /** 16 hex digits */
    deviceId: string
    flags: number
    serviceIndex: number
    command: number
    payload: Buffer
}

/** A frame holding one packet. */
export function encodeFrame(p: Packet): Buffer {
    if (p.payload.length > MAX_PAYLOAD)
        throw new RangeError(
            `payload of ${p.payload.length} bytes exceeds ${MAX_PAYLOAD}`
        )
    const body = 4 + p.payload.length
    const padded = (body + 3) & ~3
    const f = Buffer.alloc(12 + padded, 0)
    f[2] = padded
    f[3] = p.flags
    Buffer.from(p.deviceId, "hex").copy(f, 4)
    f[12] = p.payload.length
    f[13] = p.serviceIndex
    f.writeUInt16LE(p.command, 14)
    p.payload.copy(f, 16)
    f.writeUInt16LE(crc16(f.subarray(2, 12 + padded)), 0)
    return f
}

/** Packets of a frame; none when the CRC or sizes are wrong. */
export function decodeFrame(f: Uint8Array): Packet[] {
    const b = Buffer.from(f)
    if (b.length < 16 || b.length < 12 + b[2]) return []
    const end = 12 + b[2]
    if (crc16(b.subarray(2, end)) !== b.readUInt16LE(0)) return []
    const out: Packet[] = []
    const deviceId = b.subarray(4, 12).toString("hex")
    for (let at = 12; at + 4 <= end;) {
        const size = b[at]
        if (at + 4 + size > end) break
        out.push({
            deviceId,
            flags: b[3],
            serviceIndex: b[at + 1],
            command: b.readUInt16LE(at + 2),
            payload: Buffer.from(b.subarray(at + 4, at + 4 + size)),
        })
        at += (4 + size + 3) & ~3
    }
    return out
}

/** Service classes of an announce packet (index 0 is the control service). */
export function announcedServices(p: Packet): number[] | undefined {
    if (p.flags & FLAG_COMMAND || p.serviceIndex !== 0 || p.command !== 0)
        return undefined
    const classes = [0]
    for (let i = 4; i + 4 <= p.payload.length; i += 4)
        classes.push(p.payload.readUInt32LE(i))
    return classes
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
