/**
 * Enrolment: puts a registered fleet device's connection string onto the
 * device that the running dev tools see (the simulator, or a board on USB
 * under `devs devtools --serial`), then waits until the fleet service hears
 * from that device. One code path for `fleet enrol`, `npm start --fleet`
 * and `provision write`.
 *
 * Each failure is an {@link EnrolError} with a one-line message, checked in
 * this order (cheap and side-effect free first):
 * - unknown ID: no fleet state, or the ID is not in it;
 * - service unreachable: no service answers on the state's control socket
 *   (when no address is given), or its host:port refuses a TCP (or TLS)
 *   connection: the device could not connect either;
 * - no dev tools: nothing accepts the dev tools' Jacdac TCP port (8082);
 * - no device: no device on that bus announces the CloudConfiguration
 *   service within a few seconds (or it does not acknowledge the command);
 * - never connected: the service's state shows no contact from the device
 *   within the timeout.
 *
 * The connection string holds the device's key: it is never printed.
 */
import { existsSync } from "node:fs"
import { connect as tcpConnect } from "node:net"
import { join } from "node:path"
import { connect as tlsConnect } from "node:tls"
import {
    announcedServices,
    FLAG_ACK_REQUESTED,
    FLAG_COMMAND,
    SERVICE_INDEX_CRC_ACK,
} from "../../jacdac/frame.ts"
import { openJacdacLink, type JacdacLink } from "../../jacdac/tcp-link.ts"
import { controlSocketPath, queryControl } from "./control.ts"
import {
    CloudConfigurationCmd,
    SRV_CLOUD_CONFIGURATION,
} from "../../jacdac/services.ts"
import { formatConnectionString } from "../device/protocol.ts"
import { DEVICE_PATH } from "../device/upgrade.ts"
import { openFleetStore } from "../store/open.ts"
import type { FleetStore } from "../store/types.ts"

/** Dev tools' Jacdac TCP port (`devs devtools` always listens there). */
export const DEFAULT_JACDAC_PORT = 8082
/** How long to listen for the device's announce. */
export const DEFAULT_FIND_MS = 5000
/** How long to wait for the device to reach the service. */
export const DEFAULT_CONNECT_MS = 60_000

/** An enrolment failure; the message is one line meant for the user. */
export class EnrolError extends Error {
    constructor(
        message: string,
        /** which check failed */
        readonly kind:
            | "unknown-id"
            | "service-unreachable"
            | "no-devtools"
            | "no-device"
            | "never-connected"
    ) {
        super(message)
    }
}

/** Where devices reach the fleet service. */
export interface ServiceAddress {
    host: string
    port: number
    tls: boolean
}

/** What `prepareEnrol` checked: ready to go on the bus. */
export interface EnrolPlan {
    id: string
    stateDir: string
    /** The fleet database when it is not the state directory's (`--db`). */
    db?: string
    service: ServiceAddress
    /** the device's connection string (holds its key: never print it) */
    connectionString: string
}

/**
 * Parses `--url`: `ws://host:port` or `wss://host[:port]` (the service's
 * address as devices see it; a path is not allowed).
 */
export function parseServiceUrl(url: string): ServiceAddress {
    let u: URL
    try {
        u = new URL(url)
    } catch {
        throw new RangeError(`--url ${url}: not a URL`)
    }
    if (u.protocol !== "ws:" && u.protocol !== "wss:")
        throw new RangeError(
            `--url ${url}: ws://HOST:PORT or wss://HOST[:PORT]`
        )
    if ((u.pathname !== "/" && u.pathname !== "") || u.search || u.username)
        throw new RangeError(
            `--url ${url}: the service's address only, no path`
        )
    const tls = u.protocol === "wss:"
    return {
        host: u.hostname,
        port: u.port ? Number(u.port) : tls ? 443 : 80,
        tls,
    }
}

/** `ws://host:port`: how messages name the service (no key in it). */
export function serviceText(s: ServiceAddress): string {
    return `${s.tls ? "wss" : "ws"}://${s.host}:${s.port}`
}

/** Resolves once `host:port` accepts a connection (and a TLS handshake). */
export function checkReachable(
    s: ServiceAddress,
    timeoutMs = 5000
): Promise<void> {
    return new Promise((resolve, reject) => {
        const sock = s.tls
            ? // only reachability: whom the device trusts is the device's check
              tlsConnect({
                  host: s.host,
                  port: s.port,
                  servername: s.host,
                  rejectUnauthorized: false,
              })
            : tcpConnect({ host: s.host, port: s.port })
        const done = (e?: Error) => {
            clearTimeout(timer)
            sock.destroy()
            if (e) reject(e)
            else resolve()
        }
        const timer = setTimeout(
            () => done(new Error(`no answer in ${timeoutMs / 1000} s`)),
            timeoutMs
        )
        sock.once(s.tls ? "secureConnect" : "connect", () => done())
        sock.once("error", e =>
            done(new Error((e as NodeJS.ErrnoException).code ?? e.message))
        )
    })
}

/**
 * Opens the fleet database for enrolment (`db`, or the state directory's);
 * undefined when the state directory has none.
 */
async function openStore(o: {
    stateDir: string
    db?: string
}): Promise<FleetStore | undefined> {
    const db = o.db ?? join(o.stateDir, "fleet.db")
    return o.db || existsSync(db) ? openFleetStore(db) : undefined
}

/**
 * The checks that need no device: the ID is in the fleet state, and the
 * service is reachable at `service` (default: the address the service
 * running on `stateDir` reports on its control socket).
 */
export async function prepareEnrol(o: {
    id: string
    stateDir: string
    db?: string
    service?: ServiceAddress
}): Promise<EnrolPlan> {
    const store = await openStore(o)
    if (!store)
        throw new EnrolError(
            `no fleet state in ${o.stateDir}: add the device first (npm run fleet -- add-device ${o.id})`,
            "unknown-id"
        )
    let key: string
    try {
        const d = await store.device(o.id)
        if (!d)
            throw new EnrolError(
                `unknown device ID ${o.id} in ${o.stateDir}: add it first (npm run fleet -- add-device ${o.id})`,
                "unknown-id"
            )
        key = d.key
    } finally {
        await store.close()
    }
    let service = o.service
    if (!service) {
        const live = await queryControl(controlSocketPath(o.stateDir))
        const s = live?.service
        if (!s || typeof s.port !== "number")
            throw new EnrolError(
                `fleet service unreachable: none answers on ${controlSocketPath(o.stateDir)}; start it (npm run fleet -- serve) or give --port P / --url URL`,
                "service-unreachable"
            )
        service = { host: String(s.host), port: s.port, tls: !!s.tls }
    }
    try {
        await checkReachable(service)
    } catch (e) {
        throw new EnrolError(
            `fleet service unreachable at ${serviceText(service)} (${(e as Error).message}): the device could not connect either`,
            "service-unreachable"
        )
    }
    return {
        id: o.id,
        stateDir: o.stateDir,
        db: o.db,
        service,
        connectionString: formatConnectionString({
            host: service.host,
            port: service.port,
            path: DEVICE_PATH + encodeURIComponent(o.id),
            key: Buffer.from(key, "hex"),
            tls: service.tls,
        }),
    }
}

/** Devices that announce CloudConfiguration within `ms`, with its service index. */
async function findCloudDevices(link: JacdacLink, ms: number) {
    const found = new Map<string, number>()
    const start = Date.now()
    const end = start + ms
    while (Date.now() < end) {
        const p = await link.next(
            q => announcedServices(q) !== undefined,
            end - Date.now()
        )
        if (!p) break
        const index = (announcedServices(p) as number[]).indexOf(
            SRV_CLOUD_CONFIGURATION
        )
        if (index > 0) found.set(p.deviceId, index)
        // a device announces about twice a second: two rounds hear everyone
        if (found.size && Date.now() > start + 1200) break
    }
    return found
}

/** Options of {@link enrolOnBus}. */
export interface BusOptions {
    /** dev tools' Jacdac TCP port (default 8082) and host */
    jacdacPort?: number
    jacdacHost?: string
    /** the device's Jacdac id (16 hex), when more than one is on the bus */
    busDeviceId?: string
    findTimeoutMs?: number
    connectTimeoutMs?: number
    log?: (line: string) => void
}

/** What enrolment did. */
export interface EnrolResult {
    busDeviceId: string
    /** from sending the connection string to the service's first contact */
    connectedAfterMs: number
}

/**
 * Sends the plan's connection string to the device on the dev tools bus
 * (CloudConfiguration `set_connection_string`, acknowledged), then waits
 * until the service's state shows contact from the device.
 */
export async function enrolOnBus(
    plan: EnrolPlan,
    o: BusOptions = {}
): Promise<EnrolResult> {
    const log = o.log ?? (() => {})
    const port = o.jacdacPort ?? DEFAULT_JACDAC_PORT
    const host = o.jacdacHost ?? "127.0.0.1"
    const findMs = o.findTimeoutMs ?? DEFAULT_FIND_MS
    const link = await openJacdacLink(port, host).catch(e => {
        throw new EnrolError(
            `no dev tools at ${host}:${port} (${e.code ?? e.message}): run the simulated device (npm start -- --fleet ${plan.id}) or, for a board on USB, npx devs devtools --serial`,
            "no-devtools"
        )
    })
    let busDeviceId: string
    let sentAt: number
    try {
        const found = await findCloudDevices(link, findMs)
        const want = o.busDeviceId?.toLowerCase()
        if (!found.size)
            throw new EnrolError(
                `no device on the dev tools bus at ${host}:${port} (none announced the cloud configuration service within ${findMs / 1000} s): is the board plugged in, or the simulator running?`,
                "no-device"
            )
        if (want) {
            if (!found.has(want))
                throw new EnrolError(
                    `device ${want} is not on the dev tools bus (found ${[...found.keys()].join(", ")})`,
                    "no-device"
                )
            busDeviceId = want
        } else if (found.size > 1)
            throw new EnrolError(
                `${found.size} devices on the dev tools bus (${[...found.keys()].join(", ")}): pass --device-id`,
                "no-device"
            )
        else busDeviceId = [...found.keys()][0]
        const serviceIndex = found.get(busDeviceId) as number
        log(
            `${plan.id}: sending its connection string for ${serviceText(plan.service)} to device ${busDeviceId}`
        )
        sentAt = Date.now()
        let acked = false
        for (let attempt = 0; attempt < 3 && !acked; attempt++) {
            const frame = link.send({
                deviceId: busDeviceId,
                flags: FLAG_COMMAND | FLAG_ACK_REQUESTED,
                serviceIndex,
                command: CloudConfigurationCmd.SetConnectionString,
                payload: Buffer.from(plan.connectionString, "utf8"),
            })
            const crc = frame.readUInt16LE(0)
            acked = !!(await link.next(
                p =>
                    p.deviceId === busDeviceId &&
                    p.serviceIndex === SERVICE_INDEX_CRC_ACK &&
                    p.command === crc,
                1000
            ))
        }
        if (!acked)
            throw new EnrolError(
                `device ${busDeviceId} did not acknowledge the connection string`,
                "no-device"
            )
    } finally {
        link.close()
    }
    const waitMs = o.connectTimeoutMs ?? DEFAULT_CONNECT_MS
    log(
        `${plan.id}: the device has its connection string; waiting up to ${waitMs / 1000} s for it to connect`
    )
    const seenAt = await waitForContact(plan, sentAt, waitMs)
    if (seenAt === undefined)
        throw new EnrolError(
            `device ${plan.id} never connected to ${serviceText(plan.service)} within ${waitMs / 1000} s (has it a network? does it reach that address?)`,
            "never-connected"
        )
    return { busDeviceId, connectedAfterMs: Math.max(seenAt - sentAt, 0) }
}

/**
 * When the service (through its state) last heard from the device, once
 * that is at or after `since`; undefined after `ms`.
 */
async function waitForContact(
    plan: EnrolPlan,
    since: number,
    ms: number
): Promise<number | undefined> {
    const end = Date.now() + ms
    const store = await openStore(plan)
    if (!store) return undefined
    try {
        for (;;) {
            const seen = (await store.state(plan.id)).lastSeen
            if (seen >= since) return seen
            if (Date.now() >= end) return undefined
            await new Promise(r => setTimeout(r, 250))
        }
    } finally {
        await store.close()
    }
}

/** Prepares and enrols: the whole of `fleet enrol ID`. */
export async function enrolDevice(
    o: {
        id: string
        stateDir: string
        db?: string
        service?: ServiceAddress
    } & BusOptions
): Promise<EnrolResult & { plan: EnrolPlan }> {
    const plan = await prepareEnrol(o)
    return { ...(await enrolOnBus(plan, o)), plan }
}
