/**
 * Just enough Jacdac (the packet protocol the DeviceScript runtime speaks
 * over USB serial, and the dev tools bus relays) to write settings:
 * frames with CRC-16, packets, announce parsing. Pure.
 *
 * Frame: crc16 u16 (CCITT, init 0xffff, over the rest), size u8 (bytes
 * after the 12-byte header), flags u8, device id (8 bytes), then packets
 * of: payload size u8, service index u8, command u16, payload, padded to 4.
 */

export const FLAG_COMMAND = 0x01
export const FLAG_ACK_REQUESTED = 0x02
export const FLAG_BROADCAST = 0x04
export const SERVICE_INDEX_CRC_ACK = 0x3f

export const SRV_SETTINGS = 0x1107dc4a
export const SRV_DEVICE_SCRIPT_MANAGER = 0x1134ea2b
export const SRV_WIFI = 0x18aae1fa
export const SETTINGS_CMD_GET = 0x80
export const SETTINGS_CMD_SET = 0x81
export const WIFI_CMD_ADD_NETWORK = 0x81
export const CONTROL_CMD_RESET = 0x82

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
    if (p.payload.length > 236)
        throw new RangeError(`payload of ${p.payload.length} bytes exceeds 236`)
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

/** Payload of a settings SET: key, NUL, value bytes. */
export function settingsSetPayload(key: string, value: Uint8Array): Buffer {
    return Buffer.concat([Buffer.from(key + "\0", "utf8"), value])
}

/** Key and value of a settings GET report. */
export function parseSettingsGet(payload: Buffer) {
    const nul = payload.indexOf(0)
    if (nul < 0) return undefined
    return {
        key: payload.subarray(0, nul).toString("utf8"),
        value: payload.subarray(nul + 1),
    }
}
