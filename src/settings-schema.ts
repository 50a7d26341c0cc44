/**
 * The device settings in one table: each key's type, range, default,
 * whether it is secret, how it is normalised and who writes it. Pure and
 * free of `@devicescript` imports, so the firmware's config reader and the
 * host's provisioning check values with the same code: a value passes on
 * the host exactly when the device takes it. Problems name the key, never
 * the value (a value in the wrong column may be a secret).
 */

/** Longest settings key the runtime accepts. */
export const MAX_SETTING_KEY = 13
/**
 * Largest `key + 1 + JSON(value)` in bytes a setting may have. One byte more
 * is written without any error, but reading it back aborts the VM (the
 * Jacdac reply does not fit a packet): measured 232 reads fine, 233 aborts.
 */
export const MAX_SETTING_BYTES = 232

/** How a value is read and checked. */
export type SettingKind =
    | "text" // printable ASCII without space, 1..max characters, none of `forbid`
    | "int" // a whole number in min..max (a number, or decimal digits)
    | "choice" // one of `choices`, matched ignoring case, kept as spelled there
    | "flag" // 1/0, true/false
    | "host" // a host name or IPv4 address
    | "topic" // a topic the channel can publish to
    | "record" // written and read by the firmware only

/** One setting. */
export interface SettingSpec {
    key: string
    kind: SettingKind
    /** `user`: provisioned or deployed; `firmware`: written by the device */
    writer: "user" | "firmware"
    required?: boolean
    /** never logged, printed or echoed */
    secret?: boolean
    /** int: the range; text: longest length (`max`) */
    min?: number
    max?: number
    /** text: characters that are not allowed */
    forbid?: string
    /** choice: the accepted values, in their normal spelling */
    choices?: string[]
    /** the value when the setting is absent (CLIENT_ID and TOPIC derive theirs) */
    default?: string | number | boolean
}

/** The platform's endpoint (the spec's; only cn-shanghai serves HTTPS). */
export const DEFAULT_HOST = "iot-as-http.cn-shanghai.aliyuncs.com"
/** Most readings kept while the link is down. */
export const MAX_BUFFER_SIZE = 256
/**
 * Most queued readings sent in one request (1: one reading per request).
 * 32 drains the default queue in one request and a full 256 in 8, at 83-88
 * bytes on the wire per reading (measured) where one reading alone takes
 * 252-383;
 * larger batches save a few bytes more per reading and cost heap
 * (docs/design/firmware.md, "Backfill in batches"). Kept here, not in
 * batch.ts: this table imports nothing.
 */
export const DEFAULT_BATCH_MAX = 32

/** Most readings the flash queue holds (FLASH_QUEUE). */
export const MAX_FLASH_QUEUE = 256
/** Block slots of the flash queue (`FQ_0` ...), kept here: this table imports nothing. */
export const FLASH_QUEUE_SLOTS = 40
/**
 * The flash queue's block slots `FQ_0` ... `FQ_39`: one spec stands for all
 * of them ({@link settingSpec} knows each key), as forty entries would take
 * some 3 KB of the device's heap, which a 20 KB answer then lacked.
 */
const FLASH_QUEUE_SLOT: SettingSpec = {
    key: "FQ_<n>",
    kind: "record",
    writer: "firmware",
}
/** Longest deep sleep between readings in battery mode (SLEEP_S): a day. */
export const MAX_SLEEP_S = 86400

/** Every setting, in the order problems are reported. */
// prettier-ignore
export const SETTINGS: SettingSpec[] = [
    { key: "PRODUCT_KEY", kind: "text", writer: "user", required: true, max: 64, forbid: "/?#+" },
    { key: "DEVICE_NAME", kind: "text", writer: "user", required: true, max: 64, forbid: "/?#+" },
    { key: "DEVICE_SECRET", kind: "text", writer: "user", required: true, secret: true, max: 128 },
    { key: "CLIENT_ID", kind: "text", writer: "user", max: 64 },
    { key: "SIGN_METHOD", kind: "choice", writer: "user", choices: ["hmacsha1", "hmacmd5", "hmacsha256"], default: "hmacsha1" },
    { key: "HOST", kind: "host", writer: "user", default: DEFAULT_HOST },
    { key: "PORT", kind: "int", writer: "user", min: 1, max: 65535, default: 443 },
    { key: "TOPIC", kind: "topic", writer: "user" },
    { key: "PERIOD_MS", kind: "int", writer: "user", min: 1000, max: 86400000, default: 60000 },
    { key: "FORMAT", kind: "choice", writer: "user", choices: ["json", "alink"], default: "json" },
    { key: "BUFFER_SIZE", kind: "int", writer: "user", min: 1, max: MAX_BUFFER_SIZE, default: 32 },
    { key: "BATCH_MAX", kind: "int", writer: "user", min: 1, max: MAX_BUFFER_SIZE, default: DEFAULT_BATCH_MAX },
    { key: "SENSOR", kind: "choice", writer: "user", choices: ["SHTC3", "SHT30", "AHT20", "BME680", "probe"] },
    { key: "FLEET_OTA", kind: "flag", writer: "user", default: false },
    { key: "FLASH_QUEUE", kind: "int", writer: "user", min: 0, max: MAX_FLASH_QUEUE, default: 32 },
    { key: "SLEEP_S", kind: "int", writer: "user", min: 0, max: MAX_SLEEP_S, default: 0 },
    { key: "POST_EVERY", kind: "int", writer: "user", min: 1, max: 1000, default: 6 },
    { key: "POST_AGE_S", kind: "int", writer: "user", min: 0, max: 7 * MAX_SLEEP_S, default: 0 },
    { key: "AUTH_TOKEN", kind: "record", writer: "firmware" },
    { key: "AUTH_TOKEN_1", kind: "record", writer: "firmware" },
    { key: "AUTH_TOKEN_2", kind: "record", writer: "firmware" },
    { key: "AUTH_TOKEN_3", kind: "record", writer: "firmware" },
    { key: "AUTH_TOKEN_4", kind: "record", writer: "firmware" },
    { key: "AUTH_TOKEN_5", kind: "record", writer: "firmware" },
    { key: "AUTH_TOKEN_6", kind: "record", writer: "firmware" },
    { key: "SEQ_NEXT", kind: "record", writer: "firmware" },
    { key: "FQ", kind: "record", writer: "firmware" },
    { key: "BATTERY", kind: "record", writer: "firmware" },
    FLASH_QUEUE_SLOT,
]

/** The spec of `key`, or undefined for a key the firmware does not know. */
export function settingSpec(key: string): SettingSpec | undefined {
    for (const s of SETTINGS) if (s.key === key) return s
    return isFlashQueueSlot(key) ? FLASH_QUEUE_SLOT : undefined
}

/** Whether `key` names a block slot of the flash queue, `FQ_0` ... `FQ_39`. */
function isFlashQueueSlot(key: string): boolean {
    if (key.length < 4 || key.slice(0, 3) !== "FQ_") return false
    const n = wholeNumber(key.slice(3), 0, FLASH_QUEUE_SLOTS - 1)
    return n === n && key === "FQ_" + n
}

/** A checked value (normalised), or the problem with it. */
export interface SettingVerdict {
    value?: any
    problem?: string
}

function isAbsent(v: any) {
    return v === undefined || v === null || v === ""
}

/** Integer in [min, max] from a number or decimal digits; NaN otherwise. */
function wholeNumber(v: any, min: number, max: number): number {
    let n = NaN
    if (typeof v === "number") n = v
    else if (typeof v === "string" && v.length >= 1 && v.length <= 15) {
        n = 0
        for (let i = 0; i < v.length; i++) {
            const c = v.charCodeAt(i)
            if (c < 48 || c > 57) return NaN
            n = n * 10 + (c - 48)
        }
    }
    if (!(n >= min && n <= max) || Math.floor(n) !== n) return NaN
    return n
}

function textProblem(s: SettingSpec, v: string): string | null {
    const max = s.max as number
    if (!v.length || v.length > max)
        return `${s.key} must have 1..${max} characters`
    const forbid = s.forbid || ""
    for (let i = 0; i < v.length; i++) {
        const c = v.charCodeAt(i)
        if (c <= 32 || c >= 127 || forbid.indexOf(v[i]) >= 0)
            return `${s.key} contains a character that is not allowed (printable ASCII without space${forbid.length ? ", none of " + forbid : ""})`
    }
    return null
}

function hostProblem(v: string): boolean {
    if (!v.length || v.length > 253) return true
    for (let i = 0; i < v.length; i++) {
        const c = v.charCodeAt(i)
        const ok =
            (c >= 48 && c <= 57) ||
            (c >= 65 && c <= 90) ||
            (c >= 97 && c <= 122) ||
            c === 45 ||
            c === 46
        if (!ok) return true
    }
    return false
}

/**
 * Null when `topic` can be published to, else the reason: it must start
 * with `/`, have no query (`?`), no MQTT wildcard (`#`, `+`), no empty
 * level, no space or control character, and be at most 1024 bytes.
 */
export function topicProblem(topic: string): string | null {
    if (typeof topic !== "string" || !topic.length) return "topic is empty"
    if (!topic.startsWith("/")) return "topic must start with '/'"
    if (topic.indexOf("?") >= 0)
        return "topic must not contain '?' (no query string)"
    if (topic.indexOf("#") >= 0 || topic.indexOf("+") >= 0)
        return "topic must not contain MQTT wildcards (# +)"
    if (topic.length < 2 || topic.endsWith("/") || topic.indexOf("//") >= 0)
        return "topic has an empty level"
    let bytes = 0
    for (let i = 0; i < topic.length; i++) {
        const c = topic.charCodeAt(i)
        if (c <= 32 || c === 127)
            return "topic contains a space or control character"
        bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : 3
    }
    if (bytes > 1024) return "topic is longer than 1024 bytes"
    return null
}

/**
 * Checks one setting's value as read from settings (a string, or a number
 * or boolean when a `.env` file's value was JSON-parsed). An absent value
 * gives the default (undefined when there is none), or a problem when the
 * setting is required.
 */
export function checkSetting(
    s: SettingSpec | undefined,
    v: any
): SettingVerdict {
    if (!s) return { problem: "unknown setting" }
    if (isAbsent(v)) {
        if (s.required) return { problem: `${s.key} is missing` }
        return { value: s.default }
    }
    const k = s.kind
    if (k === "int") {
        const n = wholeNumber(v, s.min as number, s.max as number)
        if (isNaN(n))
            return {
                problem: `${s.key} is not a whole number in ${s.min}..${s.max}`,
            }
        return { value: n }
    }
    if (k === "flag") {
        if (v === 1 || v === true || v === "1" || v === "true")
            return { value: true }
        if (v === 0 || v === false || v === "0" || v === "false")
            return { value: false }
        return { problem: `${s.key} is not 1 or 0` }
    }
    if (typeof v !== "string") {
        if (typeof v === "number" && k !== "record")
            return {
                problem: `${s.key} is a number; write it in quotes in .env ("...")`,
            }
        if (k !== "record") return { problem: `${s.key} must be text` }
        return { value: v }
    }
    if (k === "text") {
        const why = textProblem(s, v)
        return why ? { problem: why } : { value: v }
    }
    if (k === "choice") {
        const choices = s.choices as string[]
        const low = v.toLowerCase()
        for (const c of choices)
            if (c.toLowerCase() === low) return { value: c }
        const last = choices.length - 1
        const list = choices.slice(0, last).join(", ")
        return { problem: `${s.key} is not ${list} or ${choices[last]}` }
    }
    if (k === "host") {
        if (hostProblem(v))
            return { problem: `${s.key} is not a host name or IPv4 address` }
        return { value: v }
    }
    if (k === "topic") {
        const why = topicProblem(v)
        return why ? { problem: `${s.key}: ${why}` } : { value: v }
    }
    return { value: v }
}
