/**
 * Readings out of the bodies the firmware publishes: the plain form
 * `{"ts":<ms>,"seq":N,"temperature":21.5,...,"dropped":K}` and the Alink
 * form `{"id":"<seq>","params":{"temperature":{"value":21.5,"time":<ms>}|21.5,...}}`.
 */

/** One reading: its numeric fields, its number since boot, its time. */
export interface Reading {
    /** Device time (epoch ms) when it carries one, else when it arrived. */
    t: number
    seq?: number
    /** Readings the device dropped since boot (cumulative), when it said. */
    dropped?: number
    values: Record<string, number>
    /** Numeric fields beyond {@link MAX_FIELDS_PER_READING}, not kept. */
    omittedFields?: number
}

/**
 * Numeric fields kept of one reading (the first ones in the body): a body
 * with thousands of fields costs the console no more than this.
 */
export const MAX_FIELDS_PER_READING = 64

const RESERVED = new Set(["ts", "seq", "dropped"])

/**
 * The reading in `text` (received at `arrived`, epoch ms), or undefined
 * when it is not a JSON object with at least one numeric field.
 */
export function parseReading(
    text: string | undefined,
    arrived: number
): Reading | undefined {
    let o: any
    try {
        o = JSON.parse(text ?? "")
    } catch {
        return undefined
    }
    if (!o || typeof o !== "object" || Array.isArray(o)) return undefined
    const values: Record<string, number> = {}
    let kept = 0
    let omitted = 0
    const keep = (k: string, n: number) => {
        if (kept < MAX_FIELDS_PER_READING) {
            values[k] = n
            kept++
        } else omitted++
    }
    let t: number | undefined
    let seq: number | undefined
    let dropped: number | undefined
    if (o.params && typeof o.params === "object") {
        seq = Number(o.id)
        for (const [k, v] of Object.entries(o.params as Record<string, any>)) {
            const n = typeof v === "object" && v ? v.value : v
            if (typeof v === "object" && v && typeof v.time === "number")
                t = v.time
            if (k === "dropped" && typeof n === "number") dropped = n
            else if (typeof n === "number" && Number.isFinite(n)) keep(k, n)
        }
    } else {
        if (typeof o.ts === "number") t = o.ts
        if (typeof o.seq === "number") seq = o.seq
        if (typeof o.dropped === "number") dropped = o.dropped
        for (const [k, v] of Object.entries(o))
            if (!RESERVED.has(k) && typeof v === "number" && Number.isFinite(v))
                keep(k, v)
    }
    if (!kept) return undefined
    return {
        t: t && t > 0 ? t : arrived,
        seq: Number.isInteger(seq) ? seq : undefined,
        dropped,
        values,
        ...(omitted ? { omittedFields: omitted } : {}),
    }
}

/** The version in a version report `{"id":"1","params":{"version":"v"}}`. */
export function parseVersionReport(text: string | undefined) {
    try {
        const v = JSON.parse(text ?? "")?.params?.version
        return typeof v === "string" ? v.slice(0, 80) : undefined
    } catch {
        return undefined
    }
}
