/**
 * End to end: readings queued in flash during a platform outage survive a
 * firmware update over the air through the fleet service (the real
 * firmware, released as v1.0.0 and v2.0.0, signed and published; the
 * runtime takes v2 over its cloud connection and restarts into it, the
 * settings stay), and arrive once the outage ends, each once, in order,
 * with `seq` continuing across the update. (e2e-keep proves the same for a
 * reboot and a USB reflash.)
 */
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import {
    startFleetService,
    type FleetService,
} from "../../host/fleet/service/service.ts"
import { assign } from "../../host/fleet/rollout/actions.ts"
import { setConnectionStringFrame } from "../../host/jacdac/services.ts"
import { sendFramesToSimBus } from "../../host/jacdac/sim-bus.ts"
import type { Platform } from "../../host/platform/index.ts"
import type { SimSession } from "../../host/sim/index.ts"
import {
    deviceLines,
    deviceSettings,
    received,
    startDevice,
    startTestPlatform,
    waitForReadings,
    waitUntil,
} from "./e2e-helpers.ts"
import {
    publishFirmwareVersions,
    registerDevice,
    releaseKeys,
    tempFleet,
    type TempFleet,
} from "./fleet-helpers.ts"
import {
    KEPT_LINE,
    lastKeptBefore,
    lostAtBoot,
    waitForFlashAtBoot,
} from "./keep-lines.ts"

/** A check-in (~32 s after the service let go), a deploy and a restart. */
const UPDATE_MS = 240_000

let platform: Platform
let fleet: TempFleet
let svc: FleetService
let sim: SimSession
const serviceLines: string[] = []

/** The versions the device reported to the platform, in order. */
const reportedVersions = () =>
    platform
        .informs()
        .map(m => JSON.parse(m.body.toString("utf8")).params.version)

/** The device's and the service's last lines, for a failed wait's message. */
const deviceAndService = () => ({
    detail: () =>
        `${deviceLines(sim).detail!()}\nservice:\n${serviceLines.slice(-10).join("\n")}`,
})

/** Whether the fleet records `version` as running on sim1 after a good deploy. */
async function runs(version: string) {
    const s = await fleet.store.state("sim1")
    const v = await fleet.store.versionByName(version)
    return s.lastDeployResult === "ok" && s.currentHash === v!.hash
}

before(async () => {
    platform = await startTestPlatform()
    fleet = tempFleet("e2e-keep-ota-")
    await publishFirmwareVersions(fleet, ["1.0.0", "2.0.0"])
    await registerDevice(fleet.store, "sim1")
    await assign(fleet.store, "v1.0.0", { kind: "all" })
    svc = await startFleetService({
        store: fleet.store,
        artifacts: fleet.artifacts,
        releaseKey: releaseKeys.publicKey,
        log: l => serviceLines.push(l),
    })
    // a fleet member in normal mode: the platform's settings and FLEET_OTA,
    // then its connection string over its Jacdac link (as fleet enrol does)
    sim = await startDevice(
        platform,
        // a reading every 5 s: the flash queue's 32 readings hold 160 s of
        // outage, well beyond the update's check-in (~32 s) and restart
        deviceSettings(platform, { PERIOD_MS: "5000", FLEET_OTA: "1" }),
        { clearFlash: true }
    )
    await sendFramesToSimBus([
        setConnectionStringFrame(await svc.connectionString("sim1")),
    ])
    // the service sends v1.0.0 at the device's first connection
    await waitUntil(
        () => runs("v1.0.0"),
        UPDATE_MS,
        "v1.0.0 running",
        deviceAndService()
    )
    await waitUntil(
        () => reportedVersions().includes("v1.0.0"),
        60_000,
        "v1.0.0 reported",
        deviceLines(sim)
    )
    await waitForReadings(platform, 2, 60_000, sim)
})
after(async () => {
    await sim?.stop()
    await svc?.close()
    await fleet?.remove()
    await platform?.close()
})

/** The runtime names the program it starts, with its version. */
const START = /^start: devs-iot-https-client /
const BATCH = /^report: accepted messageId=(\d+) (\d+ readings seq \d+\.\.\d+)/

test("an outage across an update over the air: every reading kept arrives once, seq continues", async () => {
    const first = received(platform).at(-1)!.body.seq as number
    platform.setFaults({ outageMs: 600_000 })
    await sim.waitForLine(KEPT_LINE, 120_000)
    const from = sim.lines.length
    await assign(fleet.store, "v2.0.0", { kind: "device", value: "sim1" })
    // the update restarts the program: its boot lines tell what flash held
    const boot = await waitForFlashAtBoot(sim, from, UPDATE_MS)
    const bootLines = sim.lines.slice(boot.at, boot.at + 2).join(" / ")
    await waitUntil(
        () => runs("v2.0.0"),
        60_000,
        "v2.0.0 recorded",
        deviceAndService()
    )
    const started = sim.lines.slice(from, boot.at).filter(l => START.test(l))
    assert.match(started.at(-1) ?? "", /v2\.0\.0$/, "the boot is v2.0.0's")
    // every reading kept before the update is still there: all those the
    // platform had not taken, through (at least) the last group the device
    // said it kept (a group committed just before the restart may have
    // missed its line)
    assert.equal(boot.dropped, 0, `nothing dropped for room: ${bootLines}`)
    assert.ok(boot.kept > 0, `kept readings survived the update: ${bootLines}`)
    const delivered = Math.max(...received(platform).map(r => r.body.seq))
    const keptThrough = boot.restored!.through
    assert.ok(delivered >= first)
    assert.equal(boot.restored!.from, delivered + 1, bootLines)
    assert.ok(keptThrough >= lastKeptBefore(sim.lines, boot.at), bootLines)
    assert.equal(boot.kept, keptThrough - delivered, bootLines)
    // v2 keeps its own readings in flash too, numbered on from flash
    const last = await sim.waitForLine(KEPT_LINE, 120_000)
    const through = +last[2]
    platform.setFaults({ outageMs: 0 })
    await waitUntil(
        () => received(platform).some(r => r.body.seq >= through + 2),
        120_000,
        `seq ${through + 2} delivered`,
        deviceLines(sim)
    )
    await waitUntil(
        () => reportedVersions().includes("v2.0.0"),
        60_000,
        "v2.0.0 reported",
        deviceLines(sim)
    )
    const seqs = received(platform)
        .map(r => r.body.seq as number)
        .filter(s => s > first)
    for (let i = 1; i < seqs.length; i++)
        assert.ok(seqs[i] > seqs[i - 1], `each once, in order: ${seqs}`)
    // every number from the last reading before the outage on, but those
    // the device took after its last flash group and before the update
    const lost = lostAtBoot(boot)
    // a cut during a group's write takes the whole group
    assert.ok(lost.length <= 4, `at most KEEP_GROUP lost: ${lost}`)
    const expected: number[] = []
    for (let s = first + 1; s <= seqs.at(-1)!; s++)
        if (!lost.includes(s)) expected.push(s)
    assert.deepEqual(seqs, expected)
    assert.ok(
        seqs.filter(s => s >= boot.nextSeq).length >= 2,
        "readings taken after the update arrive too"
    )
    // the device's line for each batch names the readings the platform got
    for (const line of sim.lines) {
        const b = BATCH.exec(line)
        if (!b) continue
        const got = received(platform)
            .filter(r => r.messageId === b[1])
            .map(r => r.body.seq)
        assert.equal(
            `${got.length} readings seq ${got[0]}..${got.at(-1)}`,
            b[2],
            line
        )
    }
})
