/**
 * Deploys a compiled program (`.devs`) and its settings to the simulated
 * device from this process, over the dev tools Jacdac TCP port (8082), with
 * the same packets `devs devtools` sends (`deployToService` in the CLI):
 * autostart and running off, DeviceScript manager `DeployBytecode` and the
 * bytecode through a pipe (skipped when the device already holds it, by
 * SHA-256), each setting through the settings service, then autostart and
 * running on. Every step but the last waits for the device's answer.
 *
 * Why not the dev tools' own deploy (`{"req":"build","deployTo":"*"}`): it
 * compiles first, synchronously, in the dev tools process. On a loaded
 * machine that takes longer than the Jacdac bus's device timeout (3 s), so
 * right after the compile the bus drops the simulator's device and creates
 * a new one, while the deploy already holds the old device's services: the
 * device answers `DeployBytecode` within milliseconds, but into the new
 * objects, and the dev tools wait 3 s for nothing. Every retry compiles
 * again, so every retry fails the same way. Here nothing compiles between
 * finding the device and deploying, and every step is retried on its own.
 */
import { createHash } from "node:crypto"
import {
    announcedServices,
    FLAG_ACK_REQUESTED,
    FLAG_COMMAND,
    SERVICE_INDEX_CRC_ACK,
} from "../jacdac/frame.ts"
import {
    CMD_GET_REG,
    CMD_SET_REG,
    MGR_CMD_DEPLOY_BYTECODE,
    MGR_REG_AUTOSTART,
    MGR_REG_PROGRAM_SHA256,
    MGR_REG_RUNNING,
    pipeCommand,
    SERVICE_INDEX_PIPE,
    SETTINGS_CMD_SET,
    settingsSetPayload,
    SRV_DEVICE_SCRIPT_MANAGER,
    SRV_SETTINGS,
} from "../jacdac/services.ts"
import { openJacdacLink, type JacdacLink } from "../jacdac/tcp-link.ts"

/** Bytes of bytecode per pipe packet, as the CLI sends them. */
const PIPE_CHUNK = 224

export interface SimDeployOptions {
    /** The compiled program (`.devicescript/bin/bytecode.devs`). */
    bytecode: Buffer
    /** key → string value, stored as its JSON text like dev tools does. */
    settings: Record<string, string>
    /** Limit for finding the device and the whole deploy. */
    timeoutMs: number
    /** Dev tools Jacdac TCP port; default 8082. */
    port?: number
    /** Progress lines (keys, never values). */
    log?: (line: string) => void
}

/** The simulated device: its id and the service indices a deploy uses. */
interface Target {
    deviceId: string
    manager: number
    settings: number
}

/** Waits for the announce of a device with a DeviceScript manager and settings. */
async function findTarget(link: JacdacLink, ms: number): Promise<Target> {
    const p = await link.next(p => {
        const c = announcedServices(p)
        return (
            !!c &&
            c.includes(SRV_DEVICE_SCRIPT_MANAGER) &&
            c.includes(SRV_SETTINGS)
        )
    }, ms)
    if (!p) throw new Error(`no DeviceScript device announced in ${ms} ms`)
    const classes = announcedServices(p)!
    return {
        deviceId: p.deviceId,
        manager: classes.indexOf(SRV_DEVICE_SCRIPT_MANAGER),
        settings: classes.indexOf(SRV_SETTINGS),
    }
}

/** Sends a command that asks for an acknowledgement; resends it up to 5 times. */
async function acked(
    link: JacdacLink,
    t: Target,
    serviceIndex: number,
    command: number,
    payload: Buffer
) {
    for (let attempt = 0; attempt < 5; attempt++) {
        const frame = link.send({
            deviceId: t.deviceId,
            flags: FLAG_COMMAND | FLAG_ACK_REQUESTED,
            serviceIndex,
            command,
            payload,
        })
        const crc = frame.readUInt16LE(0)
        const ack = await link.next(
            p =>
                p.deviceId === t.deviceId &&
                p.serviceIndex === SERVICE_INDEX_CRC_ACK &&
                p.command === crc,
            1000
        )
        if (ack) return
    }
    throw new Error(
        `no acknowledgement for command 0x${command.toString(16)} to service ${serviceIndex}`
    )
}

/** Sends a command and returns the device's report with the same code; up to 3 tries. */
async function query(
    link: JacdacLink,
    t: Target,
    serviceIndex: number,
    command: number,
    payload = Buffer.alloc(0),
    waitMs = 2000
): Promise<Buffer> {
    for (let attempt = 0; attempt < 3; attempt++) {
        const reply = link.next(
            p =>
                p.deviceId === t.deviceId &&
                !(p.flags & FLAG_COMMAND) &&
                p.serviceIndex === serviceIndex &&
                p.command === command,
            waitMs
        )
        link.send({
            deviceId: t.deviceId,
            flags: FLAG_COMMAND,
            serviceIndex,
            command,
            payload,
        })
        const p = await reply
        if (p) return p.payload
    }
    throw new Error(
        `no answer to command 0x${command.toString(16)} from service ${serviceIndex}`
    )
}

const u8 = (v: number) => Buffer.from([v])

/** `DeployBytecode`, then the bytecode through the pipe the device opens. */
async function writeProgram(link: JacdacLink, t: Target, bytecode: Buffer) {
    const size = Buffer.alloc(4)
    size.writeUInt32LE(bytecode.length)
    const reply = await query(
        link,
        t,
        t.manager,
        MGR_CMD_DEPLOY_BYTECODE,
        size,
        3000
    )
    const port = reply.length >= 2 ? reply.readUInt16LE(0) : 0
    if (!port) throw new Error(`DeployBytecode: the device opened no pipe`)
    let counter = 0
    for (let i = 0; i < bytecode.length; i += PIPE_CHUNK)
        await acked(
            link,
            t,
            SERVICE_INDEX_PIPE,
            pipeCommand(port, counter++),
            bytecode.subarray(i, i + PIPE_CHUNK)
        )
    await acked(
        link,
        t,
        SERVICE_INDEX_PIPE,
        pipeCommand(port, counter++, true),
        Buffer.alloc(0)
    )
}

/**
 * One deploy attempt: connects, waits for the device's announce (the
 * device is ready), writes program and settings, starts the program.
 * Throws on the first step the device does not answer.
 */
export async function deployToSim(o: SimDeployOptions): Promise<void> {
    const log = o.log ?? (() => {})
    const link = await openJacdacLink(o.port ?? 8082)
    try {
        const t = await findTarget(link, o.timeoutMs)
        const sha = await query(
            link,
            t,
            t.manager,
            CMD_GET_REG | MGR_REG_PROGRAM_SHA256
        )
        // stopped and not restarting by itself until the settings are in
        await acked(link, t, t.manager, CMD_SET_REG | MGR_REG_AUTOSTART, u8(0))
        await acked(link, t, t.manager, CMD_SET_REG | MGR_REG_RUNNING, u8(0))
        const want = createHash("sha256").update(o.bytecode).digest()
        if (sha.equals(want)) log(`program ${want.toString("hex")} in place`)
        else {
            await writeProgram(link, t, o.bytecode)
            log(`program written, ${o.bytecode.length} bytes`)
        }
        for (const [key, value] of Object.entries(o.settings)) {
            const bytes = Buffer.from(JSON.stringify(value), "utf8")
            await acked(
                link,
                t,
                t.settings,
                SETTINGS_CMD_SET,
                settingsSetPayload(key, bytes)
            )
        }
        if (Object.keys(o.settings).length)
            log(`settings written: ${Object.keys(o.settings).join(", ")}`)
        // on again, the simulator's default: not the value read at the
        // start, which an earlier attempt that failed midway left off
        await acked(link, t, t.manager, CMD_SET_REG | MGR_REG_AUTOSTART, u8(1))
        // start, not waited for (autostart alone starts it too): a program
        // that aborts the VM at once can take the acknowledgement with it,
        // and the caller sees the start or the abort in the device log
        link.send({
            deviceId: t.deviceId,
            flags: FLAG_COMMAND,
            serviceIndex: t.manager,
            command: CMD_SET_REG | MGR_REG_RUNNING,
            payload: u8(1),
        })
    } finally {
        link.close()
    }
}
