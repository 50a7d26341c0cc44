/**
 * Fake dev tools Jacdac TCP ports (length-prefixed frames, like the one dev
 * tools offers on 127.0.0.1:8082), each with one fake DeviceScript device on
 * it. `serveFakeJacdacBus` is the bus: the device announces its services,
 * acknowledges commands that ask for it and hands every command addressed
 * to it to the test. `fakeBus` is a device on it that answers like the
 * runtime: it keeps settings written over the settings service and reports
 * them when asked, and records the connection strings sent to its
 * CloudConfiguration service.
 */
import {
    createServer,
    type AddressInfo,
    type Server,
    type Socket,
} from "node:net"
import {
    decodeFrame,
    encodeFrame,
    FLAG_ACK_REQUESTED,
    FLAG_COMMAND,
    SERVICE_INDEX_CRC_ACK,
    type Packet,
} from "../../host/jacdac/frame.ts"
import {
    CloudConfigurationCmd,
    SETTINGS_CMD_GET,
    SETTINGS_CMD_SET,
    SRV_CLOUD_CONFIGURATION,
    SRV_SETTINGS,
} from "../../host/jacdac/services.ts"
import { frameReader, lengthPrefixed } from "../../host/jacdac/tcp-link.ts"

/** The fake device's Jacdac id. */
export const BUS_DEVICE = "1989f4ee306ad401"

/** A free TCP port (nothing listens on it afterwards). */
export async function closedPort(): Promise<number> {
    const s = createServer()
    await new Promise<void>(r => s.listen(0, "127.0.0.1", r))
    const { port } = s.address() as AddressInfo
    await new Promise(r => s.close(r))
    return port
}

/** Listens on a free loopback port and returns it. */
export async function listen(s: Server): Promise<number> {
    await new Promise<void>(r => s.listen(0, "127.0.0.1", r))
    return (s.address() as AddressInfo).port
}

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
    device.services.forEach((c, i) =>
        announce.writeUInt32LE(c >>> 0, 4 + 4 * i)
    )
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
    const sockets = new Set<Socket>()
    const server = createServer(sock => {
        sockets.add(sock)
        sock.on("close", () => sockets.delete(sock))
        connect(sock)
    })
    const port = await listen(server)
    return {
        port,
        close: () => {
            for (const s of sockets) s.destroy()
            return new Promise<void>(r => server.close(() => r()))
        },
    }
}

/** The fake bus and what its device was sent. */
export interface FakeBus {
    port: number
    connectionStrings: string[]
    /** settings written, key → stored bytes as text */
    settings: Map<string, string>
    /** commands received in order, as `serviceIndex:0xcommand` */
    commands: string[]
    close(): Promise<void>
}

/**
 * Starts the fake bus; its device (`BUS_DEVICE`) announces `classes` (after
 * the control service at index 0) ten times a second and calls
 * `onConnectionString` for each string.
 */
export async function fakeBus(
    classes: number[],
    onConnectionString: (s: string) => void = () => {}
): Promise<FakeBus> {
    const connectionStrings: string[] = []
    const settings = new Map<string, string>()
    const commands: string[] = []
    const onCommand = (p: Packet, reply: Reply) => {
        commands.push(`${p.serviceIndex}:0x${p.command.toString(16)}`)
        const service = classes[p.serviceIndex - 1]
        if (
            service === SRV_CLOUD_CONFIGURATION &&
            p.command === CloudConfigurationCmd.SetConnectionString
        ) {
            const s = p.payload.toString("utf8")
            connectionStrings.push(s)
            onConnectionString(s)
        } else if (service === SRV_SETTINGS && p.command === SETTINGS_CMD_SET) {
            const nul = p.payload.indexOf(0)
            settings.set(
                p.payload.subarray(0, nul).toString(),
                p.payload.subarray(nul + 1).toString()
            )
        } else if (service === SRV_SETTINGS && p.command === SETTINGS_CMD_GET) {
            const key = p.payload.toString()
            const value = settings.get(key)
            if (value !== undefined)
                reply(
                    p.serviceIndex,
                    SETTINGS_CMD_GET,
                    Buffer.from(`${key}\0${value}`)
                )
        }
    }
    const bus = await serveFakeJacdacBus({
        deviceId: BUS_DEVICE,
        services: classes,
        announceFlags: 0x101,
        announceMs: 100,
        onCommand,
    })
    return {
        port: bus.port,
        connectionStrings,
        settings,
        commands,
        close: () => bus.close(),
    }
}
