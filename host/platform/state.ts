/**
 * The emulator's state shared by the channel and the admin API: devices,
 * tokens, limiters, faults, the clock, and the records tests read (auth
 * attempts, accepted messages, requests, counters). No I/O.
 */
import { TokenStore, type TokenForm } from "./tokens.ts"
import { SlidingWindowLimiter } from "./throttle.ts"
import { applyFaultsInput, type Faults, type FaultsInput } from "./faults.ts"
import { RecordLog } from "./record-log.ts"
import {
    DEFAULT_TOPIC_CLASSES,
    SYSTEM_TOPIC_CLASSES,
    validateCustomClasses,
    type TopicClass,
} from "./topics.ts"

/** A provisioned device. */
export interface Device {
    productKey: string
    deviceName: string
    deviceSecret: string
}

/** One `/auth` attempt that reached the platform logic, and its result. */
export interface AuthRecord {
    seq: number
    time: string
    connection: number
    productKey?: string
    deviceName?: string
    clientId?: string
    signmethod?: string
    version?: string
    timestamp?: string
    code: number
    message: string
    /** why it failed, for people reading the log */
    reason?: string
    /** the issued token (code 0 only) */
    token?: string
}

/** One accepted message (code 0), body kept byte-exact. */
export interface MessageRecord {
    seq: number
    time: string
    connection: number
    productKey: string
    deviceName: string
    topic: string
    messageId: string
    body: Buffer
}

/** One request on the channel and what happened to it. */
export interface RequestRecord {
    seq: number
    time: string
    /** sequence number of the TLS connection it came on (1, 2, ...) */
    connection: number
    method: string
    /** path, query string included */
    url: string
    /** HTTP status sent (absent when no answer was sent) */
    status?: number
    /** platform code in the JSON answer */
    code?: number
    /** the fault that hit it, if any */
    fault?: string
    /**
     * request line, headers and body as received, in bytes (the request line
     * and headers rebuilt from what Node parsed: exact for a client that
     * writes `Name: value` with single spaces, as the firmware does)
     */
    wireBytes?: number
}

/** Counters (what `GET /stats` shows). */
export interface Stats {
    /** TLS connections completed (handshakes); keep-alive is judged by it */
    tlsConnections: number
    /** TCP connections that failed the TLS handshake (plain HTTP, untrusted CA...) */
    tlsErrors: number
    /** requests received on the channel */
    requests: number
    /** answers per platform code ("0", "10001", ...) */
    codes: Record<string, number>
    /** answers per HTTP status */
    http: Record<string, number>
    /** requests hit per fault name */
    faults: Record<string, number>
    /** accepted messages */
    messages: number
}

/** Records dropped from each list (oldest first) to keep within its bounds. */
export interface DroppedCounts {
    messages: number
    informs: number
    auths: number
    requests: number
}

export interface StateOptions {
    devices?: Device[]
    tokenTtlMs: number
    /** the form of issued tokens (default jwt) */
    tokenForm?: TokenForm
    rateDevice?: number
    rateGlobal?: number
    rateWindowMs?: number
    /** records kept per list (default 10000) */
    maxRecords?: number
    /** bytes kept per list (default 32 MiB), see recordBytes */
    maxLogBytes?: number
    now?: () => number
    /** custom topic classes, added to the defaults and the system ones */
    topics?: TopicClass[]
}

/** Records kept per list by default. */
export const DEFAULT_MAX_RECORDS = 10000
/** Bytes kept per list by default: 32 MiB (255 maximum-size messages). */
export const DEFAULT_MAX_LOG_BYTES = 32 * 1024 * 1024
/** What a record costs beyond its bodies and strings, for the byte bound. */
export const RECORD_OVERHEAD_BYTES = 200

/**
 * The bytes a record holds, for the log's byte bound: its body, its
 * strings, and a fixed overhead for the rest.
 */
export function recordBytes(r: object): number {
    let n = RECORD_OVERHEAD_BYTES
    for (const v of Object.values(r))
        if (typeof v === "string") n += v.length
        else if (Buffer.isBuffer(v)) n += v.length
    return n
}

/** First messageId: above 2^53 and not representable as a double. */
export const FIRST_MESSAGE_ID = 892687627916247041n

function emptyStats(): Stats {
    return {
        tlsConnections: 0,
        tlsErrors: 0,
        requests: 0,
        codes: {},
        http: {},
        faults: {},
        messages: 0,
    }
}

/** Parses `PK/DN/SECRET` (the secret may itself contain `/`). */
export function parseDeviceSpec(spec: string): Device {
    const m = /^([^/]+)\/([^/]+)\/(.+)$/.exec(spec.trim())
    // the spec holds a secret: never echo it
    if (!m) throw new Error("device must be PK/DN/SECRET")
    return { productKey: m[1], deviceName: m[2], deviceSecret: m[3] }
}

/** Validates a device given as an object or a `PK/DN/SECRET` string. */
export function toDevice(d: Device | string): Device {
    if (typeof d === "string") return parseDeviceSpec(d)
    for (const k of ["productKey", "deviceName", "deviceSecret"] as const)
        if (typeof d?.[k] !== "string" || !d[k])
            throw new Error(`device needs a non-empty ${k}`)
    return {
        productKey: d.productKey,
        deviceName: d.deviceName,
        deviceSecret: d.deviceSecret,
    }
}

/** The platform's clock may be shifted by at most 10 years either way. */
export const MAX_CLOCK_OFFSET_MS = 10 * 365.25 * 24 * 3600 * 1000

/** Why a clock offset is refused (undefined when it is fine). */
export function clockOffsetProblem(ms: unknown): string | undefined {
    if (typeof ms !== "number" || !Number.isFinite(ms))
        return "offsetMs must be a finite number"
    if (Math.abs(ms) > MAX_CLOCK_OFFSET_MS)
        return `offsetMs must be within ±${MAX_CLOCK_OFFSET_MS} (10 years)`
    return undefined
}

const key = (pk: string, dn: string) => `${pk}/${dn}`

export class PlatformState {
    devices = new Map<string, Device>()
    tokens: TokenStore
    deviceLimiter: SlidingWindowLimiter
    globalLimiter: SlidingWindowLimiter
    faults: Faults = { latencyMs: 0 }
    auths: RecordLog<AuthRecord>
    messages: RecordLog<MessageRecord>
    /** version reports (`/ota/device/inform/PK/DN`), kept apart from messages */
    informs: RecordLog<MessageRecord>
    /** channel requests; a record's size is counted when it is appended */
    requests: RecordLog<RequestRecord>
    stats: Stats = emptyStats()
    clockOffsetMs = 0
    /** the product's topic classes: defaults, system ones, then custom ones */
    readonly topicClasses: readonly TopicClass[]
    private seq = 0
    private nextId = FIRST_MESSAGE_ID
    private baseNow: () => number

    constructor(o: StateOptions) {
        this.tokens = new TokenStore(o.tokenTtlMs, o.tokenForm)
        this.deviceLimiter = new SlidingWindowLimiter(
            o.rateDevice ?? 0,
            o.rateWindowMs ?? 1000
        )
        this.globalLimiter = new SlidingWindowLimiter(
            o.rateGlobal ?? 0,
            o.rateWindowMs ?? 1000
        )
        const count = o.maxRecords ?? DEFAULT_MAX_RECORDS
        const bytes = o.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES
        this.auths = new RecordLog<AuthRecord>(count, bytes, recordBytes)
        this.messages = new RecordLog<MessageRecord>(count, bytes, recordBytes)
        this.informs = new RecordLog<MessageRecord>(count, bytes, recordBytes)
        this.requests = new RecordLog<RequestRecord>(count, bytes, recordBytes)
        this.baseNow = o.now ?? Date.now
        this.topicClasses = [
            ...DEFAULT_TOPIC_CLASSES,
            ...SYSTEM_TOPIC_CLASSES,
            ...validateCustomClasses(o.topics ?? []),
        ]
        for (const d of o.devices ?? []) this.addDevice(d)
    }

    /** The platform's clock (ms since the epoch), offset included. */
    now() {
        return this.baseNow() + this.clockOffsetMs
    }

    addDevice(d: Device | string) {
        const dev = toDevice(d)
        this.devices.set(key(dev.productKey, dev.deviceName), dev)
        return dev
    }

    removeDevice(productKey: string, deviceName: string) {
        return this.devices.delete(key(productKey, deviceName))
    }

    findDevice(productKey: string, deviceName: string) {
        return this.devices.get(key(productKey, deviceName))
    }

    nextSeq() {
        return ++this.seq
    }

    nextMessageId(): string {
        return (this.nextId++).toString()
    }

    /** Records dropped from each list since the start or the last reset. */
    dropped(): DroppedCounts {
        return {
            messages: this.messages.dropped,
            informs: this.informs.dropped,
            auths: this.auths.dropped,
            requests: this.requests.dropped,
        }
    }

    count(group: "codes" | "http" | "faults", k: string | number) {
        const g = this.stats[group]
        g[k] = (g[k] ?? 0) + 1
    }

    setFaults(input: FaultsInput) {
        this.faults = applyFaultsInput(this.faults, input, this.now())
        return this.faults
    }

    /**
     * Clears records, counters, faults, throttling windows and the clock
     * offset; devices stay; tokens stay unless `tokens` is true.
     */
    reset(opts: { tokens?: boolean } = {}) {
        this.auths.clear()
        this.messages.clear()
        this.informs.clear()
        this.requests.clear()
        this.stats = emptyStats()
        this.faults = { latencyMs: 0 }
        this.clockOffsetMs = 0
        this.deviceLimiter.reset()
        this.globalLimiter.reset()
        if (opts.tokens) this.tokens.clear()
    }
}
