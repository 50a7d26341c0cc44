/**
 * End to end: the real bytecode in the simulator reports to the emulator over
 * verified TLS. Readings, each sign method, both payload formats, the token
 * kept in flash across a reboot, and re-authentication after a forced expiry.
 */
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import type { Platform } from "../../host/platform/index.ts"
import type { SimSession } from "../../host/sim/index.ts"
import {
    DEVICE,
    deviceSettings,
    readingCount,
    received,
    startDevice,
    startTestPlatform,
    successfulAuths,
    waitForReadings,
} from "./e2e-helpers.ts"

let platform: Platform
let sim: SimSession
/** Tokens the platform issued, kept across resets of its records. */
const issuedTokens = new Set<string>()

function rememberTokens() {
    for (const a of platform.auths()) if (a.token) issuedTokens.add(a.token)
}

/** Resets the platform's records (and tokens if asked), remembering the tokens. */
function resetPlatform(opts?: { tokens?: boolean }) {
    rememberTokens()
    platform.reset(opts)
}

before(async () => {
    platform = await startTestPlatform()
})
after(async () => {
    await sim?.stop()
    await platform?.close()
})

const topic = `/${DEVICE.productKey}/${DEVICE.deviceName}/user/update`

test("readings arrive on the device's topic, signed with hmacsha1 by default", async () => {
    sim = await startDevice(platform, deviceSettings(platform))
    await waitForReadings(platform, 3, 30_000, sim)
    const auths = platform.auths()
    assert.equal(auths.length, 1, "one /auth for many readings")
    assert.equal(auths[0].code, 0)
    assert.equal(auths[0].signmethod, "hmacsha1")
    assert.equal(auths[0].clientId, `${DEVICE.productKey}.${DEVICE.deviceName}`)
    const readings = received(platform)
    const now = platform.now()
    readings.forEach((r, i) => {
        assert.equal(r.topic, topic)
        assert.match(r.messageId, /^\d{18,20}$/)
        assert.equal(r.body.seq, i + 1, "readings in order, none lost")
        assert.ok(
            r.body.temperature > 10 && r.body.temperature < 30,
            JSON.stringify(r.body)
        )
        assert.ok(
            r.body.humidity > 30 && r.body.humidity < 70,
            JSON.stringify(r.body)
        )
        assert.ok(
            Math.abs(r.body.ts - now) < 60_000,
            "ts is the wall time from the server's Date"
        )
    })
    // keep-alive: auth and every publish on one TLS connection
    assert.equal(platform.stats().tlsConnections, 1)
})

test("a reboot reuses the token kept in flash: no second /auth", async () => {
    const authsBefore = platform.auths().length
    await sim.restart()
    await waitForReadings(platform, 2, 30_000, sim)
    assert.equal(platform.auths().length, authsBefore)
    assert.ok(sim.lines.some(l => /^report: accepted/.test(l)))
})

test("a forced token expiry costs one re-authentication and loses no reading", async () => {
    await waitForReadings(platform, 1, 30_000, sim)
    const authsBefore = successfulAuths(platform).length
    const seqBefore = received(platform).at(-1)!.body.seq
    assert.equal(platform.expireToken(DEVICE.productKey, DEVICE.deviceName), 1)
    await waitForReadings(platform, 3, 30_000, sim)
    assert.equal(successfulAuths(platform).length, authsBefore + 1)
    const codes = platform.stats().codes
    assert.equal(codes["20001"], 1, "the expired token was refused once")
    const seqs = received(platform).map(r => r.body.seq)
    const after = seqs.slice(seqs.lastIndexOf(seqBefore))
    after.forEach((s, i) => assert.equal(s, seqBefore + i, `seqs ${after}`))
})

for (const method of ["hmacmd5", "hmacsha256"]) {
    test(`signs /auth with ${method}`, async () => {
        await sim.deploy(deviceSettings(platform, { SIGN_METHOD: method }))
        resetPlatform({ tokens: true }) // the stored token is now unknown
        await waitForReadings(platform, 2, 30_000, sim)
        const ok = successfulAuths(platform)
        assert.equal(ok.length, 1)
        assert.equal(ok[0].signmethod, method)
    })
}

test("Alink format: property post on the thing-model topic", async () => {
    await sim.deploy(deviceSettings(platform, { FORMAT: "alink" }))
    resetPlatform()
    await waitForReadings(platform, 2, 30_000, sim)
    const readings = received(platform)
    for (const r of readings) {
        // readings queued while the device authenticated go as a history post
        const kind = r.batch > 1 ? "property/history/post" : "property/post"
        assert.equal(
            r.topic,
            `/sys/${DEVICE.productKey}/${DEVICE.deviceName}/thing/event/${kind}`
        )
        assert.equal(r.body.version, "1.0")
        assert.equal(r.body.method, `thing.event.${kind.split("/").join(".")}`)
        assert.match(r.body.id, /^\d+$/)
        assert.equal(typeof r.body.params.temperature.value, "number")
        assert.equal(typeof r.body.params.humidity.time, "number")
    }
})

test("the device's logs never show the secret, and tokens only shortened", () => {
    const log = sim.lines.join("\n")
    assert.ok(sim.lines.length > 20)
    assert.ok(!log.includes(DEVICE.deviceSecret), "no secret in the logs")
    rememberTokens()
    assert.ok(issuedTokens.size >= 3, "tokens from several authentications")
    for (const t of issuedTokens) assert.ok(!log.includes(t), "no whole token")
    assert.match(log, /auth: ok, token [\w-]{4}\.\.\.[\w-]{4}/)
})
