import { readSetting } from "@devicescript/settings"
import { within } from "./within"

/** How long one read of a setting may wait for the settings service. */
export const SETTING_READ_TIMEOUT_MS = 2000
/** Reads of one setting before giving up. */
export const SETTING_READ_TRIES = 3

/** Reads a setting: `readSetting`'s shape, so tests can pass another. */
export type SettingReader = (key: string, missing: any) => Promise<any>

/**
 * The setting `key` (or `missing`), read with a bound on the wait.
 * `readSetting` sends a command to the settings service and waits for its
 * answer without a timeout (DeviceScript's `actionReport` has a TODO for
 * one); a firmware test once waited there forever. A read that gets no
 * answer in `timeoutMs` is asked again; after `tries` it throws, so the
 * caller's own retry takes over instead of a device stuck for good.
 */
export async function readSettingBounded(
    key: string,
    missing: any,
    read: SettingReader = readSetting,
    timeoutMs = SETTING_READ_TIMEOUT_MS,
    tries = SETTING_READ_TRIES
): Promise<any> {
    for (let i = 0; i < tries; i++) {
        const r = await within(async () => await read(key, missing), timeoutMs)
        if (r) {
            if (r.error) throw r.error
            return r.value
        }
        console.warn(`settings: no answer reading ${key} in ${timeoutMs} ms`)
    }
    throw new Error(`settings: no answer reading ${key} (${tries} tries)`)
}
