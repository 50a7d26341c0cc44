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
import {
    KEPT_LINE,
    lastKeptBefore,
    lostAtBoot,
    waitForFlashAtBoot,
    type FlashAtBoot,
} from "./keep-lines.ts"

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

/** src/reporter.ts's: readings not yet sent are written to flash in groups of this many. */
const KEEP_GROUP = 4

/** A boot's lines, for an assertion's message. */
const show = (boot: FlashAtBoot) =>
    sim.lines.slice(boot.at, boot.at + 2).join(" / ")

/** Waits for the device to write a group to flash, then `cut`s (a reboot or a reflash). */
async function cutAfterKept(cut: () => Promise<void>): Promise<FlashAtBoot> {
    await sim.waitForLine(KEPT_LINE, 60_000)
    const from = sim.lines.length
    await cut()
    const boot = await waitForFlashAtBoot(sim, from, 60_000)
    assert.ok(
        boot.kept >= KEEP_GROUP,
        `a group at least survived: ${show(boot)}`
    )
    assert.equal(boot.dropped, 0, `nothing dropped for room: ${show(boot)}`)
    // every group the device said it kept is back (a group committed just
    // before the cut may have missed its line: the boot's lines tell)
    const saidKept = lastKeptBefore(sim.lines, boot.at)
    assert.ok(
        boot.restored!.through >= saidKept,
        `restored through seq ${saidKept} at least, the last it said it kept: ${show(boot)}`
    )
    return boot
}

test("an outage across a reboot and a reflash: every reading kept arrives once, seq continues", async () => {
    const first = received(platform).at(-1)!.body.seq as number
    platform.setFaults({ outageMs: 600_000 })
    const boots = [
        await cutAfterKept(() => sim.restart()),
        await cutAfterKept(() => sim.deploy()),
    ]
    // the seqs each boot lost: taken after the last group in flash and
    // before the cut, as the boot's own lines tell
    const lost = boots.map(lostAtBoot)
    // the oldest reading the platform lacks survived both cuts, and flash
    // held each reading from it on, but those lost at the reboot
    const oldest = boots[0].restored!.from
    assert.ok(oldest <= first + 1, show(boots[0]))
    for (const [i, boot] of boots.entries()) {
        assert.equal(boot.restored!.from, oldest, show(boot))
        const lostBefore = lost.slice(0, i).flat()
        let held = 0
        for (let s = oldest; s <= boot.restored!.through; s++)
            if (!lostBefore.includes(s)) held++
        assert.equal(boot.kept, held, show(boot))
    }
    await sim.waitForLine(KEPT_LINE, 60_000)
    const last = await sim.waitForLine(KEPT_LINE, 60_000)
    const through = +last[2]
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
    const gaps = lost.flat()
    const expected: number[] = []
    for (let s = first + 1; s <= through; s++)
        if (!gaps.includes(s)) expected.push(s)
    assert.deepEqual(seqs, expected)
    // between groups at most KEEP_GROUP - 1 readings are in RAM only; a cut
    // that comes while a group is written (its last seq recorded, the
    // group not yet committed) loses that whole group
    for (const l of lost)
        assert.ok(l.length <= KEEP_GROUP, `at most a group lost at a cut: ${l}`)
    assert.ok(
        gaps.length <= 2 * (KEEP_GROUP - 1),
        `at most KEEP_GROUP - 1 readings in RAM at each of the two cuts: ${gaps}`
    )
    // readings of the first boot (which knew the time) keep the time they
    // were taken; the later boots never reached the platform before the
    // next cut, so their readings carried across one go without a time
    const known = received(platform).filter(
        r => r.body.seq > first && r.body.seq < boots[0].nextSeq
    )
    assert.ok(known.length >= 4, `${known.length}`)
    assert.ok(
        known.every(r => r.body.ts > 0),
        "readings of the first boot keep their time"
    )
})
