/**
 * End to end: the firmware in the simulator survives throttling, outages and
 * bad answers from the emulator without losing readings (beyond its queue's
 * capacity, counted exactly), without crashing and without hanging.
 */
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import type { Platform } from "../../host/platform/index.ts"
import type { SimSession } from "../../host/sim/index.ts"
import {
    deviceSettings,
    readingCount,
    received,
    startDevice,
    startTestPlatform,
    waitForReadings,
    waitUntil,
    deviceLines,
} from "./e2e-helpers.ts"

let platform: Platform
let sim: SimSession

before(async () => {
    platform = await startTestPlatform()
    sim = await startDevice(platform, deviceSettings(platform))
    await waitForReadings(platform, 1, 30_000, sim)
})
after(async () => {
    await sim?.stop()
    await platform?.close()
})

/** Seqs of the readings received since message index `from` (this boot). */
function seqsSince(from: number): number[] {
    return received(platform)
        .slice(from)
        .map(r => r.body.seq)
}

/** The device has not restarted or thrown since line index `from`. */
function assertNoCrash(fromLine: number) {
    const lines = sim.lines.slice(fromLine)
    const bad = lines.filter(l => /^(start:|Exception|PANIC)/.test(l))
    assert.deepEqual(bad, [], "no restart, exception or panic")
}

/** Consecutive, each exactly once. */
function assertConsecutive(seqs: number[]) {
    seqs.forEach((s, i) => assert.equal(s, seqs[0] + i, `seqs ${seqs}`))
}

test("a throttling storm: every reading delivered, in order, exactly once", async () => {
    const from = readingCount(platform)
    const fromLine = sim.lines.length
    platform.setFaults({ forceCode: { code: 40000, count: 6, on: "topic" } })
    await waitUntil(
        () => platform.stats().faults.forceCode >= 6,
        60_000,
        "six throttled publishes",
        deviceLines(sim)
    )
    await waitForReadings(platform, 8, 60_000, sim)
    const seqs = seqsSince(from)
    assertConsecutive(seqs)
    assert.ok(seqs.length >= 8, `readings queued during the storm: ${seqs}`)
    assert.ok(
        sim.lines.slice(fromLine).some(l => /40000 request too many/.test(l)),
        "the device said why it waited"
    )
    assertNoCrash(fromLine)
})

test("an outage of several periods: queued readings are backfilled in order", async () => {
    const from = readingCount(platform)
    const fromLine = sim.lines.length
    platform.setFaults({ outageMs: 6000 })
    await waitForReadings(platform, 8, 60_000, sim)
    const seqs = seqsSince(from)
    assertConsecutive(seqs)
    assertNoCrash(fromLine)
})

test("beyond the queue's capacity the oldest readings are dropped and counted exactly", async () => {
    await sim.deploy(deviceSettings(platform, { BUFFER_SIZE: "3" }))
    await waitForReadings(platform, 2, 30_000, sim)
    const from = readingCount(platform)
    const fromLine = sim.lines.length
    platform.setFaults({ outageMs: 8000 })
    await waitUntil(
        () => seqsSince(from).length >= 5,
        60_000,
        "readings after the outage",
        deviceLines(sim)
    )
    const all = received(platform).map(r => r.body)
    const before = all[from - 1].seq // the last reading before the outage
    const bodies = all.slice(from)
    const seqs = bodies.map(b => b.seq)
    for (let i = 1; i < seqs.length; i++)
        assert.ok(seqs[i] > seqs[i - 1], `in order, no duplicate: ${seqs}`)
    const missing = seqs.at(-1)! - before - seqs.length
    assert.ok(
        missing > 0,
        `the outage overflowed the queue: ${before}, ${seqs}`
    )
    assert.equal(bodies.at(-1).dropped, missing, "the dropped count is exact")
    // what the queue held when the link came back was delivered in full
    assertConsecutive(seqs)
    assertNoCrash(fromLine)
})

const faults: [string, object, RegExp][] = [
    ["a stalled server", { stall: 1 }, /no data for|deadline/],
    ["a connection cut mid-response", { closeMidResponse: 1 }, /not sent/],
    [
        "HTTP 503 with an HTML body",
        { httpError: { status: 503, count: 2 } },
        /HTTP 503/,
    ],
    ["a malformed JSON body", { malformedJson: 1 }, /not JSON/],
]

for (const [name, fault, said] of faults) {
    test(`${name}: no crash, no hang, recovery`, async () => {
        const from = readingCount(platform)
        const fromLine = sim.lines.length
        platform.setFaults(fault)
        await waitForReadings(platform, 3, 60_000, sim)
        const lines = sim.lines.slice(fromLine)
        assert.ok(
            lines.some(l => said.test(l)),
            `the device said ${said}`
        )
        const seqs = seqsSince(from)
        // the cut response was processed by the platform before the cut, so
        // that one reading may arrive twice; nothing arrives out of order
        for (let i = 1; i < seqs.length; i++)
            assert.ok(seqs[i] >= seqs[i - 1], `in order: ${seqs}`)
        assert.ok(new Set(seqs).size >= seqs.length - 1, `${seqs}`)
        assertNoCrash(fromLine)
    })
}

test("a chunked answer without Content-Length is read as success", async () => {
    const from = readingCount(platform)
    const fromLine = sim.lines.length
    platform.setFaults({ chunked: 3 })
    await waitForReadings(platform, 3, 30_000, sim)
    assert.equal(platform.stats().faults.chunked, 3)
    const lines = sim.lines.slice(fromLine)
    assert.deepEqual(
        lines.filter(l => /not sent/.test(l)),
        []
    )
    assertConsecutive(seqsSince(from))
})

test("a sensor that does not answer does not stop the reports of the others", async () => {
    await sim.deploy(deviceSettings(platform, { SIM_SENSOR: "stuck-humidity" }))
    await sim.waitForLine(/^sensors: humidity did not answer/, 30_000)
    await waitForReadings(platform, 3, 60_000, sim)
    const last = received(platform).slice(-3)
    for (const r of last) {
        assert.equal(
            typeof r.body.temperature,
            "number",
            JSON.stringify(r.body)
        )
        assert.equal(r.body.humidity, undefined, JSON.stringify(r.body))
    }
})
