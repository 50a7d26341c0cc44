/**
 * Device identities as the platform documents them, checked where an
 * operator names a device (the command line's `--device` and `--devices`,
 * the admin API's `POST /devices`): a productKey is the 11 letters or digits
 * the platform issues to a product (every documented example, e.g.
 * `a1BwAGVxxxx`, and the C SDK's `PRODUCT_KEY_LEN` of 11); a deviceName is
 * 4 to 32 characters of letters, digits and `-` `_` `@` `.` `:`
 * (RegisterDevice, help.aliyun.com). The library entry points take any
 * non-empty strings, so that the spec's signature vector (productKey `pk`)
 * can be served. Pure.
 */
import { toDevice, type Device } from "./state.ts"

/** What the platform issues as a productKey. */
export const PRODUCT_KEY_PATTERN = /^[A-Za-z0-9]{11}$/
/** What the platform accepts as a deviceName. */
export const DEVICE_NAME_PATTERN = /^[A-Za-z0-9_.:@-]{4,32}$/

/** A name quoted for an error: JSON-escaped, cut at 40 characters. */
function quoted(s: string) {
    return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s)
}

/** Why the platform would not have this device (undefined when it would). */
export function deviceIdentityProblem(
    productKey: string,
    deviceName: string
): string | undefined {
    if (!PRODUCT_KEY_PATTERN.test(productKey))
        return `productKey ${quoted(productKey)} is not one the platform issues: 11 letters or digits (e.g. a1BwAGV1234)`
    if (!DEVICE_NAME_PATTERN.test(deviceName))
        return `deviceName ${quoted(deviceName)} is not one the platform accepts: 4 to 32 characters, letters, digits and - _ @ . :`
    return undefined
}

/**
 * A device given as an object or `PK/DN/SECRET`, its productKey and
 * deviceName checked as the platform documents them; throws (never quoting
 * the secret) otherwise.
 */
export function checkedDevice(d: Device | string): Device {
    const dev = toDevice(d)
    const why = deviceIdentityProblem(dev.productKey, dev.deviceName)
    if (why) throw new Error(why)
    return dev
}
