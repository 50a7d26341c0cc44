// The real DeviceScript runtime in the simulator against the fleet
// service: the device gets its connection string over its Jacdac link,
// connects by itself, and receives new programs over the network (no USB
// deploy, no restart by hand); rollback; a damaged artifact is refused.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { readFileSync, writeFileSync } from "node:fs"
import type { ArtifactStore } from "../../host/fleet/release/artifacts.ts"
import { parseScope } from "../../host/fleet/rollout/desired.ts"
import { assign, rollback } from "../../host/fleet/rollout/actions.ts"
import type { SqliteStore } from "../../host/fleet/store/sqlite.ts"
import type { SimSession } from "../../host/sim/index.ts"
import { waitUntil, deviceLines } from "./e2e-helpers.ts"
import {
    CHECK_IN_MS,
    startFleetAppSim,
    startSimFleet,
    type SimFleet,
} from "./fleet-sim-helpers.ts"

let fleet: SimFleet
let store: SqliteStore
let artifacts: ArtifactStore
let lines: string[]
let sim: SimSession | undefined

before(async () => {
    fleet = await startSimFleet("fleet-sim-test-")
    ;({ store, artifacts } = fleet.fleet)
    lines = fleet.lines
})

after(async () => {
    await sim?.stop()
    await fleet?.close()
})

const deployed = (version: string) => async () =>
    (await store.state("sim1")).lastDeployResult === "ok" &&
    (await store.state("sim1")).currentHash ===
        (await store.versionByName(version))!.hash

test("the simulated device connects with its connection string and reports its program hash", async () => {
    sim = await startFleetAppSim(await fleet.svc.connectionString("sim1"))
    await sim.waitForLine(/connected to 127\.0\.0\.1/, 20_000)
    await waitUntil(
        async () => (await store.state("sim1")).currentHash !== "",
        20_000,
        "GetHash answer",
        deviceLines(sim)
    )
    assert.equal(
        (await store.state("sim1")).currentHash,
        (await store.versionByName("v1"))!.hash
    )
})

test("v2 assigned: the device receives it over the network and restarts into it", async () => {
    await assign(store, "v1", { kind: "all" })
    await assign(store, "v2", parseScope("device:sim1"))
    await sim!.waitForLine(/fleet-app v2 running/, CHECK_IN_MS)
    await waitUntil(deployed("v2"), 20_000, "v2 recorded", deviceLines(sim))
    assert.ok(lines.some(l => /sim1: deployed v2/.test(l)))
})

test("rollback returns the device to v1", async () => {
    await rollback(store)
    await sim!.waitForLine(/fleet-app v1 running/, CHECK_IN_MS)
    await waitUntil(deployed("v1"), 20_000, "v1 recorded", deviceLines(sim))
})

test("a damaged artifact is refused and the device stays on its working version", async () => {
    const from = sim!.lines.length
    const p = artifacts.path((await store.versionByName("v2"))!.hash)
    const stored = readFileSync(p)
    writeFileSync(p, stored.subarray(0, stored.length - 64))
    await assign(store, "v2", { kind: "all" })
    await waitUntil(
        async () => (await store.state("sim1")).lastDeployResult === "refused",
        CHECK_IN_MS,
        "refusal",
        deviceLines(sim)
    )
    assert.ok(
        lines.some(l => /sim1: refused v2: .*damaged in storage/.test(l)),
        lines.join("\n")
    )
    assert.equal(
        (await store.state("sim1")).currentHash,
        (await store.versionByName("v1"))!.hash
    )
    await sim!.waitForLine(/fleet-app v1 running/, 5_000)
    assert.ok(!sim!.lines.slice(from).some(l => /fleet-app v2/.test(l)))
})
