/**
 * Over-the-air update of the reporting firmware itself, end to end: the real
 * firmware in the simulator reports to the platform emulator while sharing
 * its one socket with the runtime's fleet connection (FLEET_OTA=1). The
 * fleet service deploys release v1.0.0, then v2.0.0, then rolls back; the
 * device restarts into each by itself, keeps its settings and token (no new
 * /auth), goes on reporting, and its version report names the new version.
 */
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import { setConnectionStringFrame } from "../../host/jacdac/services.ts"
import { sendFramesToSimBus } from "../../host/jacdac/sim-bus.ts"
import { parseScope } from "../../host/fleet/rollout/desired.ts"
import { assign, rollback } from "../../host/fleet/rollout/actions.ts"
import {
    startFleetService,
    type FleetService,
} from "../../host/fleet/service/service.ts"
import type { Platform } from "../../host/platform/index.ts"
import type { SimSession } from "../../host/sim/index.ts"
import {
    deviceSettings,
    readingCount,
    startDevice,
    startTestPlatform,
    successfulAuths,
    waitForReadings,
    waitUntil,
    deviceLines,
} from "./e2e-helpers.ts"
import {
    publishFirmwareVersions,
    registerDevice,
    releaseKeys,
    tempFleet,
    type TempFleet,
} from "./fleet-helpers.ts"

/** The runtime checks in again about 32 s after the fleet service let go. */
const UPDATE_MS = 120_000

let fleet: TempFleet
let svc: FleetService
let platform: Platform
let sim: SimSession
const fleetLog: string[] = []

before(async () => {
    fleet = tempFleet("fleet-firmware-test-")
    const { store, artifacts } = fleet
    await publishFirmwareVersions(fleet, ["1.0.0", "2.0.0"])
    await registerDevice(store, "reporter1")
    svc = await startFleetService({
        store,
        artifacts,
        releaseKey: releaseKeys.publicKey,
        log: l => fleetLog.push(l),
    })
    platform = await startTestPlatform()
    // a device flashed over USB with a development build, in the fleet
    sim = await startDevice(
        platform,
        deviceSettings(platform, { FLEET_OTA: "1", PERIOD_MS: "3000" })
    )
    await waitForReadings(platform, 1, 30_000, sim)
    await sendFramesToSimBus([
        setConnectionStringFrame(await svc.connectionString("reporter1")),
    ])
})

after(async () => {
    await sim?.stop()
    await platform?.close()
    await svc?.close()
    await fleet?.remove()
})

const informed = (version: string) => () =>
    platform
        .informs()
        .some(m => JSON.parse(m.body.toString()).params.version === version)

/** The device reports readings again after restarting into `version`. */
async function runsAndReports(version: string) {
    await waitUntil(
        informed(version),
        UPDATE_MS,
        `version report ${version}`,
        deviceLines(sim)
    )
    const line = sim.lines.findLast(l => /^start: /.test(l))!
    assert.match(line, new RegExp(version.replace(/\./g, "\\.")))
    await waitForReadings(platform, 2, 30_000, sim)
}

test("release v1.0.0 reaches the reporting device over the network; it keeps reporting with its token", async () => {
    const auths = successfulAuths(platform).length
    await assign(fleet.store, "v1.0.0", { kind: "all" })
    await runsAndReports("v1.0.0")
    assert.equal(
        successfulAuths(platform).length,
        auths,
        "token kept: no new /auth"
    )
    assert.ok(
        fleetLog.some(l => /reporter1: deployed v1\.0\.0/.test(l)),
        fleetLog.join("\n")
    )
})

test("v2.0.0 assigned to the device: it restarts into v2 and reports version v2.0.0", async () => {
    const auths = successfulAuths(platform).length
    const readings = readingCount(platform)
    await assign(fleet.store, "v2.0.0", parseScope("device:reporter1"))
    await runsAndReports("v2.0.0")
    assert.equal(
        successfulAuths(platform).length,
        auths,
        "token kept: no new /auth"
    )
    assert.ok(readingCount(platform) > readings)
})

test("rollback: the device returns to v1.0.0", async () => {
    const informs = platform.informs().length
    await rollback(fleet.store)
    await waitUntil(
        () =>
            platform
                .informs()
                .slice(informs)
                .some(
                    m =>
                        JSON.parse(m.body.toString()).params.version ===
                        "v1.0.0"
                ),
        UPDATE_MS,
        "version report v1.0.0 after the rollback",
        deviceLines(sim)
    )
    await waitForReadings(platform, 2, 30_000, sim)
})
