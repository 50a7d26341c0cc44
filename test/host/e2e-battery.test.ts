/**
 * End to end in battery mode: the firmware wakes, reads, keeps the reading
 * in flash, posts every 5 wakes and deep-sleeps (the harness emulates the
 * sleep: the simulated runtime ends at `standby`, and the device is started
 * again on the same flash after the time asked for).
 */
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import type { Platform } from "../../host/platform/index.ts"
import type { SimSession } from "../../host/sim/index.ts"
import {
    deviceSettings,
    received,
    startDevice,
    startTestPlatform,
} from "./e2e-helpers.ts"

const WAKES = 21
const POST_EVERY = 5
const SLEEP_S = 2

let platform: Platform
let sim: SimSession
/** host time each `wake:` line arrived, by seq */
const wokeAt = new Map<number, number>()
/** the sleep the device last asked for, ms */
let lastSleepMs = 0

before(async () => {
    platform = await startTestPlatform()
    sim = await startDevice(
        platform,
        deviceSettings(platform, {
            SLEEP_S: String(SLEEP_S),
            POST_EVERY: String(POST_EVERY),
        }),
        {
            clearFlash: true,
            onLine: l => {
                const m = /^wake: seq (\d+)/.exec(l)
                if (m) wokeAt.set(+m[1], Date.now())
            },
        }
    )
})
after(async () => {
    await sim?.stop()
    await platform?.close()
})

test(`a first wake and ${WAKES - 1} more, a post every ${POST_EVERY}: every reading once, seq contiguous, one /auth`, async () => {
    const wakes: string[] = []
    for (let i = 0; i < WAKES; i++) {
        const w = await sim.waitForLine(/^wake: .*/, 120_000)
        wakes.push(w[0])
        const s = await sim.waitForLine(/^sleep: (\d+) ms/, 30_000)
        lastSleepMs = +s[1]
        if (i < WAKES - 1) await sim.sleepAndWake(lastSleepMs)
    }
    const posts = wakes.filter(w => /posted/.test(w))
    // the first wake posts to learn the time and get a token, then every 5th
    const expected = wakes.map((_, i) =>
        i === 0
            ? /posted 1 readings/
            : i % POST_EVERY === 0
              ? /posted 5 readings/
              : /not due/
    )
    wakes.forEach((w, i) => assert.match(w, expected[i], wakes.join("\n")))
    const seqs = received(platform).map(r => r.body.seq)
    assert.deepEqual(
        seqs,
        Array.from({ length: WAKES }, (_, i) => i + 1)
    )
    assert.equal(platform.auths().length, 1, "no /auth after the first")
    // each post is one request on one connection: the readings go as a batch
    const messages = platform
        .messages()
        .filter(m => !m.topic.startsWith("/ota/"))
    assert.equal(messages.length, posts.length)
    // the time: exact for the first post's wake; estimated after (marked)
    const bodies = received(platform).map(r => r.body)
    const errors: number[] = []
    for (const b of bodies) {
        assert.ok(b.ts > 0, `seq ${b.seq} has a time`)
        errors.push(b.ts - wokeAt.get(b.seq)!)
    }
    const estimated = bodies.filter(b => b.est === true).map(b => b.seq)
    assert.ok(estimated.length >= WAKES - POST_EVERY, `${estimated}`)
    // the estimate counts the sleeps asked for, not the time a simulated
    // boot takes; the error stays within 10 s a wake since the last post
    const worst = Math.max(...errors.map(Math.abs))
    console.log(`timestamp error vs host clock (ms): ${errors.join(",")}`)
    assert.ok(worst <= 10_000 * POST_EVERY, `worst ${worst} ms`)
})

/** Readings messages (not version reports) the platform accepted. */
function readingMessages() {
    return platform.messages().filter(m => !m.topic.startsWith("/ota/"))
}

test("a platform outage across 3 posts: nothing is lost, the backlog goes out in a batch, no /auth", async () => {
    const arrived = received(platform).length
    const messagesBefore = readingMessages().length
    const wakes: string[] = []
    /** Sleeps as asked, wakes: the new wake's line. */
    const wake = async () => {
        await sim.sleepAndWake(lastSleepMs)
        const w = await sim.waitForLine(/^wake: .*/, 120_000)
        wakes.push(w[0])
        lastSleepMs = +(await sim.waitForLine(/^sleep: (\d+) ms/, 30_000))[1]
        return w[0]
    }
    platform.setFaults({ outageMs: 3_600_000 })
    let failed = 0
    while (failed < 3) {
        assert.ok(
            wakes.length < 40,
            `3 failed posts in 40 wakes:\n${wakes.join("\n")}`
        )
        if (/post failed/.test(await wake())) failed++
    }
    assert.equal(
        received(platform).length,
        arrived,
        "nothing during the outage"
    )
    platform.setFaults({ outageMs: 0 })
    // the backoff ends: the next post takes the whole backlog
    let last = ""
    do {
        assert.ok(
            wakes.length < 80,
            `a post after the outage:\n${wakes.join("\n")}`
        )
        last = await wake()
    } while (!/posted \d+ readings, 0 waiting/.test(last))
    const lastSeq = +/^wake: seq (\d+)/.exec(last)![1]
    const seqs = received(platform).map(r => r.body.seq)
    assert.deepEqual(
        seqs,
        Array.from({ length: lastSeq }, (_, i) => i + 1),
        "every reading once, in order"
    )
    const backlog = lastSeq - arrived
    const after = readingMessages().length - messagesBefore
    assert.ok(backlog >= 3, `a backlog of ${backlog}`)
    assert.ok(
        after < backlog,
        `${backlog} readings in ${after} requests: batches`
    )
    assert.equal(platform.auths().length, 1, "no /auth after the first")
})
