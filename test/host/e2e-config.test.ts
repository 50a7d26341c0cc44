/**
 * End to end: what a user sees when the settings are wrong or the server is
 * not trusted. The device says what is wrong in one line, waits instead of
 * crash-looping, and never sends a reading to a server it cannot verify.
 */
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import type { Platform } from "../../host/platform/index.ts"
import type { SimSession } from "../../host/sim/index.ts"
import {
    DEVICE,
    deviceSettings,
    readingCount,
    startDevice,
    startTestPlatform,
    waitForReadings,
    waitUntil,
} from "./e2e-helpers.ts"

let platform: Platform
let sim: SimSession | undefined

before(async () => {
    platform = await startTestPlatform()
})
after(async () => {
    await sim?.stop()
    await platform?.close()
})

test("bad or missing settings: one line naming each problem, then the device waits", async () => {
    sim = await startDevice(platform, {
        PRODUCT_KEY: DEVICE.productKey,
        DEVICE_NAME: DEVICE.deviceName,
        SIGN_METHOD: "hmacsha512",
        PORT: "99999",
        HOST: "127.0.0.1",
    })
    const [line] = await sim.waitForLine(/^config: \d+ problems?: .*/, 20_000)
    assert.match(line, /^config: 3 problems: /)
    assert.match(line, /DEVICE_SECRET is missing/)
    assert.match(line, /SIGN_METHOD is not hmacsha1, hmacmd5 or hmacsha256/)
    assert.match(line, /PORT is not a whole number in 1\.\.65535/)
    await sim.waitForLine(/^config: waiting for valid settings/, 5_000)
    // it keeps running (no restart loop) and sends nothing
    await new Promise(r => setTimeout(r, 3000))
    assert.deepEqual(
        sim.lines.filter(l => /^(start:|Exception|PANIC)/.test(l)).length,
        1,
        "started once"
    )
    assert.equal(platform.auths().length, 0)
    // provisioning the missing and corrected settings brings it to life (a
    // deploy adds and overwrites settings, it never deletes one)
    try {
        await sim.deploy(deviceSettings(platform, { SIGN_METHOD: "hmacsha1" }))
        await waitForReadings(platform, 2, 30_000, sim)
    } finally {
        await sim.stop()
        sim = undefined
    }
})

test("a server the device does not trust is refused with a clear error", async () => {
    const before = readingCount(platform)
    const tlsErrors = platform.stats().tlsErrors
    sim = await startDevice(platform, deviceSettings(platform), { env: {} })
    const [line] = await sim.waitForLine(/not sent .*/, 30_000)
    assert.match(line, /certificate/i, line)
    await waitUntil(
        () => platform.stats().tlsErrors > tlsErrors,
        10_000,
        "the refused handshake on the platform side"
    )
    assert.equal(readingCount(platform), before, "nothing was accepted")
    await sim.stop()
    sim = undefined
})
