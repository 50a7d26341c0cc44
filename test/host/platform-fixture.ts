// The platform emulator for one test file, with one device registered and
// authenticated: started before the file's tests in a temporary state
// directory, optionally reset before each test, closed and removed after.
import { after, before, beforeEach } from "node:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
    startPlatform,
    type Platform,
    type PlatformOptions,
} from "../../host/platform/index.ts"
import { authenticate } from "../../host/testkit/platform-client.ts"

/** A device as the emulator registers it. */
export interface TestDevice {
    productKey: string
    deviceName: string
    deviceSecret: string
}

/** What the hooks hand the test file once the emulator runs. */
export interface DevicePlatform {
    platform: Platform
    /** The token `dev` got from `/auth`. */
    token: string
}

/**
 * Registers the file's hooks for an emulator with `dev` (state in a
 * directory named from `prefix`; `options` go to `startPlatform`) and calls
 * `ready` with it and `dev`'s token before the tests. With `reset`, the
 * emulator's state is reset before each test.
 */
export function useDevicePlatform(
    prefix: string,
    dev: TestDevice,
    ready: (s: DevicePlatform) => void,
    o: { reset?: boolean; options?: Partial<PlatformOptions> } = {}
) {
    const stateDir = mkdtempSync(join(tmpdir(), prefix))
    let platform: Platform | undefined
    before(async () => {
        platform = await startPlatform({
            ...o.options,
            stateDir,
            devices: [dev],
        })
        ready({ platform, token: await authenticate(platform, dev) })
    })
    if (o.reset) beforeEach(() => platform!.reset())
    after(async () => {
        await platform?.close()
        rmSync(stateDir, { recursive: true, force: true })
    })
}
