/**
 * The firmware's settings keys and limits, as the host tools need them.
 * Mirrors `KEYS` in src/config.ts and `SENSOR_KEY` in src/sensors.ts
 * (DeviceScript sources cannot be imported into Node); a host test checks
 * that the lists agree.
 */
export { MAX_SETTING_BYTES, MAX_SETTING_KEY } from "../sim.ts"

/** Identity settings every device needs. */
export const IDENTITY_KEYS = ["PRODUCT_KEY", "DEVICE_NAME", "DEVICE_SECRET"]

/** Optional firmware settings a fleet file may override per device. */
export const OPTIONAL_KEYS = [
    "CLIENT_ID",
    "SIGN_METHOD",
    "HOST",
    "PORT",
    "TOPIC",
    "PERIOD_MS",
    "FORMAT",
    "BUFFER_SIZE",
    "SENSOR",
    "FLEET_OTA",
]

/** Every settings key the firmware reads. */
export const FIRMWARE_KEYS = [...IDENTITY_KEYS, ...OPTIONAL_KEYS]

/** Sensor drivers the firmware knows (src/sensors.ts), plus `probe`. */
export const SENSOR_NAMES = ["SHTC3", "SHT30", "AHT20", "BME680", "probe"]

/** The settings key whose value is a secret: never logged or printed. */
export const SECRET_KEY = "DEVICE_SECRET"
