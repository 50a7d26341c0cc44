/**
 * Backfill in batches: several queued readings in one request body, each
 * keeping its own `seq` and time. Pure: the reporter picks the readings and
 * sends the body; this module builds it and sizes it.
 *
 * - `json`: an array of the single-reading bodies on the same topic,
 *   `[{"ts":...,"seq":...,"temperature":...},...]`.
 * - `alink`: the platform's own batch form, `thing.event.property.history.post`
 *   on `/sys/${productKey}/${deviceName}/thing/event/property/history/post`:
 *   `{"id":"<seq of the first>","version":"1.0","params":[{"identity":
 *   {"productKey":..,"deviceName":..},"properties":[{"<name>":{"value":v,
 *   "time":<ms>},...},...]}],"method":"thing.event.property.history.post"}`,
 *   one `properties` entry per reading, oldest first. From Alibaba Cloud IoT
 *   Platform, "Device properties, events, and services", section "Report the
 *   historical data of a TSL model" (help.aliyun.com/document_detail/89301,
 *   www.alibabacloud.com/help/en/iot-platform/latest/device-properties-events-and-services):
 *   `params` is an array of `{identity, properties, events}`; a directly
 *   connected device reports only its own data (`identity` is its own
 *   productKey and deviceName); each property needs its identifier, value
 *   and time; `id` is a string 0..4294967295. Third-party clients agree on
 *   the array form (ldclabs/alink-sdk sends `params` as an array;
 *   aliyun/iotkit-embedded 3.x has no history post). The history form has
 *   no per-reading id, so a batch holds readings with consecutive `seq`
 *   only and the message `id` is the first one's: reading i has seq id + i.
 */
import { PayloadFormat } from "./config"
import { isAlinkIdentifier, jsonString, ReadingValue } from "./payload"

/** The Alink method of a history post. */
export const HISTORY_METHOD = "thing.event.property.history.post"

/**
 * Largest batch body the device builds, in bytes. The platform takes
 * 128 KB, but the device's heap is 64 KB (40 KB on an ESP32-S2) and holds
 * the body twice while sending it (the string and the request buffer),
 * besides the queue itself; 8 KB leaves that room (docs/design/firmware.md,
 * "Backfill in batches", has the measurements).
 */
export const MAX_BATCH_BYTES = 8192

export { DEFAULT_BATCH_MAX } from "./settings-schema"

/** Thing-model history post topic (Alink batches). */
export function alinkHistoryTopic(productKey: string, deviceName: string) {
    return `/sys/${productKey}/${deviceName}/thing/event/property/history/post`
}

/** One reading of a batch. */
export interface BatchReading {
    seq: number
    /** Epoch ms; NaN or 0 when unknown (`json` then sends no `ts`). */
    time: number
    values: Record<string, ReadingValue>
    /** the time is an estimate (`json` then adds `"est":true`) */
    estimated?: boolean
}

/** What a batch body needs besides its readings. */
export interface BatchOptions {
    format: PayloadFormat
    /** readings dropped for lack of room since boot (`json` sends it when > 0) */
    dropped: number
    /** `alink`: the device itself, as `identity` */
    productKey?: string
    deviceName?: string
    /** default {@link MAX_BATCH_BYTES} */
    maxBytes?: number
}

/** A built batch: the body and how many of the given readings it holds. */
export interface Batch {
    body: Buffer
    count: number
}

function valueJson(key: string, v: ReadingValue): string {
    if (typeof v === "number") {
        if (isNaN(v) || v === Infinity || v === -Infinity)
            throw new RangeError(`reading '${key}' is not a finite number`)
        return JSON.stringify(v)
    }
    if (typeof v === "boolean") return v ? "true" : "false"
    if (typeof v === "string") return jsonString(v)
    throw new TypeError(`reading '${key}' must be a number, string or boolean`)
}

function hasTime(t: number) {
    // t > 0, not `t ?`: in the VM a number outside int32 is falsy
    return typeof t === "number" && t > 0
}

/**
 * One reading as an element of a `json` batch: the single-reading body
 * (`{"ts":..,"seq":..,<values>,"dropped":N}`). Throws RangeError or
 * TypeError for a value that cannot be sent.
 */
export function plainBatchElement(r: BatchReading, dropped: number): string {
    return new BatchBuilder({ format: "json", dropped }).entry(r)
}

/**
 * One reading as a `properties` entry of an Alink history post:
 * `{"<name>":{"value":v,"time":<ms>},...}`. Throws RangeError when the time
 * is unknown (the history form requires it) or a name is not an Alink
 * identifier.
 */
export function alinkHistoryEntry(r: BatchReading): string {
    return new BatchBuilder({ format: "alink", dropped: 0 }).entry(r)
}

function alinkHead(o: BatchOptions, id: number): string {
    if (!(id >= 0) || Math.floor(id) !== id || id > 4294967295)
        throw new RangeError(`alink id must be a whole number below 2^32`)
    const identity =
        `{"productKey":${jsonString(o.productKey)},"deviceName":` +
        jsonString(o.deviceName) +
        "}"
    return `{"id":"${id}","version":"1.0","params":[{"identity":${identity},"properties":[`
}

const ALINK_TAIL = `]}],"method":"${HISTORY_METHOD}"}`

/**
 * Builds one batch body a reading at a time (oldest first), so that the
 * caller can yield between readings (an Alink entry costs about a thousand
 * bytecode steps). Keeps the JSON text of each name it has seen.
 */
export class BatchBuilder {
    private readonly alink: boolean
    private readonly max: number
    private head = "["
    private readonly tail: string
    private readonly parts: string[] = []
    private bytes: number
    /** Readings in the body so far. */
    count = 0
    private firstSeq = 0
    /** name -> its JSON text (json) or its quoted identifier (alink) */
    private names: Record<string, string> = {}

    constructor(readonly o: BatchOptions) {
        this.alink = o.format === "alink"
        this.max = o.maxBytes > 0 ? o.maxBytes : MAX_BATCH_BYTES
        this.tail = this.alink ? ALINK_TAIL : "]"
        this.bytes = 0
    }

    private name(k: string): string {
        let n = this.names[k]
        if (n !== undefined) return n
        if (this.alink) {
            if (!isAlinkIdentifier(k))
                throw new RangeError(
                    `property '${k}' must be 1..50 letters, digits or '_'`
                )
            n = `"${k}"`
        } else {
            if (k === "ts" || k === "seq" || k === "dropped" || k === "est")
                throw new RangeError(`reading name '${k}' is reserved`)
            n = jsonString(k)
        }
        this.names[k] = n
        return n
    }

    /** `r` as an element of this body; throws when it cannot be sent. */
    entry(r: BatchReading): string {
        const keys = Object.keys(r.values)
        if (this.alink) {
            if (!hasTime(r.time))
                throw new RangeError(
                    `a history reading needs its time (seq ${r.seq})`
                )
            if (!keys.length)
                throw new RangeError(`reading seq ${r.seq} has no values`)
            const t = `,"time":${Math.floor(r.time)}`
            let s = "{"
            for (let i = 0; i < keys.length; i++) {
                const k = keys[i]
                if (i > 0) s += ","
                s += this.name(k) + ':{"value":' + valueJson(k, r.values[k])
                s += t + "}"
            }
            return s + "}"
        }
        let s = "{"
        if (hasTime(r.time)) s += `"ts":${Math.floor(r.time)},`
        s += `"seq":${r.seq}`
        for (const k of keys)
            s += "," + this.name(k) + ":" + valueJson(k, r.values[k])
        if (this.o.dropped > 0) s += `,"dropped":${this.o.dropped}`
        if (r.estimated && hasTime(r.time)) s += `,"est":true`
        return s + "}"
    }

    /**
     * Adds `r` when it belongs in this body: false (nothing added) when it
     * would not fit in the byte budget, when `alink` and its `seq` does not
     * follow the previous one's, or when it cannot be sent (bad value, no
     * time); the first reading is always added, or its error thrown, so
     * that it is handled alone.
     */
    add(r: BatchReading): boolean {
        const n = this.parts.length
        if (n === 0) {
            this.firstSeq = r.seq
            const head = this.alink ? alinkHead(this.o, r.seq) : "["
            this.head = head
            this.bytes = head.byteLength + this.tail.byteLength
        } else if (this.alink && r.seq !== this.firstSeq + n) return false
        let part: string
        try {
            part = this.entry(r)
        } catch (e) {
            if (n === 0) throw e
            return false
        }
        const more = part.byteLength + (n > 0 ? 1 : 0)
        if (n > 0 && this.bytes + more > this.max) return false
        this.parts.push(part)
        this.count++
        this.bytes += more
        return true
    }

    /** Size of the body so far, in bytes. */
    size() {
        return this.bytes
    }

    /**
     * The body as bytes (one copy: the device heap is small); throws
     * RangeError when no reading was added.
     */
    body(): Buffer {
        const n = this.parts.length
        if (!n) throw new RangeError(`a batch needs a reading`)
        const out = Buffer.alloc(this.bytes)
        let at = 0
        at = put(out, at, this.head)
        for (let i = 0; i < n; i++) {
            if (i > 0) at = put(out, at, ",")
            at = put(out, at, this.parts[i])
        }
        put(out, at, this.tail)
        return out
    }
}

function put(out: Buffer, at: number, s: string): number {
    const len = s.byteLength
    out.blitAt(at, s, 0, len)
    return at + len
}

/**
 * Builds one body from `readings` (oldest first) in one go: as many as
 * {@link BatchBuilder.add} takes, stopping at the first it refuses. Throws
 * for an empty list or a first reading that cannot be sent.
 */
export function buildBatch(readings: BatchReading[], o: BatchOptions): Batch {
    const b = new BatchBuilder(o)
    for (const r of readings) if (!b.add(r)) break
    return { body: b.body(), count: b.count }
}

/** How many readings to try next after a batch of `n` was refused: half, rounded up. */
export function halfBatch(n: number): number {
    return Math.max(1, Math.ceil(n / 2))
}

/** Requests that send `n` queued readings, `batchMax` to a request. */
export function requestsFor(n: number, batchMax: number): number {
    return Math.ceil(n / Math.max(1, batchMax))
}
