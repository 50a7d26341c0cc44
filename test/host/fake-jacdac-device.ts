// A Jacdac TCP server like the one dev tools offers on 127.0.0.1:8082, with
// one fake DeviceScript device on it: it announces its services, answers
// acknowledgements, and hands every command addressed to it to the test.
import { createServer, type AddressInfo, type Socket } from "node:net"
import {
    decodeFrame,
    encodeFrame,
    FLAG_ACK_REQUESTED,
    FLAG_COMMAND,
    SERVICE_INDEX_CRC_ACK,
    type Packet,
} from "../../host/jacdac/frame.ts"
import { frameReader, lengthPrefixed } from "../../host/jacdac/tcp-link.ts"

/** Sends a report from the device: service index, command, payload. */
export type Reply = (
    serviceIndex: number,
    command: number,
    payload: Buffer
) => void

/** The fake device. */
export interface FakeJacdacDevice {
    /** 16 hex digits. */
    deviceId: string
    /** Service classes at indices 1, 2, ... (0 is the control service). */
    services: number[]
    /** First word of the announce (the control service's flags); default 0. */
    announceFlags?: number
    /** How often it announces itself (ms). */
    announceMs: number
    /** False: the command is lost (not acknowledged, not handled). */
    accepts?: (p: Packet) => boolean
    /** A command addressed to the device, after its acknowledgement. */
    onCommand(p: Packet, reply: Reply): void
}

/** A running fake bus. */
export interface FakeJacdacBus {
    readonly port: number
    close(): Promise<void>
}

/** Serves `device` on a free loopback port. */
export async function serveFakeJacdacBus(
    device: FakeJacdacDevice
): Promise<FakeJacdacBus> {
    const announce = Buffer.alloc(4 + 4 * device.services.length)
    announce.writeUInt32LE(device.announceFlags ?? 0, 0)
    device.services.forEach((c, i) => announce.writeUInt32LE(c, 4 + 4 * i))
    const connect = (sock: Socket) => {
        const reply: Reply = (serviceIndex, command, payload) =>
            sock.write(
                lengthPrefixed(
                    encodeFrame({
                        deviceId: device.deviceId,
                        flags: 0,
                        serviceIndex,
                        command,
                        payload,
                    })
                )
            )
        const timer = setInterval(
            () => reply(0, 0, announce),
            device.announceMs
        )
        sock.on("close", () => clearInterval(timer))
        sock.on("error", () => {})
        sock.on(
            "data",
            frameReader(frame => {
                for (const p of decodeFrame(frame)) {
                    if (!(p.flags & FLAG_COMMAND)) continue
                    if (p.deviceId !== device.deviceId) continue
                    if (device.accepts && !device.accepts(p)) continue
                    if (p.flags & FLAG_ACK_REQUESTED)
                        reply(
                            SERVICE_INDEX_CRC_ACK,
                            frame.readUInt16LE(0),
                            Buffer.alloc(0)
                        )
                    device.onCommand(p, reply)
                }
            })
        )
    }
    const server = createServer(connect)
    await new Promise<void>(r => server.listen(0, "127.0.0.1", r))
    return {
        port: (server.address() as AddressInfo).port,
        close: () => new Promise<void>(r => server.close(() => r())),
    }
}
