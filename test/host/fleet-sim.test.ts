// The real DeviceScript runtime in the simulator against the fleet
// service: the device gets its connection string over its Jacdac link,
// connects by itself, and receives new programs over the network (no USB
// deploy, no restart by hand); rollback; a damaged artifact is refused.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ArtifactStore, imageHash } from "../../host/fleet/artifacts.ts"
import { buildFirmware } from "../../host/build.ts"
import { setConnectionStringFrame } from "../../host/jacdac/services.ts"
import { sendFramesToSimBus } from "../../host/jacdac/sim-bus.ts"
import { newDeviceKey } from "../../host/fleet/protocol.ts"
import { assign, parseScope, rollback } from "../../host/fleet/rollout.ts"
import {
    startFleetService,
    type FleetService,
} from "../../host/fleet/service.ts"
import { SqliteStore } from "../../host/fleet/storage.ts"
import { startSim, type SimSession } from "../../host/sim/index.ts"
import { publishSigned, releaseKeys } from "./fleet-helpers.ts"
import { WAIT_FOR_PORTS_MS, waitUntil } from "./e2e-helpers.ts"

/** The runtime reconnects ~32 s after the last message it got. */
const CHECK_IN_MS = 60_000

let dir: string
let store: SqliteStore
let artifacts: ArtifactStore
let svc: FleetService
let sim: SimSession | undefined
const lines: string[] = []

before(async () => {
    dir = mkdtempSync(join(tmpdir(), "fleet-sim-test-"))
    store = new SqliteStore(join(dir, "fleet.db"))
    artifacts = new ArtifactStore(join(dir, "artifacts"))
    for (const v of ["v1", "v2"])
        publishSigned(
            store,
            artifacts,
            v,
            await buildFirmware(`test/fixtures/fleet-app-${v}.ts`)
        )
    store.upsertDevice({
        id: "sim1",
        key: newDeviceKey().toString("hex"),
        groups: [],
        platformId: "",
        createdAt: 0,
    })
    // the fixture programs never use the socket: the service may hold the link
    svc = await startFleetService({
        store,
        artifacts,
        releaseKey: releaseKeys.publicKey,
        holdMs: 600_000,
        log: l => lines.push(l),
    })
})

after(async () => {
    await sim?.stop()
    await svc?.close()
    store?.close()
    rmSync(dir, { recursive: true, force: true })
})

const deployed = (version: string) => () =>
    store.state("sim1").lastDeployResult === "ok" &&
    store.state("sim1").currentHash === store.versionByName(version)!.hash

test("the simulated device connects with its connection string and reports its program hash", async () => {
    sim = await startSim({
        entry: "test/fixtures/fleet-app-v1.ts",
        waitForPortsMs: WAIT_FOR_PORTS_MS,
        echo: !!process.env.E2E_ECHO,
    })
    await sim.waitForLine(/fleet-app v1 running/)
    await sendFramesToSimBus([
        setConnectionStringFrame(svc.connectionString("sim1")),
    ])
    await sim.waitForLine(/connected to 127\.0\.0\.1/, 20_000)
    await waitUntil(
        () => store.state("sim1").currentHash !== "",
        20_000,
        "GetHash answer",
        sim
    )
    assert.equal(
        store.state("sim1").currentHash,
        store.versionByName("v1")!.hash
    )
})

test("v2 assigned: the device receives it over the network and restarts into it", async () => {
    assign(store, "v1", { kind: "all" })
    assign(store, "v2", parseScope("device:sim1"))
    await sim!.waitForLine(/fleet-app v2 running/, CHECK_IN_MS)
    await waitUntil(deployed("v2"), 20_000, "v2 recorded", sim)
    assert.ok(lines.some(l => /sim1: deployed v2/.test(l)))
})

test("rollback returns the device to v1", async () => {
    rollback(store)
    await sim!.waitForLine(/fleet-app v1 running/, CHECK_IN_MS)
    await waitUntil(deployed("v1"), 20_000, "v1 recorded", sim)
})

test("a damaged artifact is refused and the device stays on its working version", async () => {
    const from = sim!.lines.length
    const p = artifacts.path(store.versionByName("v2")!.hash)
    const stored = readFileSync(p)
    writeFileSync(p, stored.subarray(0, stored.length - 64))
    assign(store, "v2", { kind: "all" })
    await waitUntil(
        () => store.state("sim1").lastDeployResult === "refused",
        CHECK_IN_MS,
        "refusal",
        sim
    )
    assert.ok(
        lines.some(l => /sim1: refused v2: .*damaged in storage/.test(l)),
        lines.join("\n")
    )
    assert.equal(
        store.state("sim1").currentHash,
        store.versionByName("v1")!.hash
    )
    await sim!.waitForLine(/fleet-app v1 running/, 5_000)
    assert.ok(!sim!.lines.slice(from).some(l => /fleet-app v2/.test(l)))
})
