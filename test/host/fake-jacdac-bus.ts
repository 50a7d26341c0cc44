/**
 * A fake dev tools Jacdac TCP port (length-prefixed frames) with one device
 * on it that answers like the runtime: it announces its services twice a
 * second or so, acknowledges commands that ask for it, keeps settings
 * written over the settings service and reports them when asked, and
 * records the connection strings sent to its CloudConfiguration service.
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
 * Starts the fake bus; its device announces `classes` (after the control
 * service at index 0) and calls `onConnectionString` for each string.
 */
export async function fakeBus(
    classes: number[],
    onConnectionString: (s: string) => void = () => {}
): Promise<FakeBus> {
    const bus: Omit<FakeBus, "port" | "close"> = {
        connectionStrings: [],
        settings: new Map(),
        commands: [],
    }
    const send = (sock: Socket, p: Packet) => {
        const f = encodeFrame(p)
        sock.write(Buffer.concat([Buffer.from([f.length]), f]))
    }
    const report = (
        sock: Socket,
        serviceIndex: number,
        command: number,
        payload: Buffer
    ) =>
        send(sock, {
            deviceId: BUS_DEVICE,
            flags: 0,
            serviceIndex,
            command,
            payload,
        })
    const handle = (sock: Socket, frame: Buffer, p: Packet) => {
        if (!(p.flags & FLAG_COMMAND) || p.deviceId !== BUS_DEVICE) return
        bus.commands.push(`${p.serviceIndex}:0x${p.command.toString(16)}`)
        if (p.flags & FLAG_ACK_REQUESTED)
            report(
                sock,
                SERVICE_INDEX_CRC_ACK,
                frame.readUInt16LE(0),
                Buffer.alloc(0)
            )
        const service = classes[p.serviceIndex - 1]
        if (
            service === SRV_CLOUD_CONFIGURATION &&
            p.command === CloudConfigurationCmd.SetConnectionString
        ) {
            const s = p.payload.toString("utf8")
            bus.connectionStrings.push(s)
            onConnectionString(s)
        } else if (service === SRV_SETTINGS && p.command === SETTINGS_CMD_SET) {
            const nul = p.payload.indexOf(0)
            bus.settings.set(
                p.payload.subarray(0, nul).toString(),
                p.payload.subarray(nul + 1).toString()
            )
        } else if (service === SRV_SETTINGS && p.command === SETTINGS_CMD_GET) {
            const key = p.payload.toString()
            const value = bus.settings.get(key)
            if (value !== undefined)
                report(
                    sock,
                    p.serviceIndex,
                    SETTINGS_CMD_GET,
                    Buffer.from(`${key}\0${value}`)
                )
        }
    }
    const sockets = new Set<Socket>()
    const server = createServer(sock => {
        sockets.add(sock)
        sock.on("error", () => {})
        const announce = Buffer.alloc(4 * (classes.length + 1))
        announce.writeUInt32LE(0x101, 0)
        classes.forEach((c, i) => announce.writeUInt32LE(c >>> 0, 4 * (i + 1)))
        const timer = setInterval(() => report(sock, 0, 0, announce), 100)
        sock.on("close", () => clearInterval(timer))
        let acc = Buffer.alloc(0)
        sock.on("data", d => {
            acc = Buffer.concat([acc, d])
            while (acc.length && acc.length >= acc[0] + 1) {
                const frame = acc.subarray(1, acc[0] + 1)
                acc = acc.subarray(acc[0] + 1)
                for (const p of decodeFrame(frame)) handle(sock, frame, p)
            }
        })
    })
    const port = await listen(server)
    return {
        ...bus,
        port,
        close: () => {
            for (const s of sockets) s.destroy()
            return new Promise(r => server.close(() => r()))
        },
    }
}
