import * as ds from "@devicescript/core"
import { jsonString } from "./payload"

/**
 * package.json's `version`. The compiler records a version only when it
 * builds inside a git checkout (it looks for `.git`), so builds elsewhere
 * (the simulator's shadow project, a source zip) fall back to this; a host
 * test keeps it equal to package.json.
 */
export const PACKAGE_VERSION = "0.1.0"

/**
 * The firmware's version, as the compiler recorded it from package.json
 * and git at build time: `v0.1.0` for a build of an exact `v*` tag,
 * otherwise the next patch version with the commit and build time
 * (`v0.1.1-abc1234-2026.11.26.01.59`); `v` + {@link PACKAGE_VERSION} when
 * the build recorded none.
 */
export function firmwareVersion(): string {
    const v = ds._dcfgString("@version")
    return typeof v === "string" && v.length > 0 ? v : "v" + PACKAGE_VERSION
}

/** Topic Alibaba's SDKs use to report the firmware version over HTTP. */
export function informTopic(productKey: string, deviceName: string): string {
    return `/ota/device/inform/${productKey}/${deviceName}`
}

/** Body of the version report: `{"id":"<id>","params":{"version":"<version>"}}`. */
export function informBody(id: number, version: string): string {
    // (plain concatenation: the compiler turns a template's `}}` into `}`)
    return (
        '{"id":"' + id + '","params":{"version":' + jsonString(version) + "}}"
    )
}
