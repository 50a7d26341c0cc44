import { topicProblem } from "./settings-schema"

export { topicProblem } from "./settings-schema"

/** The platform's limit on the data a device sends in one request: 128 KB. */
export const MAX_BODY_BYTES = 128 * 1024

/** A sensor value as sent to the platform. */
export type ReadingValue = number | string | boolean

/** One reading: named values and, when the clock is known, its wall time. */
export interface Reading {
    /** Epoch milliseconds; omitted from the payload when undefined or NaN. */
    time?: number
    values: Record<string, ReadingValue>
}

/** Custom topic a device may publish to by default. */
export function defaultTopic(productKey: string, deviceName: string) {
    return `/${productKey}/${deviceName}/user/update`
}

/** Thing-model property post topic (Alink). */
export function alinkTopic(productKey: string, deviceName: string) {
    return `/sys/${productKey}/${deviceName}/thing/event/property/post`
}

/** Request path for publishing to `topic`; throws RangeError if the topic is refused. */
export function topicPath(topic: string): string {
    const why = topicProblem(topic)
    if (why) throw new RangeError(why)
    return "/topic" + topic
}

/** Body size in bytes (UTF-8 for strings). */
export function bodySize(body: string | Buffer): number {
    return typeof body === "string" ? body.byteLength : body.length
}

/**
 * Throws RangeError when a body of `size` bytes is over the platform's
 * 128 KB limit (note: the device heap is 64 KB, so such a body can only come
 * from a caller's mistake; the check keeps it from reaching the wire).
 */
export function checkBodySize(size: number) {
    if (!(size >= 0) || size > MAX_BODY_BYTES)
        throw new RangeError(
            `body of ${size} bytes exceeds the platform limit of ${MAX_BODY_BYTES} bytes (128 KB)`
        )
}

/**
 * JSON string literal of `s`. The VM's JSON.stringify escapes each UTF-8
 * byte of a non-ASCII character separately (`"°"` becomes `"\u00c2\u00b0"`,
 * which a server decodes as two wrong characters); this keeps non-ASCII
 * characters as UTF-8 and escapes only `"`, `\` and control characters.
 */
export function jsonString(s: string): string {
    let ascii = true
    for (let i = 0; i < s.length; i++)
        if (s.charCodeAt(i) >= 128) {
            ascii = false
            break
        }
    if (ascii) return JSON.stringify(s)
    let out = '"'
    for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i)
        const ch = s[i]
        if (c >= 128 || (c >= 32 && c !== 34 && c !== 92)) out += ch
        else out += JSON.stringify(ch).slice(1, -1)
    }
    return out + '"'
}

function valueJson(key: string, v: ReadingValue): string {
    if (typeof v === "number") {
        if (isNaN(v) || v === Infinity || v === -Infinity)
            throw new RangeError(`reading '${key}' is not a finite number`)
    } else if (typeof v !== "string" && typeof v !== "boolean")
        throw new TypeError(
            `reading '${key}' must be a number, string or boolean`
        )
    if (typeof v === "string") return jsonString(v)
    return JSON.stringify(v)
}

function hasTime(r: Reading) {
    return typeof r.time === "number" && r.time > 0
}

/**
 * Whether `key` is an Alink identifier: 1..50 letters, digits or underscores.
 * Property names in payloads and batches must be.
 */
export function isAlinkIdentifier(key: string): boolean {
    if (!key.length || key.length > 50) return false
    for (let i = 0; i < key.length; i++) {
        const c = key.charCodeAt(i)
        const ok =
            (c >= 48 && c <= 57) ||
            (c >= 65 && c <= 90) ||
            (c >= 97 && c <= 122) ||
            c === 95
        if (!ok) return false
    }
    return true
}

/** Throws unless `key` is an Alink property identifier. */
function checkIdentifier(key: string) {
    if (!isAlinkIdentifier(key))
        throw new RangeError(
            `property '${key}' must be 1..50 letters, digits or '_'`
        )
}

/**
 * Plain JSON body for a custom topic: `{"ts":<epoch ms>,"name":value,...}`
 * (`ts` only when the time is known). Numbers print with the VM's
 * JSON.stringify precision (about 7 significant digits).
 */
export function plainPayload(r: Reading): string {
    const parts: string[] = []
    if (hasTime(r)) parts.push(`"ts":${Math.floor(r.time)}`)
    for (const k of Object.keys(r.values)) {
        if (k === "ts") throw new RangeError(`reading name 'ts' is reserved`)
        parts.push(`${jsonString(k)}:${valueJson(k, r.values[k])}`)
    }
    return "{" + parts.join(",") + "}"
}

/**
 * Alink thing-model property post body:
 * `{"id":"<id>","version":"1.0","params":{...},"method":"thing.event.property.post"}`.
 * With a known time each property is `{"value":v,"time":<epoch ms>}`.
 * `id` is a message id the device chooses (a whole number).
 */
export function alinkPayload(id: number, r: Reading): string {
    if (!(id >= 0) || Math.floor(id) !== id || id > 4294967295)
        throw new RangeError(`alink id must be a whole number below 2^32`)
    const t = hasTime(r) ? Math.floor(r.time) : 0
    const parts: string[] = []
    for (const k of Object.keys(r.values)) {
        checkIdentifier(k)
        const v = valueJson(k, r.values[k])
        // t > 0, not `t ?`: in the VM a number outside int32 is falsy
        parts.push(t > 0 ? `"${k}":{"value":${v},"time":${t}}` : `"${k}":${v}`)
    }
    return `{"id":"${id}","version":"1.0","params":{${parts.join(",")}},"method":"thing.event.property.post"}`
}
