/**
 * The firmware (`src/main.ts`) in the simulator, provisioned to report to a
 * platform emulator: the settings a device needs for it, and a session that
 * trusts the emulator's CA and nothing else extra.
 */
import type { Platform } from "./platform/index.ts"
import { startSim, type SimOptions, type SimSession } from "./sim/index.ts"

/** A device's identity on the platform. */
export interface DeviceCredentials {
    productKey: string
    deviceName: string
    deviceSecret: string
}

/** Where the firmware reports to: the channel's host name and port. */
export interface ChannelEndpoint {
    host: string
    port: number
}

/**
 * Device settings that point the firmware at `platform` (an emulator, or
 * any endpoint); `extra` adds or overrides.
 */
export function firmwareSettings(
    platform: Platform | ChannelEndpoint,
    device: DeviceCredentials,
    extra: Record<string, string> = {}
): Record<string, string> {
    const host = "host" in platform ? platform.host : "127.0.0.1"
    return {
        PRODUCT_KEY: device.productKey,
        DEVICE_NAME: device.deviceName,
        DEVICE_SECRET: device.deviceSecret,
        HOST: host,
        PORT: String(platform.port),
        ...extra,
    }
}

/**
 * A channel URL (`https://host[:port]`, nothing after the host) as an
 * endpoint; throws a clear Error otherwise.
 */
export function parseChannelUrl(url: string): ChannelEndpoint {
    let u: URL
    try {
        u = new URL(url)
    } catch {
        throw new Error(`--platform '${url}' is not a URL`)
    }
    if (u.protocol !== "https:")
        throw new Error(
            `--platform must be an https:// URL (the channel is TLS only)`
        )
    if (
        (u.pathname !== "/" && u.pathname !== "") ||
        u.search ||
        u.hash ||
        u.username
    )
        throw new Error(`--platform takes https://host[:port] and nothing more`)
    const host = u.hostname
    if (host.startsWith("["))
        throw new Error(
            `--platform: the firmware takes a host name or IPv4 address, not ${host}`
        )
    return { host, port: u.port ? Number(u.port) : 443 }
}

/**
 * A device given as `PK/DN/SECRET` (on the command line or as a file's
 * content); throws an Error that never shows the secret.
 */
export function parseDeviceTriple(
    text: string,
    where: string
): DeviceCredentials {
    const parts = text.trim().split("/")
    if (parts.length !== 3 || parts.some(p => !p.length))
        throw new Error(
            `${where}: expected PRODUCT_KEY/DEVICE_NAME/DEVICE_SECRET`
        )
    const [productKey, deviceName, deviceSecret] = parts
    return { productKey, deviceName, deviceSecret }
}

/**
 * Runs the firmware in the simulator with `settings`, trusting `platform`'s
 * CA (an emulator's, or a CA file; none: only the public roots Node trusts).
 */
export async function startFirmware(
    platform: Platform | { caFile?: string },
    settings: Record<string, string>,
    options: Partial<SimOptions> = {}
): Promise<SimSession> {
    const env: Record<string, string> = platform.caFile
        ? { NODE_EXTRA_CA_CERTS: platform.caFile }
        : {}
    return await startSim({
        entry: "src/main.ts",
        settings,
        env,
        ...options,
    })
}

/** Messages that carry readings: every topic but the version report's `/ota/...`. */
export function readingMessages(platform: Platform) {
    return platform.messages().filter(m => !m.topic.startsWith("/ota/"))
}

/**
 * The readings one message of the firmware carries, with their seq and time
 * (undefined when the device did not know it): a JSON reading, a JSON array
 * of them (a backfill batch), an Alink property post (seq = id) or an Alink
 * history post (seq = id + index). Throws on a body that is not JSON.
 */
export function readingsOf(
    body: Buffer
): { seq: number; ts: number | undefined }[] {
    const doc = JSON.parse(body.toString("utf8"))
    if (Array.isArray(doc))
        return doc.map((r: any) => ({ seq: r.seq, ts: r.ts }))
    if (doc.method === "thing.event.property.history.post")
        return doc.params[0].properties.map((e: any, i: number) => ({
            seq: +doc.id + i,
            ts: (Object.values(e)[0] as any)?.time,
        }))
    if (doc.method) {
        const first = Object.values(doc.params ?? {})[0] as any
        return [{ seq: +doc.id, ts: first?.time }]
    }
    return [{ seq: doc.seq, ts: doc.ts }]
}
