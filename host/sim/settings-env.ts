/**
 * Device settings as the `.env.defaults` file the DeviceScript CLI reads,
 * checked against the runtime's settings limits (from the firmware's
 * settings schema) before anything starts.
 */
import {
    MAX_SETTING_BYTES,
    MAX_SETTING_KEY,
} from "../../src/settings-schema.ts"

export { MAX_SETTING_BYTES, MAX_SETTING_KEY }

/** Renders settings as an env file the CLI parses back to exactly these strings. */
export function settingsToEnv(settings: Record<string, string>): string {
    let out = ""
    for (const [key, value] of Object.entries(settings)) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
            throw new RangeError(
                `setting key ${JSON.stringify(key)}: use [A-Za-z0-9_]`
            )
        if (key === "WIFI_SSID" || key === "WIFI_PWD")
            throw new RangeError(`setting ${key}: not stored as a setting`)
        if (key.length > MAX_SETTING_KEY)
            throw new RangeError(
                `setting key ${key}: at most ${MAX_SETTING_KEY} characters`
            )
        if (typeof value !== "string")
            throw new TypeError(`setting ${key}: value must be a string`)
        // JSON-quoted so "123" stays a string; the CLI drops any line with
        // `#`, so that character is written as a JSON escape.
        const json = JSON.stringify(value).replace(/#/g, "\\u0023")
        const stored =
            Buffer.byteLength(key) +
            1 +
            Buffer.byteLength(JSON.stringify(value))
        if (stored > MAX_SETTING_BYTES)
            throw new RangeError(
                `setting ${key}: ${stored} bytes, at most ${MAX_SETTING_BYTES} (key + 1 + JSON value)`
            )
        out += `${key}=${json}\n`
    }
    return out
}
