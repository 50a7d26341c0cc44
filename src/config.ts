import { writeSetting } from "@devicescript/settings"
import { readSettingBounded } from "./settings-read"
import { SignMethod } from "./channel/sign"
import { alinkTopic, defaultTopic } from "./payload"
import {
    checkSetting,
    MAX_SETTING_BYTES,
    MAX_SETTING_KEY,
    settingSpec,
    SETTINGS,
} from "./settings-schema"

export {
    DEFAULT_HOST,
    MAX_BUFFER_SIZE,
    MAX_SETTING_BYTES,
    MAX_SETTING_KEY,
} from "./settings-schema"

/** Settings keys of the configuration (`.env.defaults` / `.env.local` names). */
export const KEYS = {
    productKey: "PRODUCT_KEY",
    deviceName: "DEVICE_NAME",
    deviceSecret: "DEVICE_SECRET",
    clientId: "CLIENT_ID",
    signMethod: "SIGN_METHOD",
    host: "HOST",
    port: "PORT",
    topic: "TOPIC",
    periodMs: "PERIOD_MS",
    format: "FORMAT",
    bufferSize: "BUFFER_SIZE",
    batchMax: "BATCH_MAX",
    fleetOta: "FLEET_OTA",
    flashQueue: "FLASH_QUEUE",
    sleepS: "SLEEP_S",
    postEvery: "POST_EVERY",
    postAgeS: "POST_AGE_S",
}

export type PayloadFormat = "json" | "alink"

/** Device configuration after defaults and validation. */
export interface Config {
    productKey: string
    deviceName: string
    deviceSecret: string
    /** default `productKey.deviceName` */
    clientId: string
    /** default `hmacsha1` */
    signMethod: SignMethod
    host: string
    port: number
    /** default per format: `/${pk}/${dn}/user/update` or the Alink property post topic */
    topic: string
    /** report period in ms (1000..86400000), default 60000 */
    periodMs: number
    /** `json` (plain JSON on a custom topic, default) or `alink` */
    format: PayloadFormat
    /** offline buffer capacity in readings (1..256), default 32 */
    bufferSize: number
    /** most queued readings in one request (1..256, 1: no batches), default 32 */
    batchMax: number
    /**
     * share the socket with the runtime's fleet (OTA) connection: release it
     * between report batches (default false: keep-alive across reports)
     */
    fleetOta: boolean
    /** readings kept in flash until the platform takes them (0: RAM only), default 32 */
    flashQueue: number
    /** battery mode: deep sleep between readings, in s (0: stay awake, the default) */
    sleepS: number
    /** battery mode: post every this many wakes, default 6 */
    postEvery: number
    /** battery mode: post also when the oldest kept reading is this old, in s (0: no limit) */
    postAgeS: number
}

/** A config, or undefined with the list of problems (each names its setting). */
export interface ConfigResult {
    config?: Config
    problems: string[]
}

/** Null when `key` may be written with `value`, else the reason. */
export function settingProblem(key: string, value: any): string {
    if (typeof key !== "string" || !key.length) return "setting key is empty"
    if (key.length > MAX_SETTING_KEY)
        return `setting key '${key}' is longer than ${MAX_SETTING_KEY} characters`
    const json = JSON.stringify(value)
    if (json === undefined)
        return `setting ${key}: value cannot be stored as JSON`
    const size = key.length + 1 + json.byteLength
    if (size > MAX_SETTING_BYTES)
        return `setting ${key}: ${size} bytes (key + 1 + JSON) exceeds ${MAX_SETTING_BYTES}`
    return null
}

/**
 * Writes a setting after checking its size: an oversized value would be
 * stored and then abort the VM when read (a boot loop on a device).
 * Throws RangeError instead.
 */
export async function writeSettingChecked(key: string, value: any) {
    const why = settingProblem(key, value)
    if (why) throw new RangeError(why)
    await writeSetting(key, value)
}

/**
 * Applies defaults and validates raw setting values (keyed by {@link KEYS}
 * names, as read from settings) against the settings schema. Pure. Values
 * from `.env` files arrive JSON-parsed, so an all-digit name arrives as a
 * number: that is reported (quote it in `.env`) rather than guessed, since
 * leading zeros are lost.
 */
export function resolveConfig(raw: Record<string, any>): ConfigResult {
    const problems: string[] = []
    const v: Record<string, any> = {}
    for (const key of Object.values(KEYS)) {
        const r = checkSetting(settingSpec(key), raw[key])
        if (r.problem) problems.push(r.problem)
        else v[key] = r.value
    }
    const pk: string = v[KEYS.productKey]
    const dn: string = v[KEYS.deviceName]
    const known = pk !== undefined && dn !== undefined
    // derived defaults, checked like a value that was set
    const derive = (key: string, value: string) => {
        if (v[key] !== undefined || !known) return
        const r = checkSetting(settingSpec(key), value)
        if (r.problem) problems.push(r.problem)
        else v[key] = r.value
    }
    derive(KEYS.clientId, `${pk}.${dn}`)
    derive(
        KEYS.topic,
        v[KEYS.format] === "alink" ? alinkTopic(pk, dn) : defaultTopic(pk, dn)
    )
    if (problems.length) return { problems }
    return {
        problems,
        config: {
            productKey: pk,
            deviceName: dn,
            deviceSecret: v[KEYS.deviceSecret],
            clientId: v[KEYS.clientId],
            signMethod: v[KEYS.signMethod] as SignMethod,
            host: v[KEYS.host],
            port: v[KEYS.port],
            topic: v[KEYS.topic],
            periodMs: v[KEYS.periodMs],
            format: v[KEYS.format] as PayloadFormat,
            bufferSize: v[KEYS.bufferSize],
            batchMax: v[KEYS.batchMax],
            fleetOta: v[KEYS.fleetOta],
            flashQueue: v[KEYS.flashQueue],
            sleepS: v[KEYS.sleepS],
            postEvery: v[KEYS.postEvery],
            postAgeS: v[KEYS.postAgeS],
        },
    }
}

/** The one log line for a failed configuration. */
export function problemsLine(problems: string[]): string {
    const n = problems.length
    return `config: ${n} problem${n === 1 ? "" : "s"}: ${problems.join("; ")}`
}

/** One log line describing a config, without the secret. */
export function describeConfig(c: Config): string {
    // (the compiler asserts on a template with this many substitutions)
    const who = `config: ${c.productKey}/${c.deviceName} client ${c.clientId}`
    const where = ` ${c.signMethod} ${c.host}:${c.port} topic ${c.topic}`
    return (
        who +
        where +
        ` ${c.format} every ${c.periodMs} ms, buffer ${c.bufferSize}` +
        `, batches of ${c.batchMax}` +
        (c.fleetOta ? ", socket shared with fleet OTA" : "") +
        (c.flashQueue > 0
            ? `, flash queue ${c.flashQueue}`
            : ", no flash queue") +
        (c.sleepS > 0
            ? `, battery mode: sleep ${c.sleepS} s, post every ${c.postEvery} wakes`
            : "")
    )
}

async function readRawSettings(): Promise<Record<string, any>> {
    const raw: Record<string, any> = {}
    for (const k of Object.values(KEYS))
        raw[k] = await readSettingBounded(k, undefined)
    return raw
}

/**
 * The topic the settings give now, or undefined while they are not a
 * valid configuration. Logs nothing.
 */
export async function readTopic(): Promise<string> {
    const r = resolveConfig(await readRawSettings())
    return r.config ? r.config.topic : undefined
}

/**
 * Reads every setting in {@link KEYS}, applies defaults and validates.
 * Logs one line: the config (no secret), or every problem found.
 */
export async function readConfig(): Promise<ConfigResult> {
    const r = resolveConfig(await readRawSettings())
    if (r.config) console.log(describeConfig(r.config))
    else console.log(problemsLine(r.problems))
    return r
}
