/**
 * Fleet files: one row per device with its identity, optional Wi-Fi and
 * per-device overrides of the firmware's settings. Parsing and validation
 * are pure; every bad row is reported with its line and reason, and no
 * reason ever quotes a value from the file (a JSON syntax error names its
 * line and column only; a bad value is named by its key).
 *
 * CSV: a header row, then one device per row (RFC 4180 quoting). Columns:
 * `productKey`, `deviceName`, `deviceSecret` (or `PRODUCT_KEY`,
 * `DEVICE_NAME`, `DEVICE_SECRET`), optional `WIFI_SSID`, `WIFI_PWD`, and any
 * firmware settings key (`HOST`, `PORT`, `PERIOD_MS`, `SENSOR`, ...). An
 * empty cell leaves that setting out. Optional `fleetId`: the device's id in
 * the fleet OTA service (`provision write` then also enrols it); such a
 * device gets `FLEET_OTA=1` unless the row sets it (`0` is refused).
 *
 * JSON: an array of devices, or `{"defaults": {...}, "devices": [...]}`;
 * a device is `{"productKey", "deviceName", "deviceSecret", "wifi"?:
 * {"ssid", "password"}, "settings"?: {"KEY": value}, "fleetId"?}` (defaults are
 * settings applied to every device unless it overrides them).
 */
import { parseJsonQuietly } from "../lib/json-error.ts"
import {
    checkSetting,
    FIRMWARE_KEYS,
    MAX_SETTING_BYTES,
    MAX_SETTING_KEY,
    settingSpec,
} from "./keys.ts"

/** A device ready to provision: its settings as the firmware reads them. */
export interface FleetDevice {
    /** line of the row (CSV) or of the device object (JSON), 1-based */
    line: number
    productKey: string
    deviceName: string
    /** settings key → string value (identity included) */
    settings: Record<string, string>
    wifi?: { ssid: string; password: string }
    /** its id in the fleet OTA service, when it is a fleet member */
    fleetId?: string
}

/** A fleet device id: what the fleet service takes (its `DEVICE_ID`). */
export const FLEET_ID = /^[A-Za-z0-9._-]{1,64}$/

/** A bad row: where and why (never the secret). */
export interface FleetError {
    line: number
    reason: string
}

export interface FleetResult {
    devices: FleetDevice[]
    errors: FleetError[]
}

/** A raw row before validation. */
interface RawRow {
    line: number
    /** column/field → value; `undefined` or "" means absent */
    values: Record<string, unknown>
    wifi?: { ssid?: unknown; password?: unknown }
    fleetId?: unknown
}

const ALIASES: Record<string, string> = {
    productKey: "PRODUCT_KEY",
    deviceName: "DEVICE_NAME",
    deviceSecret: "DEVICE_SECRET",
    wifiSsid: "WIFI_SSID",
    wifiPassword: "WIFI_PWD",
}

/** Parses and validates a fleet file; `name` decides CSV or JSON (`.json`). */
export function parseFleet(text: string, name = "fleet.csv"): FleetResult {
    const json = name.toLowerCase().endsWith(".json")
    let rows: RawRow[]
    try {
        rows = json ? jsonRows(text) : csvRows(text)
    } catch (e) {
        return {
            devices: [],
            errors: [
                {
                    line: (e as { line?: number }).line ?? 1,
                    reason: (e as Error).message,
                },
            ],
        }
    }
    return validateRows(rows)
}

// ---------------------------------------------------------------------------
// CSV

class ParseError extends Error {
    constructor(
        message: string,
        readonly line: number
    ) {
        super(message)
    }
}

/** RFC 4180 records with the line each starts on. */
export function csvRecords(text: string): { line: number; cells: string[] }[] {
    const out: { line: number; cells: string[] }[] = []
    let line = 1
    let i = 0
    if (text.charCodeAt(0) === 0xfeff) i = 1
    while (i < text.length) {
        const start = line
        const cells: string[] = []
        let cell = ""
        let quoted = false
        let atStart = true
        for (; i < text.length; i++) {
            const c = text[i]
            if (quoted) {
                if (c === '"') {
                    if (text[i + 1] === '"') {
                        cell += '"'
                        i++
                    } else quoted = false
                } else {
                    if (c === "\n") line++
                    cell += c
                }
                continue
            }
            if (c === '"' && atStart) {
                quoted = true
                atStart = false
            } else if (c === ",") {
                cells.push(cell)
                cell = ""
                atStart = true
            } else if (c === "\n" || c === "\r") {
                if (c === "\r" && text[i + 1] === "\n") i++
                i++
                line++
                break
            } else {
                cell += c
                atStart = false
            }
        }
        if (quoted) throw new ParseError("unterminated quoted field", start)
        cells.push(cell)
        if (cells.length > 1 || cells[0].trim() !== "")
            out.push({ line: start, cells })
    }
    return out
}

function csvRows(text: string): RawRow[] {
    const records = csvRecords(text)
    if (!records.length) throw new ParseError("empty fleet file", 1)
    const header = records[0].cells.map(h => {
        const t = h.trim()
        return ALIASES[t] ?? t
    })
    // without a header row the first device's cells (its secret among them)
    // would be taken for column names and named in errors
    const identity = ["PRODUCT_KEY", "DEVICE_NAME", "DEVICE_SECRET"]
    if (!identity.every(k => header.includes(k)))
        throw new ParseError(
            "the first row must be a header naming productKey, deviceName and deviceSecret",
            records[0].line
        )
    return records.slice(1).map(r => {
        const values: Record<string, unknown> = {}
        const extra = r.cells.length - header.length
        r.cells.forEach((c, k) => {
            if (k < header.length) values[header[k]] = c
        })
        if (extra > 0) values["\u0000extra"] = extra
        const wifi =
            values.WIFI_SSID !== undefined || values.WIFI_PWD !== undefined
                ? { ssid: values.WIFI_SSID, password: values.WIFI_PWD }
                : undefined
        delete values.WIFI_SSID
        delete values.WIFI_PWD
        const fleetId = values.fleetId
        delete values.fleetId
        return { line: r.line, values, wifi, fleetId }
    })
}

// ---------------------------------------------------------------------------
// JSON

/**
 * Offsets of the elements of the devices array (the top-level array, or
 * the array under the top-level key "devices"), found by scanning the
 * text, so that errors can name lines.
 */
function deviceOffsets(text: string): number[] {
    const offsets: number[] = []
    // stack of containers: "[" or "{", with the key that led to each
    const stack: { kind: string; key?: string; target: boolean }[] = []
    let lastString = ""
    let pendingKey: string | undefined
    let expectValue = true
    for (let i = 0; i < text.length; i++) {
        const c = text[i]
        if (c === " " || c === "\n" || c === "\r" || c === "\t") continue
        const top = stack[stack.length - 1]
        if (top?.target && expectValue && c !== "]") offsets.push(i)
        expectValue = false
        if (c === '"') {
            let j = i + 1
            let s = ""
            for (; j < text.length && text[j] !== '"'; j++) {
                if (text[j] === "\\") j++
                s += text[j]
            }
            lastString = s
            i = j
        } else if (c === ":") {
            pendingKey = lastString
        } else if (c === "{" || c === "[") {
            const target =
                c === "[" &&
                (stack.length === 0 ||
                    (stack.length === 1 &&
                        stack[0].kind === "{" &&
                        pendingKey === "devices"))
            stack.push({ kind: c, key: pendingKey, target })
            if (c === "[") expectValue = true
        } else if (c === "}" || c === "]") {
            stack.pop()
        } else if (c === ",") {
            if (stack[stack.length - 1]?.kind === "[") expectValue = true
        }
    }
    return offsets
}

function lineAt(text: string, offset: number): number {
    let line = 1
    for (let i = 0; i < offset && i < text.length; i++)
        if (text[i] === "\n") line++
    return line
}

function jsonRows(text: string): RawRow[] {
    let doc: unknown
    try {
        doc = parseJsonQuietly(text)
    } catch (e) {
        // Node's own message may quote the text: only line and column here
        throw new ParseError(
            (e as Error).message,
            (e as { line?: number }).line ?? 1
        )
    }
    let list: unknown
    let defaults: Record<string, unknown> = {}
    if (Array.isArray(doc)) list = doc
    else if (doc && typeof doc === "object") {
        const d = doc as Record<string, unknown>
        list = d.devices
        if (d.defaults !== undefined) {
            if (!d.defaults || typeof d.defaults !== "object")
                throw new ParseError('"defaults" must be an object', 1)
            defaults = d.defaults as Record<string, unknown>
        }
    }
    if (!Array.isArray(list))
        throw new ParseError(
            'expected an array of devices or {"devices": [...]}',
            1
        )
    const offsets = deviceOffsets(text)
    return list.map((item, k) => {
        const line = offsets[k] !== undefined ? lineAt(text, offsets[k]) : 1
        if (!item || typeof item !== "object" || Array.isArray(item))
            return { line, values: { "\u0000notObject": true } }
        const o = item as Record<string, unknown>
        const values: Record<string, unknown> = { ...defaults }
        for (const [k2, v] of Object.entries(o)) {
            if (k2 === "settings" || k2 === "wifi" || k2 === "fleetId") continue
            values[ALIASES[k2] ?? k2] = v
        }
        if (o.settings !== undefined) {
            if (!o.settings || typeof o.settings !== "object")
                values["\u0000badSettings"] = true
            else Object.assign(values, o.settings)
        }
        let wifi: RawRow["wifi"]
        if (o.wifi !== undefined) {
            const w = (o.wifi ?? {}) as Record<string, unknown>
            wifi = { ssid: w.ssid, password: w.password }
        }
        if (values.WIFI_SSID !== undefined || values.WIFI_PWD !== undefined) {
            wifi = wifi ?? { ssid: values.WIFI_SSID, password: values.WIFI_PWD }
            delete values.WIFI_SSID
            delete values.WIFI_PWD
        }
        return { line, values, wifi, fleetId: o.fleetId }
    })
}

// ---------------------------------------------------------------------------
// validation

const absent = (v: unknown) => v === undefined || v === null || v === ""

/** Reasons a single setting cannot be provisioned (empty when fine). */
export function settingProblems(key: string, value: string): string[] {
    const out: string[] = []
    if (settingSpec(key)?.writer === "firmware")
        out.push(`${key} is written by the firmware, not provisioned`)
    else if (!FIRMWARE_KEYS.includes(key))
        out.push(
            key.length > MAX_SETTING_KEY
                ? `unknown setting '${key}' (and longer than ${MAX_SETTING_KEY} characters)`
                : `unknown setting '${key}'`
        )
    const size =
        Buffer.byteLength(key) + 1 + Buffer.byteLength(JSON.stringify(value))
    if (size > MAX_SETTING_BYTES)
        out.push(
            `${key}: ${size} bytes (key + 1 + JSON value), more than ${MAX_SETTING_BYTES}`
        )
    if (value.includes("#"))
        out.push(
            `${key} contains '#', which the .env deploy path silently drops`
        )
    if (out.length) return out
    // the firmware's own checks, from its settings schema
    const verdict = checkSetting(settingSpec(key), value)
    if (verdict.problem) out.push(verdict.problem)
    return out
}

function wifiProblems(wifi: RawRow["wifi"]): string[] {
    if (!wifi) return []
    const out: string[] = []
    const ssid = wifi.ssid
    const pwd = absent(wifi.password) ? "" : wifi.password
    if (absent(ssid)) {
        if (!absent(wifi.password)) out.push("WIFI_PWD given without WIFI_SSID")
        return out
    }
    if (typeof ssid !== "string" || typeof pwd !== "string")
        return ["WIFI_SSID and WIFI_PWD must be strings"]
    const n = Buffer.byteLength(ssid)
    if (n > 32) out.push(`WIFI_SSID is ${n} bytes, more than 32`)
    if (pwd.length && (pwd.length < 8 || pwd.length > 63))
        out.push("WIFI_PWD must be empty (open network) or 8..63 characters")
    if (ssid.includes("#") || pwd.includes("#"))
        out.push(
            "Wi-Fi credentials contain '#', which the .env deploy path silently drops"
        )
    return out
}

function validateRows(rows: RawRow[]): FleetResult {
    const devices: FleetDevice[] = []
    const errors: FleetError[] = []
    const seen = new Map<string, number>()
    const fleetIds = new Map<string, number>()
    for (const row of rows) {
        const reasons: string[] = []
        const v = row.values
        if (v["\u0000notObject"]) {
            errors.push({
                line: row.line,
                reason: "a device must be an object",
            })
            continue
        }
        if (v["\u0000extra"])
            reasons.push(`${v["\u0000extra"]} more cell(s) than header columns`)
        if (v["\u0000badSettings"]) reasons.push('"settings" must be an object')
        const settings: Record<string, string> = {}
        for (const k of ["PRODUCT_KEY", "DEVICE_NAME", "DEVICE_SECRET"])
            if (absent(v[k])) reasons.push(`${k} is missing`)
        for (const [k, raw] of Object.entries(v)) {
            if (k.startsWith("\u0000") || absent(raw)) continue
            if (typeof raw !== "string" && typeof raw !== "number") {
                reasons.push(`${k} must be a string or a number`)
                continue
            }
            const value = String(raw)
            const problems = settingProblems(k, value)
            reasons.push(...problems)
            if (!problems.length) settings[k] = value
        }
        reasons.push(...wifiProblems(row.wifi))
        const fleetId = absent(row.fleetId) ? undefined : row.fleetId
        if (fleetId !== undefined) {
            if (typeof fleetId !== "string" || !FLEET_ID.test(fleetId))
                reasons.push(
                    "fleetId: letters, digits, '.', '_' and '-', at most 64"
                )
            else if (fleetIds.has(fleetId))
                reasons.push(
                    `duplicate fleetId: same as line ${fleetIds.get(fleetId)}`
                )
            else fleetIds.set(fleetId, row.line)
            if (
                settings.FLEET_OTA !== undefined &&
                checkSetting(settingSpec("FLEET_OTA"), settings.FLEET_OTA)
                    .value === false
            )
                reasons.push(
                    "fleetId with FLEET_OTA=0: a fleet member shares its socket with the fleet connection (FLEET_OTA=1)"
                )
        }
        const pk = v.PRODUCT_KEY
        const dn = v.DEVICE_NAME
        if (typeof dn === "string" && !absent(dn)) {
            const id = `${pk}/${dn}`
            const first = seen.get(id)
            if (first !== undefined)
                reasons.push(
                    `duplicate device: same productKey and deviceName as line ${first}`
                )
            else seen.set(id, row.line)
        }
        if (reasons.length) {
            for (const reason of reasons)
                errors.push({ line: row.line, reason })
            continue
        }
        const dev: FleetDevice = {
            line: row.line,
            productKey: settings.PRODUCT_KEY,
            deviceName: settings.DEVICE_NAME,
            settings,
        }
        if (fleetId !== undefined) {
            dev.fleetId = fleetId as string
            dev.settings = { FLEET_OTA: "1", ...settings }
        }
        if (row.wifi && !absent(row.wifi.ssid))
            dev.wifi = {
                ssid: row.wifi.ssid as string,
                password: (row.wifi.password as string) || "",
            }
        devices.push(dev)
    }
    return { devices, errors }
}

/** `line N: reason` lines, one per error. */
export function formatErrors(errors: FleetError[]): string {
    return errors.map(e => `line ${e.line}: ${e.reason}`).join("\n")
}
