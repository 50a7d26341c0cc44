/**
 * The firmware's settings keys and limits, as the host tools need them:
 * read from the firmware's own settings schema (`src/settings-schema.ts`),
 * never copied.
 */
import { SETTINGS, settingSpec } from "../../src/settings-schema.ts"

export {
    MAX_SETTING_BYTES,
    MAX_SETTING_KEY,
    checkSetting,
    settingSpec,
} from "../../src/settings-schema.ts"

/** Identity settings every device needs. */
export const IDENTITY_KEYS = SETTINGS.filter(s => s.required).map(s => s.key)

/** Optional firmware settings a fleet file may set per device. */
export const OPTIONAL_KEYS = SETTINGS.filter(
    s => s.writer === "user" && !s.required
).map(s => s.key)

/** Every settings key a user may write (the firmware writes the others). */
export const FIRMWARE_KEYS = [...IDENTITY_KEYS, ...OPTIONAL_KEYS]

/** Sensor drivers the firmware knows (src/sensors.ts), plus `probe`. */
export const SENSOR_NAMES = settingSpec("SENSOR")!.choices!

/** The settings key whose value is a secret: never logged or printed. */
export const SECRET_KEY = SETTINGS.find(s => s.secret)!.key
