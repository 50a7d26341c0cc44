/**
 * End to end: readings queued in flash during a platform outage survive a
 * reboot and a firmware update (a USB reflash: the program restarts, the
 * settings stay), and arrive once the outage ends, each once, in order, with
 * `seq` continuing across the boots.
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
    deviceLines,
    waitForReadings,
    waitUntil,
} from "./e2e-helpers.ts"

let platform: Platform
let sim: SimSession

before(async () => {
    platform = await startTestPlatform()
    sim = await startDevice(platform, deviceSettings(platform), {
        clearFlash: true,
    })
    await waitForReadings(platform, 2, 60_000, sim)
})
after(async () => {
    await sim?.stop()
    await platform?.close()
})

const KEPT = /^report: kept seq \d+\.\.(\d+) in flash/
const BOOT = /^flash: (\d+) readings kept, \d+ dropped for room, next seq (\d+)/

/** Waits for the device to write a group to flash, then `cut`s (a reboot or a reflash). */
async function cutAfterKept(cut: () => Promise<void>) {
    await sim.waitForLine(KEPT, 60_000)
    await cut()
    const boot = await sim.waitForLine(BOOT, 60_000)
    assert.ok(+boot[1] >= 4, `a group at least survived: ${boot[0]}`)
}

/**
 * The seqs the device lost in RAM at its restarts, from its own lines: those
 * taken after its last group kept in flash and before the next boot's seq.
 */
function lostAtRestarts(): number[] {
    const lost: number[] = []
    let keptThrough = 0
    for (const line of sim.lines) {
        const k = KEPT.exec(line)
        if (k) keptThrough = +k[1]
        const b = BOOT.exec(line)
        if (b && keptThrough > 0)
            for (let s = keptThrough + 1; s < +b[2]; s++) lost.push(s)
    }
    return lost
}

test("an outage across a reboot and a reflash: every reading kept arrives once, seq continues", async () => {
    const first = received(platform).at(-1)!.body.seq as number
    const fromLine = sim.lines.length
    platform.setFaults({ outageMs: 600_000 })
    const lost = await cutAfterKept(() => sim.restart())
    const lost2 = await cutAfterKept(() => sim.deploy())
    await sim.waitForLine(/^report: kept seq/, 60_000)
    const last = await sim.waitForLine(
        /^report: kept seq \d+\.\.(\d+) in flash/,
        60_000
    )
    const through = +last[1]
    platform.setFaults({ outageMs: 0 })
    await waitUntil(
        () => received(platform).some(r => r.body.seq >= through),
        120_000,
        `seq ${through} delivered`,
        deviceLines(sim)
    )
    const seqs = received(platform)
        .map(r => r.body.seq as number)
        .filter(s => s > first && s <= through)
    for (let i = 1; i < seqs.length; i++)
        assert.ok(seqs[i] > seqs[i - 1], `each once, in order: ${seqs}`)
    // every number from the last reading before the outage on, but those
    // the device took after its last flash group and before a cut
    const gaps = lostAtRestarts()
    const expected: number[] = []
    for (let s = first + 1; s <= through; s++)
        if (!gaps.includes(s)) expected.push(s)
    assert.deepEqual(seqs, expected)
    assert.ok(
        gaps.length <= 6,
        `at most KEEP_GROUP - 1 readings in RAM at each of the two cuts: ${gaps}`
    )
    // readings of the first boot (which knew the time) keep the time they
    // were taken; the later boots never reached the platform before the
    // next cut, so their readings carried across one go without a time
    const firstBoot = sim.lines
        .slice(fromLine)
        .map(l => BOOT.exec(l))
        .find(m => m)!
    const known = received(platform).filter(
        r => r.body.seq > first && r.body.seq < +firstBoot[2]
    )
    assert.ok(known.length >= 4, `${known.length}`)
    assert.ok(
        known.every(r => r.body.ts > 0),
        "readings of the first boot keep their time"
    )
})
