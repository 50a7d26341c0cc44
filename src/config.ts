import { readSetting, writeSetting } from "@devicescript/settings"
import { SignMethod } from "./channel/sign"
import { parseDigits } from "./digits"
import { alinkTopic, defaultTopic, topicProblem } from "./payload"

/** Longest settings key the runtime accepts. */
export const MAX_SETTING_KEY = 13
/** key + 1 + JSON value must fit in this many bytes, or the read aborts the VM. */
export const MAX_SETTING_BYTES = 232

/** Settings keys (`.env.defaults` / `.env.local` names). */
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
    fleetOta: "FLEET_OTA",
}

export type PayloadFormat = "json" | "alink"

export const DEFAULT_HOST = "iot-as-http.cn-shanghai.aliyuncs.com"
export const DEFAULT_PORT = 443
export const DEFAULT_PERIOD_MS = 60000
export const DEFAULT_BUFFER_SIZE = 32
export const MAX_BUFFER_SIZE = 256

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
    /**
     * share the socket with the runtime's fleet (OTA) connection: release it
     * between report batches (default false: keep-alive across reports)
     */
    fleetOta: boolean
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

/** Printable ASCII without space, 1..max characters, none of `forbid`. */
function textProblem(
    name: string,
    v: string,
    max: number,
    forbid: string,
    secret: boolean
): string {
    if (!v.length || v.length > max)
        return `${name} must have 1..${max} characters`
    for (let i = 0; i < v.length; i++) {
        const c = v.charCodeAt(i)
        if (c <= 32 || c >= 127 || forbid.indexOf(v[i]) >= 0) {
            if (secret)
                return `${name} contains a character that is not allowed`
            return `${name} '${v}' contains '${v[i]}', which is not allowed`
        }
    }
    return null
}

/** Integer in [min, max] from a number or a decimal string; NaN otherwise. */
function intIn(v: any, min: number, max: number): number {
    let n: number = NaN
    if (typeof v === "number") n = v
    else if (typeof v === "string") n = parseDigits(v, 1, 15)
    if (!(n >= min && n <= max) || Math.floor(n) !== n) return NaN
    return n
}

/**
 * Applies defaults and validates raw setting values (keyed by {@link KEYS}
 * names, as read from settings). Pure. Values from `.env` files arrive
 * JSON-parsed, so an all-digit name arrives as a number: that is reported
 * (quote it in `.env`) rather than guessed, since leading zeros are lost.
 */
export function resolveConfig(raw: Record<string, any>): ConfigResult {
    const problems: string[] = []
    const str = (key: string, required: boolean): string => {
        const v = raw[key]
        if (v === undefined || v === null || v === "") {
            if (required) problems.push(`${key} is missing`)
            return undefined
        }
        if (typeof v !== "string") {
            problems.push(
                typeof v === "number"
                    ? `${key} is a number; write it in quotes in .env ("...")`
                    : `${key} must be a string`
            )
            return undefined
        }
        return v
    }
    const check = (why: string) => {
        if (why) problems.push(why)
    }

    const productKey = str(KEYS.productKey, true)
    if (productKey !== undefined)
        check(textProblem(KEYS.productKey, productKey, 64, "/?#+", false))
    const deviceName = str(KEYS.deviceName, true)
    if (deviceName !== undefined)
        check(textProblem(KEYS.deviceName, deviceName, 64, "/?#+", false))
    const deviceSecret = str(KEYS.deviceSecret, true)
    if (deviceSecret !== undefined)
        check(textProblem(KEYS.deviceSecret, deviceSecret, 128, "", true))

    let clientId = str(KEYS.clientId, false)
    if (
        clientId === undefined &&
        productKey !== undefined &&
        deviceName !== undefined
    )
        clientId = `${productKey}.${deviceName}`
    if (clientId !== undefined)
        check(textProblem(KEYS.clientId, clientId, 64, "", false))

    let signMethod = str(KEYS.signMethod, false) as SignMethod
    if (signMethod === undefined) signMethod = "hmacsha1"
    else {
        signMethod = signMethod.toLowerCase() as SignMethod
        if (
            signMethod !== "hmacsha1" &&
            signMethod !== "hmacmd5" &&
            signMethod !== "hmacsha256"
        )
            problems.push(
                `${KEYS.signMethod} '${signMethod}' is not hmacsha1, hmacmd5 or hmacsha256`
            )
    }

    let host = str(KEYS.host, false)
    if (host === undefined) host = DEFAULT_HOST
    else {
        let bad = host.length > 253
        for (let i = 0; i < host.length && !bad; i++) {
            const c = host.charCodeAt(i)
            bad = !(
                (c >= 48 && c <= 57) ||
                (c >= 65 && c <= 90) ||
                (c >= 97 && c <= 122) ||
                c === 45 ||
                c === 46
            )
        }
        if (bad)
            problems.push(
                `${KEYS.host} '${host}' is not a host name or IPv4 address`
            )
    }

    let port = DEFAULT_PORT
    if (raw[KEYS.port] !== undefined && raw[KEYS.port] !== "") {
        port = intIn(raw[KEYS.port], 1, 65535)
        if (isNaN(port))
            problems.push(
                `${KEYS.port} '${raw[KEYS.port]}' is not a port number (1..65535)`
            )
    }

    let format: PayloadFormat = "json"
    const f = str(KEYS.format, false)
    if (f !== undefined) {
        if (f === "json" || f === "alink") format = f
        else problems.push(`${KEYS.format} '${f}' is not json or alink`)
    }

    let topic = str(KEYS.topic, false)
    if (
        topic === undefined &&
        productKey !== undefined &&
        deviceName !== undefined
    )
        topic =
            format === "alink"
                ? alinkTopic(productKey, deviceName)
                : defaultTopic(productKey, deviceName)
    if (topic !== undefined) {
        const why = topicProblem(topic)
        if (why) problems.push(`${KEYS.topic}: ${why}`)
    }

    let periodMs = DEFAULT_PERIOD_MS
    if (raw[KEYS.periodMs] !== undefined && raw[KEYS.periodMs] !== "") {
        periodMs = intIn(raw[KEYS.periodMs], 1000, 86400000)
        if (isNaN(periodMs))
            problems.push(
                `${KEYS.periodMs} '${raw[KEYS.periodMs]}' is not a whole number of ms in 1000..86400000`
            )
    }

    let bufferSize = DEFAULT_BUFFER_SIZE
    if (raw[KEYS.bufferSize] !== undefined && raw[KEYS.bufferSize] !== "") {
        bufferSize = intIn(raw[KEYS.bufferSize], 1, MAX_BUFFER_SIZE)
        if (isNaN(bufferSize))
            problems.push(
                `${KEYS.bufferSize} '${raw[KEYS.bufferSize]}' is not a whole number in 1..${MAX_BUFFER_SIZE}`
            )
    }

    let fleetOta = false
    const ota = raw[KEYS.fleetOta]
    if (ota === 1 || ota === true || ota === "1" || ota === "true")
        fleetOta = true
    else if (!(
        ota === undefined ||
        ota === 0 ||
        ota === false ||
        ota === "0" ||
        ota === "false" ||
        ota === ""
    ))
        problems.push(`${KEYS.fleetOta} '${ota}' is not 1 or 0`)

    if (problems.length) return { problems }
    return {
        problems,
        config: {
            productKey,
            deviceName,
            deviceSecret,
            clientId,
            signMethod,
            host,
            port,
            topic,
            periodMs,
            format,
            bufferSize,
            fleetOta,
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
        (c.fleetOta ? ", socket shared with fleet OTA" : "")
    )
}

async function readRawSettings(): Promise<Record<string, any>> {
    const raw: Record<string, any> = {}
    for (const k of Object.values(KEYS)) raw[k] = await readSetting(k)
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
